"""Rate limits with the `limits` library: Redis storage when REDIS_URL is set, memory otherwise.

Windows slide (the previous window's count is weighted by how much of it still overlaps).
Budgets are written in `limits` notation ("10/minute;50/hour"); a request over any of them gets
429 with Retry-After. Memory storage is per process: right for one worker, too lenient for many.
When Redis cannot be reached or does not answer within REDIS_TIMEOUT_S, counting falls back to this
process's memory rather than failing requests or letting them through uncounted; a circuit breaker
(`core.breaker`) then skips Redis entirely until a background probe sees it answer again, so a
frozen Redis costs one request a fraction of a second, not every request seconds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache, partial
from typing import TypeVar

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.exceptions import RedisError

from dockyard.core.breaker import Breaker
from dockyard.core.errors import TooManyRequests

logger = logging.getLogger(__name__)
T = TypeVar("T")


@lru_cache(maxsize=64)
def parse_budget(spec: str) -> tuple[RateLimitItem, ...]:
    """Parse "10/minute;50/hour" once."""
    return tuple(parse_many(spec))


class RateLimiter:
    """Counts hits per (name, key) and refuses those over budget."""

    def __init__(self, redis_url: str | None = None, *, timeout_s: float = 0.1) -> None:
        self.storage: Storage
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            self.storage = RedisStorage(
                uri,
                implementation="redispy",
                key_prefix="dockyard-rl",
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
            )
        else:
            self.storage = MemoryStorage()
        self.timeout_s = timeout_s
        self.breaker = Breaker("Redis (rate limits)", self.storage.check, timeout_s=timeout_s)
        # Two counters per key and window, whatever the budget: a moving window would keep one
        # timestamp per hit, which for 250000/day is slow and large.
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.fallback = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def _run(self, operation: Callable[[SlidingWindowCounterRateLimiter], Awaitable[T]]) -> T:
        """`operation` on Redis while it answers (within REDIS_TIMEOUT_S), else on this process's memory."""
        if self.breaker.available and self.strategy is not self.fallback:
            try:
                async with asyncio.timeout(self.timeout_s * 2):  # a belt for the socket timeouts
                    return await operation(self.strategy)
            except (RedisError, OSError, TimeoutError) as exc:
                self.breaker.trip(exc)
        return await operation(self.fallback)

    async def hit(self, name: str, spec: str, key: str, *, what: str = "requests") -> None:
        """Count one hit of `key` against budget `name`; raise TooManyRequests when over it."""
        for item in parse_budget(spec):
            refused = await self._run(partial(_refusal, item=item, name=name, key=key, count=True))
            if refused is not None:
                raise _too_many(item, refused, what)

    async def check(self, name: str, spec: str, key: str, *, what: str = "requests") -> None:
        """Raise TooManyRequests when `key` has spent budget `name`, without counting a hit."""
        for item in parse_budget(spec):
            refused = await self._run(partial(_refusal, item=item, name=name, key=key, count=False))
            if refused is not None:
                raise _too_many(item, refused, what)

    async def take(self, name: str, spec: str, key: str) -> bool:
        """Count one hit of `key` against budget `name` if it fits; False (nothing counted) when spent."""
        items = parse_budget(spec)

        async def take_on(strategy: SlidingWindowCounterRateLimiter) -> bool:
            if not all([await strategy.test(item, name, key) for item in items]):
                return False
            for item in items:
                await strategy.hit(item, name, key)
            return True

        return await self._run(take_on)

    async def used(self, name: str, spec: str, key: str) -> int:
        """How many hits `key` has in the window of the first budget of `spec` (at most its amount)."""
        item = parse_budget(spec)[0]
        stats = await self._run(lambda strategy: strategy.get_window_stats(item, name, key))
        return int(item.amount - stats.remaining)

    async def clear(self, name: str, spec: str, key: str) -> None:
        """Forget the hits of `key` (e.g. failed logins after a successful one)."""
        for item in parse_budget(spec):
            await self.fallback.clear(item, name, key)
            if not self.breaker.available or self.strategy is self.fallback:
                continue
            try:
                async with asyncio.timeout(self.timeout_s * 2):
                    await self.strategy.clear(item, name, key)
            except (RedisError, OSError, TimeoutError) as exc:
                self.breaker.trip(exc)

    async def reset(self) -> None:
        """Drop every counter (tests, and `dockyard` maintenance)."""
        await self.storage.reset()


async def _refusal(
    strategy: SlidingWindowCounterRateLimiter, *, item: RateLimitItem, name: str, key: str, count: bool
) -> int | None:
    """None when a request of `key` fits budget `item` (counted when `count`), else seconds to wait."""
    fits = await (strategy.hit if count else strategy.test)(item, name, key)
    if fits:
        return None
    stats = await strategy.get_window_stats(item, name, key)
    return max(1, math.ceil(stats.reset_time - time.time()))


def _too_many(item: RateLimitItem, retry_after: int, what: str) -> TooManyRequests:
    return TooManyRequests(
        f"Too many {what}: the limit is {item.amount} per {_per(item)}. Try again in {retry_after} s.",
        retry_after_s=retry_after,
    )


def _per(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"
