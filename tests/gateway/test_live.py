"""Over real sockets: callers leaving at every phase, a cut answer, and 64 mixed callers at once.

Whatever happens, every connection taken from the upstream pool goes back (0 checked out), and the
stand-in sees the abort when the caller leaves mid-way.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI

from dockyard.core.config import Settings
from tests.gateway.conftest import Caller, People, feed_name, gateway_settings
from tests.gateway.serving import gateway_thread
from tests.support.lbasedb import Received, StandIn

ROW = 1024
ROWS = 64 * 1024  # 64 MiB in one Bytes[1024] column
BLOCK = random.Random(1).randbytes(1 << 20) * 64


@pytest.fixture(scope="module")
def served(settings: Settings, lbasedb: tuple[str, StandIn]) -> Iterator[tuple[str, FastAPI]]:
    with gateway_thread(settings, gateway_settings(lbasedb[0])) as running:
        yield running


@pytest.fixture(scope="module")
def settings(migrated_db: str, smtp: object) -> Settings:  # module-scoped for the module's one server
    from tests.accounts.conftest import accounts_settings

    return accounts_settings(migrated_db, smtp)  # type: ignore[arg-type]


async def _big_feed(standin: StandIn, people: People) -> tuple[str, Caller]:
    feed = feed_name("live")
    standin.store.feed_add(feed)
    standin.store.col_add(feed, "b", f"Bytes[{ROW}]")
    standin.store.bytes_push(feed, ["b"], BLOCK)
    caller = await people.caller()
    await people.grant(feed, "write", user=caller.user_id)
    return feed, caller


async def _eventually(check: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds}s: {what}")
        await asyncio.sleep(0.02)


def _checked_out(app: FastAPI) -> int:
    upstream = app.state.gateway.upstream
    return int(upstream.checked_out()) + int(upstream.in_use)


async def _open(base: str, head: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head.encode())
    await writer.drain()
    return reader, writer


def _head(method: str, target: str, caller: Caller, extra: str = "") -> str:
    authorization = caller.headers["Authorization"]
    return f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {authorization}\r\n{extra}\r\n"


def _last(standin: StandIn, method: str, path: str) -> Received:
    return [seen for seen in standin.requests_to(path) if seen.method == method][-1]


async def test_leaving_before_lbasedb_answers(
    served: tuple[str, FastAPI], lbasedb: tuple[str, StandIn], people: People
) -> None:
    base, app = served
    standin = lbasedb[1]
    standin.clear()
    caller = await people.caller()
    standin.add_fault("delay", path="/version", seconds=3)
    _, writer = await _open(base, _head("GET", "/gateway/lbasedb/version", caller))
    await _eventually(lambda: bool(standin.requests_to("/version")), "the request reached the stand-in")
    writer.close()
    await _eventually(lambda: standin.requests_to("/version")[-1].peer_gone, "the stand-in saw the abort")
    await _eventually(lambda: _checked_out(app) == 0, "no upstream connection checked out")
    assert standin.requests_to("/version")[-1].answer_complete is False


async def test_leaving_mid_download(
    served: tuple[str, FastAPI], lbasedb: tuple[str, StandIn], people: People
) -> None:
    base, app = served
    standin = lbasedb[1]
    standin.clear()
    feed, caller = await _big_feed(standin, people)
    target = f"/gateway/lbasedb/bytes?feed={feed}&ix=0&size={ROWS}&col[]=b"
    reader, writer = await _open(base, _head("GET", target, caller))
    received = 0
    while received < 2 << 20:
        received += len(await reader.read(1 << 16))
    writer.transport.abort()
    await _eventually(lambda: _last(standin, "GET", "/bytes").peer_gone, "the stand-in saw the abort")
    await _eventually(lambda: _checked_out(app) == 0, "no upstream connection checked out")
    assert _last(standin, "GET", "/bytes").answer_complete is False


async def test_leaving_mid_upload(
    served: tuple[str, FastAPI], lbasedb: tuple[str, StandIn], people: People
) -> None:
    base, app = served
    standin = lbasedb[1]
    standin.clear()
    feed, caller = await _big_feed(standin, people)
    target = f"/gateway/lbasedb/bytes?feed={feed}&col[]=b"
    _, writer = await _open(base, _head("POST", target, caller, extra=f"Content-Length: {ROWS * ROW}\r\n"))
    for _ in range(8):
        writer.write(bytes(1 << 20))
        await writer.drain()
    # The body streams: Lbasedb has bytes of it while the caller is still sending.
    await _eventually(
        lambda: bool(standin.requests_to("/bytes")) and standin.requests_to("/bytes")[-1].body_bytes > 0,
        "the upload's first bytes reached the stand-in",
    )
    writer.transport.abort()
    await _eventually(lambda: _last(standin, "POST", "/bytes").peer_gone, "the stand-in saw the abort")
    await _eventually(lambda: _checked_out(app) == 0, "no upstream connection checked out")
    assert _last(standin, "POST", "/bytes").body_complete is False
    assert standin.store.size_get(feed) == ROWS  # nothing appended


async def test_answers_stream_as_lbasedb_sends_them(
    served: tuple[str, FastAPI], lbasedb: tuple[str, StandIn], people: People
) -> None:
    base, app = served
    standin = lbasedb[1]
    standin.clear()
    feed, caller = await _big_feed(standin, people)
    standin.add_fault("drip", path="/bytes", seconds=0.05, drip_bytes=64 << 10)
    url = f"/gateway/lbasedb/bytes?feed={feed}&ix=0&size=64&col[]=b"
    pieces: list[bytes] = []
    complete_at_first_piece = True
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        http.stream("GET", url, headers=caller.headers) as answer,
    ):
        async for chunk in answer.aiter_raw():
            if not pieces:
                # The caller holds Lbasedb's first piece while Lbasedb is still dripping the rest.
                complete_at_first_piece = _last(standin, "GET", "/bytes").answer_complete
            pieces.append(chunk)
    assert complete_at_first_piece is False
    assert b"".join(pieces) == BLOCK[: 64 * ROW]
    await _eventually(lambda: _checked_out(app) == 0, "no upstream connection checked out")


async def test_an_answer_cut_by_lbasedb_is_cut_for_the_caller_too(
    served: tuple[str, FastAPI], lbasedb: tuple[str, StandIn], people: People
) -> None:
    base, app = served
    standin = lbasedb[1]
    standin.clear()
    feed, caller = await _big_feed(standin, people)
    standin.add_fault("abort", path="/bytes", after_bytes=3 << 20)
    received = 0
    headers: dict[str, str] = {}

    async def download() -> None:
        nonlocal received
        url = f"/gateway/lbasedb/bytes?feed={feed}&ix=0&size={ROWS}&col[]=b"
        async with http.stream("GET", url, headers=caller.headers) as answer:
            headers.update(answer.headers)
            async for chunk in answer.aiter_raw():
                received += len(chunk)

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await download()
    assert headers["content-length"] == str(ROWS * ROW)
    assert 0 < received < ROWS * ROW
    await _eventually(lambda: _checked_out(app) == 0, "no upstream connection checked out")


async def test_64_mixed_callers_at_once(
    served: tuple[str, FastAPI], lbasedb: tuple[str, StandIn], people: People
) -> None:
    base, app = served
    standin = lbasedb[1]
    standin.clear()
    feed, _ = await _big_feed(standin, people)
    callers = [await people.caller() for _ in range(8)]
    own_feeds = []
    for index, caller in enumerate(callers):
        await people.grant(feed, "read", user=caller.user_id)
        own = feed_name(f"own{index}")
        standin.store.feed_add(own)
        standin.store.col_add(own, "v", "Int64")
        await people.grant(own, "write", user=caller.user_id)
        own_feeds.append(own)
    expected = hashlib.sha256(standin.store.feeds[feed].cols["b"].data[: 1024 * ROW]).hexdigest()

    async def one(index: int, http: httpx.AsyncClient) -> None:
        caller, own = callers[index % 8], own_feeds[index % 8]
        kind = index % 4
        if kind == 0:
            assert (await http.get("/gateway/lbasedb/version", headers=caller.headers)).status_code == 200
        elif kind == 1:
            digest = hashlib.sha256()
            async with http.stream(
                "GET", f"/gateway/lbasedb/bytes?feed={feed}&ix=0&size=1024&col[]=b", headers=caller.headers
            ) as answer:
                async for chunk in answer.aiter_raw():
                    digest.update(chunk)
            assert digest.hexdigest() == expected
        elif kind == 2:
            answer = await http.post(
                f"/gateway/lbasedb/data?feed={own}", json={"v": [index]}, headers=caller.headers
            )
            assert answer.status_code == 204, answer.text
        else:
            refused = await http.patch(
                f"/gateway/lbasedb/data?feed={feed}&ix=0", json={"b": []}, headers=caller.headers
            )
            assert refused.status_code == 403

    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        await asyncio.gather(*(one(index, http) for index in range(64)))
    appended = sorted(
        v
        for own in own_feeds
        for v in standin.store.data_get(own, 0, standin.store.size_get(own), ["v"])["v"]
    )
    assert appended == sorted(index for index in range(64) if index % 4 == 2)
    await _eventually(lambda: _checked_out(app) == 0, "no upstream connection checked out")
