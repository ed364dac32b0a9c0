"""Queries: what was checked is what runs. Smuggling is refused before Lbasedb is contacted;
accepted queries reach Lbasedb in the gateway's canonical form; Lbasedb's answers pass through as they are.
"""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.conftest import Caller, Lbasedb, People, feed_name
from tests.support.app import AppClient
from tests.support.lbasedb import StandIn

XY = {"x": "Int64", "y": "Int64"}
ROWS = {"x": [1, 2], "y": [3, 4]}

SMUGGLING = [
    ("feed={feed}&feed=other.feed&ix=0&size=1&col[]=x", "given twice"),
    ("feed={feed}&ix=0&size=1&col%5B0%5D=x", "col[]=a"),
    ("feed={feed}&ix=0&size=1&col[0]=x", "col[]=a"),
    ("feed={feed}&ix=0&size=1&col[a][b]=x", "col[]=a"),
    ("feed={feed}&ix=0&size=1&col=x", "col[]=a"),
    ("feed={feed}&ix=0&size=1&col%5B%5d=x", "col[]=a"),
    ("feed={feed}%26feed%3Dother&ix=0&size=1&col[]=x", "Lbasedb name"),
    ("feed={feed}&ix=0%26size%3D9&size=1&col[]=x", "whole number"),
    ("feed={feed}%00&ix=0&size=1&col[]=x", "Lbasedb name"),
    ("feed={feed}&ix=0&size=1&col[]=x%00y", "Lbasedb name"),
    ("feed=1bad&ix=0&size=1&col[]=x", "Lbasedb name"),
    ("feed=a..b&ix=0&size=1&col[]=x", "Lbasedb name"),
    ("feed={feed}&ix=0&size=1&col[]=x-y", "Lbasedb name"),
    ("feed={feed}&ix=0&size=1&col[]=x&limit=5", "Unknown parameter"),
    ("fe%65d={feed}&ix=0&size=1&col[]=x", "Unknown parameter"),
    ("feed[]={feed}&ix=0&size=1&col[]=x", "Unknown parameter"),
    ("feed={feed}&ix=-1&size=1&col[]=x", "whole number"),
    ("feed={feed}&ix=+1&size=1&col[]=x", "whole number"),
    ("feed={feed}&ix=0&size=99999999999999999999&col[]=x", "whole number"),
    ("feed={feed}&ix=9223372036854775807&size=1&col[]=x", "must not pass"),
    ("feed={feed}&ix=0&size=1&col[]=%zz", "percent-escape"),
    ("feed={feed}&ix=0&size=1&col[]=%ff", "UTF-8"),
    ("feed=" + "a" * 257 + "&ix=0&size=1&col[]=x", "256 bytes"),
]


@pytest.fixture
async def reader(people: People, direct: Lbasedb) -> tuple[str, Caller]:
    feed = await direct.feed(feed_name("q"), XY, ROWS)
    caller = await people.caller()
    await people.grant(feed, "admin", user=caller.user_id)
    return feed, caller


@pytest.mark.parametrize("route", ["/data", "/bytes"])
async def test_smuggling_attempts_are_refused_and_nothing_reaches_lbasedb(
    client: AppClient, standin: StandIn, reader: tuple[str, Caller], route: str
) -> None:
    feed, caller = reader
    for query, says in SMUGGLING:
        answer = await client.get(
            f"/gateway/lbasedb{route}?{query.replace('{feed}', feed)}", headers=caller.headers
        )
        assert answer.status_code == 400, (query, answer.text)
        assert answer.json()["error"] == "invalid input parameter"
        assert says in answer.json()["detail"], (query, answer.json())
    assert standin.received == []


async def test_single_valued_routes_refuse_duplicates_and_unknown_parameters(
    client: AppClient, standin: StandIn, reader: tuple[str, Caller]
) -> None:
    feed, caller = reader
    for url in (
        f"/size?feed={feed}&feed={feed}",
        f"/col?feed={feed}&name=x",
        f"/raw?feed={feed}&col=x&col=y&ix=0&size=1",
        f"/raw?feed={feed}&col[]=x&ix=0&size=1",
        "/version?x=1",
        f"/feed?name={feed}",
    ):
        answer = await client.get(f"/gateway/lbasedb{url}", headers=caller.headers)
        assert answer.status_code == 400, (url, answer.text)
    assert standin.received == []


async def test_the_forwarded_query_is_the_canonical_one(
    client: AppClient, standin: StandIn, reader: tuple[str, Caller]
) -> None:
    feed, caller = reader
    url = f"/gateway/lbasedb/bytes?col%5B%5D=y&size=002&col%5b%5d=x&&ix=0&feed={feed}"
    answer = await client.get(url, headers=caller.headers)
    assert answer.status_code == 200
    assert answer.content == (3).to_bytes(8, "little") + (4).to_bytes(8, "little") + bytes(
        [1] + [0] * 7
    ) + bytes([2] + [0] * 7)
    assert standin.received[-1].target == f"/bytes?feed={feed}&ix=0&size=2&col[]=y&col[]=x"


