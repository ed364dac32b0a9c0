"""The bounded wait queue of every pool (DB_ACQUIRE_QUEUE_MAX): past it, 503 at once, not a long wait."""

from __future__ import annotations

import asyncio
import time

import pytest

from dockyard.core.db import BUSY_DETAIL, open_database
from dockyard.core.errors import ServiceUnavailable
from tests.support.app import settings_for


async def test_a_full_queue_refuses_at_once_and_the_queued_are_served(fresh_db: str) -> None:
    db = await open_database(fresh_db, settings_for(fresh_db, db_pool_max=1, db_acquire_queue_max=2))
    try:
        pool = db.primary
        held = await pool.acquire(timeout=5)

        async def one() -> int:
            async with pool.acquire(timeout=5) as conn:
                value: int = await conn.fetchval("SELECT 1")
                return value

        queued = [asyncio.create_task(one()) for _ in range(2)]
        await asyncio.sleep(0.1)
        assert pool.waiting == 2
        began = time.monotonic()
        with pytest.raises(ServiceUnavailable) as refused:
            await one()
        assert time.monotonic() - began < 0.5, "refused at once, not after DB_ACQUIRE_TIMEOUT_S"
        assert refused.value.detail == BUSY_DETAIL
        assert refused.value.headers == {"Retry-After": "1"}
        with pytest.raises(ServiceUnavailable):
            await pool.acquire(timeout=5)  # the awaitable form is bounded too
        await pool.release(held)
        assert await asyncio.gather(*queued) == [1, 1]
        assert pool.waiting == 0
        assert await one() == 1, "once the queue drains, requests are taken again"
    finally:
        await db.close()


async def test_zero_means_no_bound(fresh_db: str) -> None:
    db = await open_database(fresh_db, settings_for(fresh_db, db_pool_max=1, db_acquire_queue_max=0))
    try:
        pool = db.primary
        held = await pool.acquire(timeout=5)

        async def one() -> int:
            async with pool.acquire(timeout=5) as conn:
                value: int = await conn.fetchval("SELECT 1")
                return value

        waiting = [asyncio.create_task(one()) for _ in range(20)]
        await asyncio.sleep(0.1)
        assert pool.waiting == 20
        await pool.release(held)
        assert await asyncio.gather(*waiting) == [1] * 20
    finally:
        await db.close()
