"""A frozen Redis costs one short wait, is then skipped, and is used again once it answers."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from dockyard.core.errors import TooManyRequests
from dockyard.core.ratelimit import RateLimiter
from tests.support.redis import private_redis


async def wait_until(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


async def test_a_frozen_redis_is_skipped_until_it_answers_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with private_redis(tmp_path) as (server, process):
        limiter = RateLimiter(server.url, timeout_s=0.1)
        limiter.breaker.probe_every_s = 0.2
        store = aioredis.from_url(server.url)
        await limiter.hit("api", "100/minute", "before")
        assert await store.keys("dockyard-rl*"), "counted in Redis while it answers"

        process.send_signal(signal.SIGSTOP)
        caplog.set_level(logging.WARNING, logger="dockyard.core.breaker")
        for index in range(50):
            await limiter.hit("api", "100/minute", f"frozen-{index}")
        assert limiter.breaker.trips == 1, "one request waited for Redis; the other 49 skipped it"
        assert not limiter.breaker.available
        assert sum("skipped until it answers again" in r.message for r in caplog.records) == 1
        for _ in range(99):  # the budget still holds, counted in memory
            await limiter.hit("api", "100/minute", "frozen-1")
        with pytest.raises(TooManyRequests):
            await limiter.hit("api", "100/minute", "frozen-1")

        process.send_signal(signal.SIGCONT)
        await wait_until(lambda: limiter.breaker.available)
        await limiter.hit("api", "100/minute", "after")
        keys = {key.decode() for key in await store.keys("dockyard-rl*")}
        assert any("after" in key for key in keys), "counted in Redis again"
        # Only the request that waited had reached the frozen server's socket.
        assert [key for key in keys if "frozen" in key and "frozen-0" not in key] == []
        await store.aclose()
        await limiter.breaker.close()