async def test_lbasedb_answers_pass_through_byte_for_byte(
    client: AppClient, direct: Lbasedb, standin: StandIn, reader: tuple[str, Caller]
) -> None:
    feed, caller = reader
    requests = [
        ("GET", f"/data?feed={feed}&ix=1&size=5&col[]=x", None, None),  # JSON 400: past the end
        ("GET", f"/data?feed={feed}&ix=0&size=1&col[]=nope", None, None),  # JSON 400: entity not found
        ("GET", f"/data?feed={feed}&size=1", None, None),  # JSON 400: param required ix
        ("GET", f"/bytes?feed={feed}&ix=0&size=1", None, None),  # JSON 400: param required col[]
        ("GET", f"/raw?feed={feed}&col=x&size=1", None, None),  # text 400: Query deserialize error
        ("PATCH", f"/data?feed={feed}&ix=0", b'{"x": [1], "y": []}', "application/json"),  # invalid data
        ("PATCH", f"/data?feed={feed}&ix=0", b'{"x": [null]}', "application/json"),  # text 400: Json error
        ("PATCH", f"/data?feed={feed}&ix=0", b'{"x": [1]}', "text/plain"),  # text 400: Content type error
        ("POST", f"/raw?feed={feed}&col=x&ix=2", bytes(8), None),  # JSON 400: unexpected end of file
        ("GET", f"/size?feed={feed}", None, None),  # 200
        ("GET", f"/col?feed={feed}", None, None),  # 200 (listing, all readable)
    ]
    for method, url, body, content_type in requests:
        headers = {"content-type": content_type} if content_type else {}
        through = await client.request(
            method, f"/gateway/lbasedb{url}", content=body, headers={**caller.headers, **headers}
        )
        straight = await direct.http.request(method, url, content=body, headers=headers)
        assert (through.status_code, through.content) == (straight.status_code, straight.content), url
        assert through.headers.get("content-type") == straight.headers.get("content-type"), url


async def test_missing_feed_is_lbasedbs_own_refusal(
    client: AppClient, direct: Lbasedb, people: People, standin: StandIn
) -> None:
    caller = await people.caller()
    through = await client.get("/gateway/lbasedb/size", headers=caller.headers)
    straight = await direct.http.get("/size")
    assert through.status_code == straight.status_code == 400
    assert through.text == straight.text == "Query deserialize error: missing field `feed`"


async def test_names_in_bodies_are_checked_as_lbasedb_checks_them(
    client: AppClient, people: People, standin: StandIn
) -> None:
    creators = await people.group("gateway.create_feed")
    caller = await people.caller(groups=(creators,))
    for name in ("1bad", "a" * 257, "a\u0000b"):
        answer = await client.post("/gateway/lbasedb/feed", json={"name": name}, headers=caller.headers)
        assert answer.status_code == 400
        assert answer.json() == {"error": "invalid input parameter", "detail": name}
    plain = await client.post("/gateway/lbasedb/feed", content=b'{"name": "a"}', headers=caller.headers)
    assert (plain.status_code, plain.text) == (400, "Content type error")
    broken = await client.post(
        "/gateway/lbasedb/feed",
        content=b'{"name": ',
        headers={**caller.headers, "content-type": "application/json"},
    )
    assert broken.status_code == 400
    assert broken.text.startswith("Json deserialize error")
    assert standin.received == []


async def test_unknown_routes_and_methods(client: AppClient, people: People) -> None:
    caller = await people.caller()
    missing = await client.get("/gateway/lbasedb/tables", headers=caller.headers)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not found"
    wrong = await client.put("/gateway/lbasedb/version", headers=caller.headers)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET"
    assert wrong.json()["error"] == "method not allowed"


async def test_framing_that_could_be_read_two_ways_is_refused(
    client: AppClient, standin: StandIn, reader: tuple[str, Caller]
) -> None:
    feed, caller = reader
    url = f"/gateway/lbasedb/bytes?feed={feed}&col[]=x"
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    both = await client.post(
        url,
        content=bytes(8),
        headers={**caller.headers, "transfer-encoding": "chunked", "content-length": "8"},
    )
    assert both.status_code == 400
    assert "not both" in both.json()["detail"]
    encoded = await client.post(url, content=bytes(8), headers={**caller.headers, "content-encoding": "gzip"})
    assert encoded.status_code == 415
    assert standin.received == []
