"""Section 4 in the app: headers both ways, cookies, gzip, chunked answers, upstream failures, body limits."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator

import orjson

from dockyard import accounts, gateway
from dockyard.core.config import Settings
from tests.gateway.conftest import Caller, Lbasedb, People, feed_name, gateway_settings
from tests.gateway.serving import free_port
from tests.support.app import AppClient, app_client
from tests.support.lbasedb import StandIn

XY = {"x": "Int64", "y": "Int64"}


async def _reader(people: People, direct: Lbasedb, rows: int = 2) -> tuple[str, Caller]:
    feed = await direct.feed(feed_name("s"), XY, {"x": list(range(rows)), "y": list(range(rows))})
    caller = await people.caller()
    await people.grant(feed, "admin", user=caller.user_id)
    return feed, caller


async def test_requests_reach_lbasedb_without_credentials_or_hop_by_hop_headers(
    client: AppClient, people: People, direct: Lbasedb, standin: StandIn
) -> None:
    feed, caller = await _reader(people, direct)
    answer = await client.get(
        f"/gateway/lbasedb/size?feed={feed}",
        headers={
            **caller.headers,
            "Cookie": "session=secret",
            "Connection": "keep-alive, X-Private",
            "X-Private": "named in Connection",
            "Keep-Alive": "timeout=5",
            "Proxy-Authorization": "Basic eDp5",
            "TE": "trailers",
            "Upgrade": "h2c",
            "Origin": "https://elsewhere.example",
            "Accept": "application/json",
            "X-Request-ID": "trace-me-42",
            "X-Forwarded-For": "203.0.113.9",
        },
    )
    assert answer.status_code == 200
    seen = standin.received[-1]
    names = seen.header_names()
    for name in (
        "authorization",
        "cookie",
        "x-private",
        "keep-alive",
        "proxy-authorization",
        "te",
        "upgrade",
    ):
        assert name not in names, name
    assert "origin" not in names
    assert seen.header("host") == direct.http.base_url.netloc.decode()
    assert seen.header("via") == "1.1 dockyard-gateway"
    assert seen.header("x-forwarded-for") == "127.0.0.1"
    assert seen.header("x-request-id") == "trace-me-42"
    assert seen.header("accept") == "application/json"


async def test_answers_lose_hop_by_hop_headers_and_cookies_never_reach_another_caller(
    client: AppClient, people: People, direct: Lbasedb, standin: StandIn
) -> None:
    feed, first = await _reader(people, direct)
    second = await people.caller()
    await people.grant(feed, "read", user=second.user_id)
    standin.add_fault("hop", path="/size")
    standin.add_fault("cookie", path="/size")
    answer = await client.get(f"/gateway/lbasedb/size?feed={feed}", headers=first.headers)
    assert answer.json() == {"size": 2}
    for name in (
        "connection",
        "x-hop",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "trailer",
        "upgrade",
    ):
        assert name not in answer.headers, name
    assert "set-cookie" not in answer.headers
    assert (await client.get(f"/gateway/lbasedb/size?feed={feed}", headers=second.headers)).status_code == 200
    assert all("cookie" not in seen.header_names() for seen in standin.requests_to("/size"))
    assert all(seen.header("set-cookie") is None for seen in standin.requests_to("/size"))


async def test_gzip_answers_pass_through_intact(
    client: AppClient, people: People, direct: Lbasedb, standin: StandIn
) -> None:
    feed, caller = await _reader(people, direct, rows=5000)
    url = f"/data?feed={feed}&ix=0&size=5000&col[]=x&col[]=y"
    standin.add_fault("gzip", path="/data")
    async with direct.http.stream("GET", url) as straight:
        raw_direct = b"".join([chunk async for chunk in straight.aiter_raw()])
    headers = {**caller.headers, "Accept-Encoding": "gzip"}
    async with client.stream("GET", f"/gateway/lbasedb{url}", headers=headers) as through:
        raw_through = b"".join([chunk async for chunk in through.aiter_raw()])
        assert through.headers["content-encoding"] == "gzip"
        assert through.headers["content-length"] == str(len(raw_through))
    # gzip output is the same for the same input and level, so the bytes must match exactly
    assert raw_through == raw_direct
    assert json.loads(gzip.decompress(raw_through)) == {"x": list(range(5000)), "y": list(range(5000))}
    assert standin.received[-1].header("accept-encoding") == "gzip"


async def test_plain_answers_are_not_compressed_on_the_way(
    client: AppClient, people: People, direct: Lbasedb
) -> None:
    feed, caller = await _reader(people, direct, rows=5000)
    url = f"/gateway/lbasedb/data?feed={feed}&ix=0&size=5000&col[]=x"
    answer = await client.get(url, headers={**caller.headers, "Accept-Encoding": "gzip"})
    assert "content-encoding" not in answer.headers
    assert answer.headers["content-length"] == str(len(orjson.dumps({"x": list(range(5000))})))


async def test_chunked_answers_arrive_whole(
    client: AppClient, people: People, direct: Lbasedb, standin: StandIn
) -> None:
    feed, caller = await _reader(people, direct, rows=1000)
    standin.add_fault("chunked", path="/bytes")
    answer = await client.get(
        f"/gateway/lbasedb/bytes?feed={feed}&ix=0&size=1000&col[]=x", headers=caller.headers
    )
    assert answer.status_code == 200
    assert answer.content == b"".join(i.to_bytes(8, "little") for i in range(1000))
    assert "transfer-encoding" not in answer.headers or answer.headers["transfer-encoding"] == "chunked"


async def test_a_panicking_lbasedb_is_a_502(
    client: AppClient, people: People, direct: Lbasedb, standin: StandIn
) -> None:
    feed, caller = await _reader(people, direct)
    answer = await client.patch(
        f"/gateway/lbasedb/data?feed={feed}&ix=0", json={"x": [1.5]}, headers=caller.headers
    )
    assert answer.status_code == 502
    assert answer.json()["error"] == "bad gateway"
    assert standin.received[-1].status is None  # it dropped the connection without answering


async def test_a_slow_lbasedb_is_a_504(
    settings: Settings, lbasedb: tuple[str, StandIn], people: People
) -> None:
    standin = lbasedb[1]
    standin.clear()
    standin.add_fault("delay", path="/version", seconds=2)
    caller = await people.caller()
    slow = gateway_settings(lbasedb[0], read_timeout_s=0.3)
    async with app_client(settings, (accounts.service, gateway.service), service_settings=[slow]) as client:
        answer = await client.get("/gateway/lbasedb/version", headers=caller.headers)
    assert answer.status_code == 504
    assert answer.json()["error"] == "timed out"
    standin.clear()


async def test_an_unreachable_lbasedb_is_a_502_and_an_unset_one_a_503(
    settings: Settings, people: People
) -> None:
    caller = await people.caller()
    closed = gateway_settings(f"http://127.0.0.1:{free_port()}")
    async with app_client(settings, (accounts.service, gateway.service), service_settings=[closed]) as client:
        answer = await client.get("/gateway/lbasedb/version", headers=caller.headers)
        assert answer.status_code == 502
        assert "cannot be reached" in answer.json()["detail"]
        assert "does not answer" in (await client.get("/gateway/")).text
    unset = gateway_settings(None)
    async with app_client(settings, (accounts.service, gateway.service), service_settings=[unset]) as client:
        answer = await client.get("/gateway/lbasedb/version", headers=caller.headers)
        assert answer.status_code == 503
        assert "LBASEDB_URL" in answer.json()["detail"]
        page = await client.get("/gateway/")
        assert "Not configured" in page.text
        assert "LBASEDB_URL" in page.text


async def test_the_index_page_shows_lbasedbs_version(client: AppClient) -> None:
    page = await client.get("/gateway/")
    assert page.status_code == 200
    assert "0.1.10" in page.text


async def _pieces(total: int, piece: int = 1000) -> AsyncIterator[bytes]:
    for _ in range(total // piece):
        yield bytes(piece)


async def test_bodies_past_gateway_max_body_are_413_before_lbasedb_hears_of_them(
    settings: Settings, lbasedb: tuple[str, StandIn], people: People, direct: Lbasedb
) -> None:
    standin = lbasedb[1]
    feed = await direct.feed(feed_name("big"), {"b": "Bytes[1000]"})
    caller = await people.caller()
    await people.grant(feed, "write", user=caller.user_id)
    small = gateway_settings(lbasedb[0], max_body=4000)
    url = f"/gateway/lbasedb/bytes?feed={feed}&col[]=b"
    async with app_client(settings, (accounts.service, gateway.service), service_settings=[small]) as client:
        standin.clear()
        declared = await client.post(url, content=bytes(5000), headers=caller.headers)
        assert declared.status_code == 413
        assert declared.json()["error"] == "payload too large"
        assert "GATEWAY_MAX_BODY" in declared.json()["detail"]
        assert standin.received == []
        chunked = await client.post(url, content=_pieces(5000), headers=caller.headers)
        assert chunked.status_code == 413
        assert all(not seen.body_complete for seen in standin.received)
        fits = await client.post(url, content=_pieces(4000), headers=caller.headers)
        assert fits.status_code == 204
    assert standin.store.size_get(feed) == 4
