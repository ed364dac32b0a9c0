"""The in-process page cache and single-flight, through the app on the test data set.

Queries are counted by wrapping the functions that run them (`queries.small_page` and
`queries.streamed_page`), each call being one statement sent to PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from dockyard import ihr
from dockyard.ihr import plan, queries
from dockyard.ihr.cache import LocalPages, SharedStream, canonical_key
from dockyard.ihr.endpoints import ENDPOINTS
from dockyard.ihr.plan import plan_for
from dockyard.ihr.response import page_ttl
from dockyard.ihr.settings import IhrSettings
from tests.ihr import data
from tests.support.app import AppClient, app_client, settings_for
from tests.support.live import live_server

WINDOW = "timebin__gte=2024-05-01T00:00:00Z&timebin__lte=2024-05-02T23:45:00Z"
LOCAL = f"/ihr/api/hegemony/?originasn=2497&af=4&{WINDOW}"
ROWS = len(data.BINS) * len(data.LOCAL_2497)


class Counted:
    """Wraps a query function: counts its calls, and can hold each one back so requests overlap."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, *, delay_s: float = 0.0) -> None:
        self.calls = 0
        self.delay_s = delay_s
        original = getattr(queries, name)
        if name == "streamed_page":

            @asynccontextmanager
            async def wrapped_cm(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                self.calls += 1
                await asyncio.sleep(self.delay_s)
                async with original(*args, **kwargs) as value:
                    yield value

            monkeypatch.setattr(queries, name, wrapped_cm)
        else:

            async def wrapped(*args: Any, **kwargs: Any) -> Any:
                self.calls += 1
                await asyncio.sleep(self.delay_s)
                return await original(*args, **kwargs)

            monkeypatch.setattr(queries, name, wrapped)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    """Pages of 100 rows, streamed above 30 rows."""
    monkeypatch.setattr(plan, "PAGE_SIZE", 100)
    monkeypatch.setattr(queries, "SMALL_PAGE", 30)
    monkeypatch.setattr(queries, "FETCH_BATCH", 7)
    return 100


@asynccontextmanager
async def served(ihr_db: str, **ihr_settings: Any) -> AsyncIterator[AppClient]:
    given = IhrSettings(_env_file=None, **ihr_settings)  # type: ignore[call-arg]
    # Behind a trusted proxy, as in production: the forwarded host is part of the answer.
    settings = settings_for(
        ihr_db, trusted_proxies=["127.0.0.1"], allowed_hosts=["testserver", "www.ihr.live"]
    )
    async with app_client(settings, (ihr.service,), service_settings=[given]) as client:
        yield client


# --- the in-process tier ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_byte_bound_evicts_the_least_recently_used() -> None:
    pages = LocalPages(100)
    pages.put("a", b"a" * 40, 60)
    pages.put("b", b"b" * 40, 60)
    assert pages.get("a") == b"a" * 40  # a is now the most recently used
    pages.put("c", b"c" * 40, 60)
    assert pages.get("b") is None, "the least recently used page made room"
    assert pages.get("a") == b"a" * 40
    assert pages.get("c") == b"c" * 40
    assert pages.size == 80 <= pages.max_bytes
    pages.put("big", b"x" * 101, 60)
    assert pages.get("big") is None, "a page larger than the bound is never kept"
    assert len(pages) == 2


def test_replacing_a_page_counts_its_bytes_once() -> None:
    pages = LocalPages(100)
    pages.put("a", b"a" * 60, 60)
    pages.put("a", b"A" * 70, 60)
    assert pages.size == 70
    assert pages.get("a") == b"A" * 70


def test_ttl_is_honoured() -> None:
    clock = Clock()
    pages = LocalPages(1000, clock=clock)
    pages.put("short", b"1", 10)
    pages.put("long", b"2", 100)
    clock.now += 9.9
    assert pages.get("short") == b"1"
    clock.now += 0.1
    assert pages.get("short") is None
    assert pages.size == 1, "an expired page is dropped"
    assert pages.get("long") == b"2"
    clock.now += 90
    assert pages.get("long") is None


def test_ttl_follows_the_datas_cadence() -> None:
    by_path = {endpoint.path: endpoint for endpoint in ENDPOINTS}
    now = dt.datetime(2024, 5, 10, 12, 0, tzinfo=dt.UTC)
    hegemony = by_path["hegemony/"]
    recent = plan_for(hegemony, {"originasn": "2497"})  # the default window reaches the present
    assert page_ttl(hegemony, recent, now=now) == 900
    closed = plan_for(
        hegemony,
        {"originasn": "2497", "timebin__gte": "2024-05-01T00:00Z", "timebin__lte": "2024-05-02T00:00Z"},
    )
    assert page_ttl(hegemony, closed, now=now) == 15_552_000
    last_bins = {
        "originasn": "2497",
        "timebin__gte": "2024-05-10T11:00Z",
        "timebin__lte": "2024-05-10T11:45Z",
    }
    assert page_ttl(hegemony, plan_for(hegemony, last_bins), now=now) == 900, "the next bin may still come"
    networks = by_path["networks/"]
    assert page_ttl(networks, plan_for(networks, {}), now=now) == 86_400
    metis = by_path["metis/atlas/selection/"]
    assert page_ttl(metis, plan_for(metis, {}), now=now) == 7 * 86_400


def test_the_key_is_the_canonical_query() -> None:
    base = "http://testserver/ihr/api/hegemony/"
    key = canonical_key(base, [("af", "4"), ("originasn", "2497")])
    assert canonical_key(base, [("originasn", "2497"), ("af", "4")]) == key
    assert canonical_key(base, [("originasn", "2497"), ("af", "6")]) != key
    # A repeated parameter filters with its last value: the order of its values matters.
    assert canonical_key(base, [("af", "4"), ("af", "6")]) != canonical_key(base, [("af", "6"), ("af", "4")])
    assert (
        canonical_key("https://www.ihr.live/ihr/api/hegemony/", [("af", "4"), ("originasn", "2497")]) != key
    )


# --- through the app -------------------------------------------------------------------------------


async def test_a_repeated_page_is_read_once(ihr_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(monkeypatch, "small_page")
    async with served(ihr_db) as client:
        first = await client.get(LOCAL)
        again = await client.get(LOCAL)
    assert counted.calls == 1
    assert again.content == first.content
    assert again.json()["count"] == ROWS
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["content-type"] == "application/json"


async def test_single_flight_sixteen_cold_identical_requests_run_one_query(
    ihr_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = Counted(monkeypatch, "small_page", delay_s=0.3)
    async with served(ihr_db) as client:
        answers = await asyncio.gather(*(client.get(LOCAL) for _ in range(16)))
    assert counted.calls == 1
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1
    assert answers[0].json()["count"] == ROWS


async def test_single_flight_also_without_the_in_process_tier_and_errors_are_shared(
    ihr_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = Counted(monkeypatch, "small_page", delay_s=0.3)
    async with served(ihr_db, page_cache_bytes=0) as client:
        answers = await asyncio.gather(*(client.get(LOCAL + "&page=9") for _ in range(8)))
    assert counted.calls == 1
    assert {answer.status_code for answer in answers} == {404}
    assert {answer.text for answer in answers} == {'{"detail":"Invalid page."}'}


async def test_single_flight_of_a_large_page_reads_it_once_for_every_client(
    ihr_db: str, monkeypatch: pytest.MonkeyPatch, small_pages: int
) -> None:
    streamed = Counted(monkeypatch, "streamed_page", delay_s=0.2)
    async with served(ihr_db, page_cache_bytes=0) as client:
        expected = (await client.get(LOCAL + "&page=2")).content
        assert streamed.calls == 1
        answers = await asyncio.gather(*(client.get(LOCAL + "&page=2") for _ in range(16)))
    assert streamed.calls == 2, "one read for the sixteen"
    assert {answer.content for answer in answers} == {expected}
    assert len(answers[0].json()["results"]) == small_pages


async def test_a_large_page_is_kept_when_it_fits(
    ihr_db: str, monkeypatch: pytest.MonkeyPatch, small_pages: int
) -> None:
    streamed = Counted(monkeypatch, "streamed_page")
    async with served(ihr_db) as client:
        first = await client.get(LOCAL + "&page=2")
        again = await client.get(LOCAL + "&page=2")
    assert streamed.calls == 1
    assert again.content == first.content
    assert "etag" not in first.headers, "streamed"
    assert "etag" in again.headers, "from the cache, whole"


async def test_the_key_ignores_headers_that_do_not_change_the_answer(
    ihr_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = Counted(monkeypatch, "small_page")
    variants = [
        {},
        {"Accept": "text/html"},
        {"Accept-Encoding": "gzip"},
        {"User-Agent": "abondance/0.1.2"},
        {"Cookie": "session=1"},
        {"If-None-Match": '"other"'},
        {"Accept-Language": "ja"},
    ]
    async with served(ihr_db) as client:
        answers = [await client.get(LOCAL, headers=headers) for headers in variants]
        reordered = await client.get(f"/ihr/api/hegemony/?{WINDOW}&af=4&originasn=2497")
        assert counted.calls == 1
        assert {answer.json()["count"] for answer in [*answers, reordered]} == {ROWS}
        # The host does change the answer (its links are absolute): its own entry.
        proxied = await client.get(LOCAL, headers={"X-Forwarded-Host": "www.ihr.live"})
        assert counted.calls == 2
        other = await client.get(LOCAL.replace("af=4", "af=6"))
        assert counted.calls == 3
    assert proxied.status_code == other.status_code == 200


async def test_an_expired_page_is_read_again(ihr_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(monkeypatch, "small_page")
    clock = Clock()
    recent = "/ihr/api/hegemony/?originasn=2497"  # the default window: 15-minute cadence
    async with served(ihr_db) as client:
        client.app.state.ihr_cache.local._clock = clock
        await client.get(recent)
        clock.now += 899
        await client.get(recent)
        assert counted.calls == 1
        clock.now += 1
        await client.get(recent)
        assert counted.calls == 2


async def test_ihr_cache_ttl_s_caps_every_page(ihr_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(monkeypatch, "small_page")
    clock = Clock()
    async with served(ihr_db, cache_ttl_s=60) as client:
        client.app.state.ihr_cache.local._clock = clock
        await client.get(LOCAL)  # a closed window: kept for good, but at most 60 s here
        clock.now += 60
        await client.get(LOCAL)
    assert counted.calls == 2


async def test_zero_ttl_means_no_cache(ihr_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(monkeypatch, "small_page")
    async with served(ihr_db, cache_ttl_s=0) as client:
        assert client.app.state.ihr_cache is None
        await client.get(LOCAL)
        await client.get(LOCAL)
    assert counted.calls == 2


async def test_the_byte_bound_holds_through_the_app(ihr_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(monkeypatch, "small_page")
    async with served(ihr_db) as client:
        size = len((await client.get(LOCAL)).content)
        local = client.app.state.ihr_cache.local
        local.max_bytes = size + size // 2  # room for one page of this size
        await client.get(LOCAL + "&ordering=-hege")  # the same rows: as large, another key
        assert local.size <= local.max_bytes
        await client.get(LOCAL)
    assert counted.calls == 3, "the first page was evicted to make room for the second"


async def test_cached_pages_keep_their_304(api: AppClient) -> None:
    first = await api.get(LOCAL)
    again = await api.get(LOCAL, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == first.headers["cache-control"]


# --- a client going away ---------------------------------------------------------------------------

ACTIVITY = """
SELECT count(*) FILTER (WHERE state = 'active' AND query LIKE '%pg_sleep%'),
       count(*) FILTER (WHERE state LIKE 'idle in transaction%')
FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dockyard'
"""


async def _activity(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        record = await conn.fetchrow(ACTIVITY)
    finally:
        await conn.close()
    assert record is not None
    return record[0], record[1]


def test_a_client_leaving_a_large_page_cancels_its_read_and_frees_the_connection(
    ihr_db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Every row of the page takes 50 ms to read (pg_sleep per row), so the read is still going on
    # when the client closes the connection after the first bytes.
    monkeypatch.setattr(plan, "PAGE_SIZE", 100)
    monkeypatch.setattr(queries, "SMALL_PAGE", 3)
    monkeypatch.setattr(queries, "FETCH_BATCH", 1)
    select = queries._select
    monkeypatch.setattr(
        queries,
        "_select",
        lambda *args: f"SELECT r FROM ({select(*args)}) slow WHERE pg_sleep(0.05 + 0 * length(r))::text = ''",
    )
    caplog.set_level(logging.WARNING)
    zero = IhrSettings(_env_file=None, cache_ttl_s=0)  # type: ignore[call-arg]
    with live_server(settings_for(ihr_db), (ihr.service,), service_settings=[zero]) as base:
        url = base + LOCAL + "&page=2"
        with httpx.stream("GET", url, headers={"Accept-Encoding": "identity"}, timeout=30) as answer:
            assert answer.status_code == 200
            chunks = answer.iter_raw()
            assert next(chunks).startswith(b'{"count":')
            # Between two fetches of its cursor the read's session is idle in its transaction.
            assert sum(asyncio.run(_activity(ihr_db))) == 1, "the page is being read"
        left = time.monotonic()
        while asyncio.run(_activity(ihr_db)) != (0, 0):
            assert time.monotonic() - left < 3, "the read went on after the client left (100 rows: 5 s)"
            time.sleep(0.05)
    messages = [record.getMessage() for record in caplog.records]
    assert not [message for message in messages if "active transaction" in message], messages


async def test_a_cached_page_is_compressed_once_for_every_client_that_accepts_gzip(ihr_db: str) -> None:
    async with served(ihr_db) as client:
        plain = await client.get(LOCAL, headers={"Accept-Encoding": "identity"})
        first = await client.get(LOCAL, headers={"Accept-Encoding": "gzip"})
        (stored,) = [page for page, _ in client.app.state.ihr_cache.local._pages.values()]
        encoded = stored.gzipped
        again = await client.get(LOCAL, headers={"Accept-Encoding": "gzip, br"})
        refused = await client.get(LOCAL, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in plain.headers
    assert first.headers["content-encoding"] == again.headers["content-encoding"] == "gzip"
    assert first.content == again.content == plain.content, "httpx decodes: the same JSON"
    assert encoded is not None
    assert stored.gzipped is encoded, "compressed once, then reused"
    assert "accept-encoding" in first.headers["vary"].lower()
    assert first.headers["etag"] == plain.headers["etag"]
    assert "content-encoding" not in refused.headers


async def test_a_burst_on_a_large_page_shares_one_gzip_encoding(
    ihr_db: str, monkeypatch: pytest.MonkeyPatch, small_pages: int
) -> None:
    """Sixteen clients accepting gzip: one read and one compression, the same bytes for each."""
    streamed = Counted(monkeypatch, "streamed_page", delay_s=0.2)
    compressors = 0
    original = zlib.compressobj

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal compressors
        compressors += 1
        return original(*args, **kwargs)

    async with served(ihr_db, page_cache_bytes=0) as client:
        plain = await client.get(LOCAL + "&page=2", headers={"Accept-Encoding": "identity"})
        monkeypatch.setattr(zlib, "compressobj", counting)
        requests = [
            client.build_request("GET", LOCAL + "&page=2", headers={"Accept-Encoding": "gzip"})
            for _ in range(16)
        ]
        answers = await asyncio.gather(*(client.send(request, stream=True) for request in requests))
        raw = [b"".join([chunk async for chunk in answer.aiter_raw()]) for answer in answers]
    assert streamed.calls == 2, "one read for the sixteen"
    assert compressors == 1, "one compression for the sixteen"
    assert {answer.headers["content-encoding"] for answer in answers} == {"gzip"}
    assert all("accept-encoding" in answer.headers["vary"].lower() for answer in answers)
    assert len(set(raw)) == 1
    assert zlib.decompress(raw[0], 31) == plain.content
    assert "content-encoding" not in plain.headers


async def test_a_shared_gzip_stream_reaches_clients_that_join_late_and_ends_on_error() -> None:
    """A subscriber joining after chunks were encoded gets the whole encoding; a failed read is raised."""
    release = asyncio.Event()

    async def produce(stream: SharedStream) -> None:
        stream.append(b'{"a":')
        await release.wait()
        stream.append(b"1}")

    stream = SharedStream(produce)
    early = stream.subscribe(gzip=True)
    first = await early.__anext__()
    release.set()
    rest = [chunk async for chunk in early]
    late = [chunk async for chunk in stream.subscribe(gzip=True)]
    assert zlib.decompress(b"".join([first, *rest]), 31) == b'{"a":1}'
    assert late == [first, *rest]

    async def failing(stream: SharedStream) -> None:
        stream.append(b"[")
        raise RuntimeError("the read failed")

    broken = SharedStream(failing)
    with pytest.raises(RuntimeError, match="the read failed"):
        async for _ in broken.subscribe(gzip=True):
            pass
