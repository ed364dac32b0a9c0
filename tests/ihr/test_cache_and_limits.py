"""The Redis tier of the page cache (real Redis) and the request budget (429) on the IHR lists."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from dockyard import ihr
from dockyard.ihr.cache import KEY_PREFIX
from dockyard.ihr.settings import IhrSettings
from tests.ihr import data
from tests.support.app import AppClient, app_client, settings_for
from tests.support.redis import RedisServer

OLD = "/ihr/api/hegemony/?originasn=2497&af=4&timebin__gte=2024-05-01T00:00Z&timebin__lte=2024-05-01T01:00Z"
RECENT = "/ihr/api/hegemony/?originasn=2497&af=4"


@pytest.fixture
async def store(redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis.url)
    stale = [key async for key in client.scan_iter(match=KEY_PREFIX + "*")]
    if stale:
        await client.delete(*stale)
    yield client
    await client.aclose()


@pytest.fixture
async def cached(ihr_db: str, redis: RedisServer, store: aioredis.Redis) -> AsyncIterator[AppClient]:
    settings = settings_for(ihr_db, redis_url=redis.url)
    # Redis alone (no in-process tier), so that every answer is looked up there.
    ttl = IhrSettings(_env_file=None, cache_ttl_s=120, page_cache_bytes=0)  # type: ignore[call-arg]
    async with app_client(settings, (ihr.service,), service_settings=[ttl]) as client:
        yield client


async def page_keys(store: aioredis.Redis) -> list[bytes]:
    return [key async for key in store.scan_iter(match=KEY_PREFIX + "*")]


async def test_a_page_is_kept_and_served_from_redis(cached: AppClient, store: aioredis.Redis) -> None:
    first = await cached.get(OLD)
    assert first.status_code == 200
    keys = await page_keys(store)
    assert len(keys) == 1
    assert await store.get(keys[0]) == first.content
    assert 0 < await store.ttl(keys[0]) <= 120, "at most IHR_CACHE_TTL_S"
    marker = b'{"count":0,"next":null,"previous":null,"results":[]}'
    await store.set(keys[0], marker)
    again = await cached.get(OLD)
    assert again.content == marker, "the second answer came from Redis, not PostgreSQL"
    assert again.headers["content-type"] == "application/json"
    assert again.headers["etag"] != first.headers["etag"]


async def test_parameter_order_does_not_matter_but_values_do(
    cached: AppClient, store: aioredis.Redis
) -> None:
    await cached.get(OLD)
    reordered = (
        "/ihr/api/hegemony/?af=4&timebin__lte=2024-05-01T01:00Z&timebin__gte=2024-05-01T00:00Z&originasn=2497"
    )
    await cached.get(reordered)
    assert len(await page_keys(store)) == 1
    await cached.get(OLD.replace("af=4", "af=6"))
    assert len(await page_keys(store)) == 2


async def test_ttl_follows_the_cadence_and_never_exceeds_the_setting(
    ihr_db: str, redis: RedisServer, store: aioredis.Redis
) -> None:
    settings = settings_for(ihr_db, redis_url=redis.url)
    ttl = IhrSettings(_env_file=None, cache_ttl_s=86_400)  # type: ignore[call-arg]
    async with app_client(settings, (ihr.service,), service_settings=[ttl]) as client:
        answer = await client.get(RECENT)
    assert answer.headers["cache-control"] == "max-age=1800"
    (key,) = await page_keys(store)
    assert 800 < await store.ttl(key) <= 900, "the default window changes with the next 15-minute bin"
    await store.delete(key)
    async with app_client(settings, (ihr.service,), service_settings=[ttl]) as client:
        assert (await client.get(OLD)).status_code == 200
    (key,) = await page_keys(store)
    assert 86_000 < await store.ttl(key) <= 86_400, "a closed window: as long as IHR_CACHE_TTL_S allows"


async def test_redis_is_the_second_tier(ihr_db: str, redis: RedisServer, store: aioredis.Redis) -> None:
    settings = settings_for(ihr_db, redis_url=redis.url)
    async with app_client(settings, (ihr.service,)) as first_worker:
        page = await first_worker.get(OLD)
    (key,) = await page_keys(store)
    marker = b'{"count":0,"next":null,"previous":null,"results":[]}'
    await store.set(key, marker, ex=60)
    async with app_client(settings, (ihr.service,)) as second_worker:
        from_redis = await second_worker.get(OLD)
        await store.delete(key)
        from_memory = await second_worker.get(OLD)
    assert page.status_code == 200
    assert from_redis.content == marker, "a worker that has not read the page finds it in Redis"
    assert from_memory.content == marker, "then keeps it in memory"


async def test_errors_and_404_pages_are_not_kept(cached: AppClient, store: aioredis.Redis) -> None:
    assert (await cached.get("/ihr/api/hegemony/?af=4")).status_code == 400
    assert (await cached.get(OLD + "&page=9")).status_code == 404
    assert await page_keys(store) == []


async def test_redis_down_means_no_cache_not_an_error(ihr_db: str) -> None:
    settings = settings_for(ihr_db, redis_url="redis://127.0.0.1:9/0")
    ttl = IhrSettings(_env_file=None, cache_ttl_s=60)  # type: ignore[call-arg]
    async with app_client(settings, (ihr.service,), service_settings=[ttl]) as client:
        answer = await client.get(OLD)
    assert answer.status_code == 200
    assert answer.json()["count"] == 5 * len(data.LOCAL_2497), "00:00 to 01:00: five bins"


async def test_without_a_ttl_nothing_is_kept(ihr_db: str, redis: RedisServer, store: aioredis.Redis) -> None:
    zero = IhrSettings(_env_file=None, cache_ttl_s=0)  # type: ignore[call-arg]
    settings = settings_for(ihr_db, redis_url=redis.url)
    async with app_client(settings, (ihr.service,), service_settings=[zero]) as client:
        assert (await client.get(OLD)).status_code == 200
    assert await page_keys(store) == []


async def test_the_request_budget_answers_429_in_the_drf_shape(ihr_db: str) -> None:
    settings = settings_for(ihr_db, rate_limit_anonymous="3/minute")
    async with app_client(settings, (ihr.service,)) as client:
        statuses = [(await client.get(OLD)).status_code for _ in range(3)]
        refused = await client.get(OLD)
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert refused.headers["content-type"] == "application/json"
    assert list(refused.json()) == ["detail"]


async def test_with_redis_down_budgets_are_counted_in_memory(ihr_db: str) -> None:
    settings = settings_for(ihr_db, redis_url="redis://127.0.0.1:9/0", rate_limit_anonymous="2/minute")
    async with app_client(settings, (ihr.service,)) as client:
        statuses = [(await client.get(OLD)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_past_capacity_requests_are_shed_with_503_and_retry_after(ihr_db: str) -> None:
    """One connection, one request allowed to wait: the next one is answered 503 at once."""
    settings = settings_for(ihr_db, db_pool_max=1, db_acquire_queue_max=1)
    zero = IhrSettings(_env_file=None, cache_ttl_s=0)  # type: ignore[call-arg]
    async with app_client(settings, (ihr.service,), service_settings=[zero]) as client:
        pool = await client.app.state.db.stateless_read_pool()
        held = await pool.acquire(timeout=5)
        waiting = asyncio.create_task(client.get(OLD))
        await asyncio.sleep(0.2)
        refused = await client.get(OLD)
        await pool.release(held)
        served = await waiting
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/json"
    assert refused.json() == {"detail": "The server is busy; retry shortly."}
    assert served.status_code == 200
    assert served.json()["count"] == 5 * len(data.LOCAL_2497)
