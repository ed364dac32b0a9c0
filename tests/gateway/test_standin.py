"""The stand-in answers as section 1 says Lbasedb does (what the gateway's tests rely on)."""

from __future__ import annotations

import base64

from tests.gateway.conftest import Lbasedb, feed_name
from tests.support.lbasedb import running_standin


async def test_datatypes_round_trip_as_lbasedb_stores_them(direct: Lbasedb) -> None:
    feed = feed_name("dt")
    http = direct.http
    assert (await http.post("/feed", json={"name": feed})).status_code == 201
    for name, datatype in (
        ("i", "Int32"),
        ("f", "Float32"),
        ("d", "Float64"),
        ("b", "Bytes[5]"),
        ("q", "Int64"),
    ):
        assert (
            await http.post("/col", params={"feed": feed}, json={"name": name, "datatype": datatype})
        ).status_code == 201
    pushed = {
        "i": [2**31, -1],
        "f": [3.14, 0.5],
        "d": [0.1, 2.5],
        "b": ["+uwgVQA=", "AQIDBAUGBw=="],
        "q": [-(2**63), 7],
    }
    assert (await http.post(f"/data?feed={feed}", json=pushed)).status_code == 204
    read = (await http.get(f"/data?feed={feed}&ix=0&size=2&col[]=i&col[]=f&col[]=d&col[]=b&col[]=q")).json()
    assert read["i"] == [-(2**31), -1]
    assert read["f"] == [3.140000104904175, 0.5]
    assert read["d"] == [0.1, 2.5]
    assert [base64.b64decode(value) for value in read["b"]] == [
        bytes([250, 236, 32, 85, 0]),
        bytes([1, 2, 3, 4, 5]),
    ]
    assert read["q"] == [-(2**63), 7]
    raw = await http.get(f"/raw?feed={feed}&col=q&ix=1&size=1")
    assert (raw.content, raw.headers.get("content-type")) == ((7).to_bytes(8, "little"), None)


async def test_writes_and_refusals(direct: Lbasedb) -> None:
    feed = await direct.feed(feed_name("sem"), {"x": "Int64", "y": "Int64"}, {"x": [1, 2], "y": [3, 4]})
    http = direct.http
    put = await http.put(f"/data?feed={feed}&ix=0", json={"x": [9]})
    assert (put.status_code, put.content, "content-length" in put.headers) == (204, b"", False)
    assert await direct.data(feed, ["x", "y"]) == {"x": [9, 2], "y": [0, 4]}
    assert (await http.patch(f"/data?feed={feed}&ix=1", json={"y": [8]})).status_code == 204
    assert await direct.data(feed, ["x", "y"]) == {"x": [9, 2], "y": [0, 8]}
    assert (await http.post(f"/data?feed={feed}", json={"unknown": [1, 1]})).status_code == 204
    assert (await http.get(f"/size?feed={feed}")).json() == {"size": 4}
    uneven = await http.post(f"/data?feed={feed}", json={"x": [1], "y": []})
    assert uneven.json() == {"error": "invalid data", "detail": "invalid data"}
    past = await http.get(f"/data?feed={feed}&ix=3&size=2&col[]=x")
    assert past.json() == {"error": "unexpected end of file", "detail": "5"}
    assert (
        await http.get(f"/data?feed=a&feed={feed}&ix=0&size=1&col[]=x")
    ).status_code == 200  # serde_qs: last
    duplicate = await http.get(f"/size?feed={feed}&feed={feed}")
    assert (duplicate.status_code, duplicate.text) == (400, "Query deserialize error: duplicate field `feed`")
    missing = await http.get(f"/data?feed={feed}&size=1")
    assert missing.json() == {"error": "param required", "detail": "ix"}
    created = await http.post("/feed", json={"name": feed_name()})
    assert created.headers["content-length"] == "0"
    for answer in (await http.get("/nope"), await http.put("/version")):
        assert (answer.status_code, answer.headers["content-length"]) in ((404, "0"), (405, "0"))


async def test_oversized_bodies_are_refused_from_their_length() -> None:
    with running_standin(payload_limit=100) as (url, standin):
        async with Lbasedb(url, standin).http as http:
            answer = await http.post("/bytes?feed=a&col[]=b", content=bytes(101))
        assert (answer.status_code, answer.text) == (413, "A payload reached size limit.")
        assert standin.received[-1].body_bytes == 0
