"""The microcache: one computation for concurrent callers, expiry, and clear() during a computation."""

from __future__ import annotations

import asyncio

from dockyard.core.microcache import Microcache


class Counter:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls = 0
        self.delay_s = delay_s

    async def __call__(self) -> int:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return self.calls


async def test_concurrent_callers_share_one_computation() -> None:
    cache: Microcache[int] = Microcache(ttl_s=60)
    compute = Counter(delay_s=0.05)
    values = await asyncio.gather(*(cache.get(compute) for _ in range(20)))
    assert values == [1] * 20
    assert compute.calls == 1


async def test_the_value_expires() -> None:
    cache: Microcache[int] = Microcache(ttl_s=0.05)
    compute = Counter()
    assert await cache.get(compute) == 1
    assert await cache.get(compute) == 1
    await asyncio.sleep(0.08)
    assert await cache.get(compute) == 2


async def test_zero_ttl_always_computes() -> None:
    cache: Microcache[int] = Microcache(ttl_s=0)
    compute = Counter()
    assert [await cache.get(compute) for _ in range(3)] == [1, 2, 3]


async def test_a_value_computed_across_a_clear_is_not_kept() -> None:
    cache: Microcache[int] = Microcache(ttl_s=60)
    compute = Counter(delay_s=0.05)
    pending = asyncio.create_task(cache.get(compute))
    await asyncio.sleep(0.01)
    cache.clear()  # the data changed while the first computation was reading it
    assert await pending == 1
    assert await cache.get(compute) == 2
    assert await cache.get(compute) == 2
