"""The optional Redis page cache (real Redis) and the request budget (429) on the IHR lists."""

from __future__ import annotations

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
    ttl = IhrSettings(_env_file=None, cache_ttl_s=120)  # type: ignore[call-arg]
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


async def test_ttl_never_exceeds_the_pages_max_age(
    ihr_db: str, redis: RedisServer, store: aioredis.Redis
) -> None:
    settings = settings_for(ihr_db, redis_url=redis.url)
    ttl = IhrSettings(_env_file=None, cache_ttl_s=86_400)  # type: ignore[call-arg]
    async with app_client(settings, (ihr.service,), service_settings=[ttl]) as client:
        answer = await client.get(RECENT)
    assert answer.headers["cache-control"] == "max-age=1800"
    (key,) = await page_keys(store)
    assert 1700 < await store.ttl(key) <= 1800


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
    async with app_client(settings_for(ihr_db, redis_url=redis.url), (ihr.service,)) as client:
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
