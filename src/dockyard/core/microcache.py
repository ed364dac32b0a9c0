"""A value computed at most once per interval, shared by the requests of one worker.

For answers that are expensive, asked for often, and may lag the data by a few seconds (a
dashboard's overview): the first caller computes, callers arriving meanwhile wait for that same
computation instead of starting their own, and later callers get the stored value until it ages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Microcache(Generic[T]):
    """One value, recomputed when older than `ttl_s` (0: always recomputed) or after `clear()`."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._value: T | None = None
        self._at = 0.0
        self._generation = 0
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._value is not None and time.monotonic() - self._at < self.ttl_s

    async def get(self, compute: Callable[[], Awaitable[T]]) -> T:
        """The stored value while fresh, else the result of `compute()` (run once for all waiters)."""
        if self._fresh():
            assert self._value is not None
            return self._value
        async with self._lock:
            if self._fresh():
                assert self._value is not None
                return self._value
            generation = self._generation
            started = time.monotonic()
            value = await compute()
            if generation == self._generation:  # not cleared while computing: keep it
                self._value, self._at = value, started
            return value

    def clear(self) -> None:
        """Forget the value: the data behind it changed."""
        self._generation += 1
        self._value = None
