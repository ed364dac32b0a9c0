"""What the data routes do once a request is allowed: forward it, and stream both ways.

Three shapes: `stream` (everything with data: bodies flow to Lbasedb and back as they come),
`filtered_list` (GET /feed and GET /col: Lbasedb's small list, kept to what the caller may read),
and `schema_change` (feed and column creates, renames and deletes: small bodies, and grants that
follow the change before the caller hears back). Lbasedb's answer is held for the whole call and
closed on every way out; a caller leaving once its body is read cancels the work (`until_disconnect`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from dockyard.core.db import translated_errors
from dockyard.core.errors import DockyardError, ServiceUnavailable
from dockyard.gateway import headers as hop
from dockyard.gateway import service
from dockyard.gateway.audit import AuditRecord
from dockyard.gateway.bodies import ClientGone, RequestBody
from dockyard.gateway.operations import Operation, Query, feed_of
from dockyard.gateway.rights import Rights, is_name
from dockyard.gateway.runtime import GatewayRuntime
from dockyard.gateway.upstream import chunks, read_small

logger = logging.getLogger(__name__)

SMALL_BODY = 64 << 10  # feed and column names: the bodies the gateway reads whole
WATCH_AFTER_S = 0.05  # how long a request runs before a task watches for its caller leaving


@dataclass
class Exchange:
    """One request's state, shared by the steps below and ending in its audit record."""

    scope: Scope
    receive: Receive
    send: Send
    runtime: GatewayRuntime
    record: AuditRecord
    started: bool = False

    async def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.started = True
        self.record.status = status
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def body(self, chunk: bytes, *, more: bool) -> None:
        self.record.bytes_out += len(chunk)
        await self.send({"type": "http.response.body", "body": chunk, "more_body": more})

    async def whole(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        if status in (204, 304):
            body = b""  # no Content-Length either, as Lbasedb answers them
        else:
            headers = [*headers, (b"content-length", str(len(body)).encode())]
        await self.start(status, headers)
        await self.body(body, more=False)


def header_values(scope: Scope, name: bytes) -> list[bytes]:
    """Every value of header `name` (lowercase bytes) in the request."""
    return [value for key, value in scope["headers"] if key.lower() == name]


def content_length(scope: Scope) -> int | None:
    """The request's Content-Length, if it has one."""
    values = header_values(scope, b"content-length")
    return int(values[0]) if values and values[0].isdigit() else None


def _actor(exchange: Exchange) -> dict[str, Any]:
    record = exchange.record
    return {
        "user_id": record.user_id,
        "token_id": record.token_id,
        "client": record.client,
        "request_id": record.request_id,
    }


def _upstream_headers(exchange: Exchange, *, with_body: bool, **replace: str) -> dict[str, str]:
    """Headers for Lbasedb; without the body's own headers when the caller's body is not what is sent."""
    runtime = exchange.runtime
    assert runtime.upstream is not None
    sent = hop.upstream_request(
        list(exchange.scope["headers"]),
        host=runtime.upstream.host,
        client=exchange.record.client,
        request_id=exchange.record.request_id,
    )
    if not with_body:
        sent.pop("content-length", None)
        sent.pop("content-type", None)
    sent.update(replace)
    return sent


def _target(op: Operation, query: Query) -> str:
    canonical = query.canonical(op)
    return op.path + ("?" + canonical if canonical else "")


async def _drain_empty_body(exchange: Exchange) -> RequestBody:
    body = RequestBody(exchange.receive, limit=0)
    await body.read_all(limit=0)
    return body


def _json_name(body: bytes, content_type: str | None) -> str:
    """The `name` of a small JSON body, refused as Lbasedb's actix would refuse it (plain text)."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if not (mime == "application/json" or mime.endswith("+json")):
        raise _PlainText("Content type error")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _PlainText(f"Json deserialize error: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("name"), str):
        raise _PlainText("Json deserialize error: expected an object with a string field `name`")
    name: str = document["name"]
    if not is_name(name):
        raise _LbasedbRefusal(orjson.dumps({"error": "invalid input parameter", "detail": name}))
    return name


class _PlainText(DockyardError):
    """An actix extractor refusal, answered as actix does: 400 text/plain."""

    status = 400


class _LbasedbRefusal(DockyardError):
    """A refusal in Lbasedb's exact body."""

    status = 400

    def __init__(self, body: bytes) -> None:
        super().__init__(body.decode())
        self.body = body


async def schema_change(exchange: Exchange, op: Operation, query: Query) -> None:
    """Feed and column creates, renames and deletes: small bodies, and grants that follow the change.

    A new name is read from the body, checked, and sent in a canonical body of the gateway's own;
    once Lbasedb confirms, grants follow before the caller hears back.
    """
    runtime = exchange.runtime
    assert runtime.upstream is not None
    body = RequestBody(exchange.receive, limit=runtime.settings.max_body)
    raw = await body.read_all(limit=SMALL_BODY)
    exchange.record.bytes_in = body.received
    new_name: str | None = None
    payload: bytes | None = None
    replace: dict[str, str] = {}
    if op.reads_body:
        content_type = Request(exchange.scope).headers.get("content-type")
        try:
            new_name = _json_name(raw, content_type)
        except _PlainText as exc:
            exchange.record.reason = exc.detail
            await exchange.whole(400, [(b"content-type", b"text/plain; charset=utf-8")], exc.detail.encode())
            return
        except _LbasedbRefusal as exc:
            exchange.record.reason = "invalid name"
            await exchange.whole(400, [(b"content-type", b"application/json")], exc.body)
            return
        payload = orjson.dumps({"name": new_name})
        replace = {"content-type": "application/json", "content-length": str(len(payload))}
        if op.route == "POST /feed":
            exchange.record.feed = new_name
    sent = _upstream_headers(exchange, with_body=payload is not None, **replace)
    async with runtime.upstream.request(op.method, _target(op, query), sent, payload) as response:
        exchange.record.upstream_status = response.status
        answer = await read_small(response, limit=runtime.settings.list_max_bytes)
    if response.status in (201, 204):
        await _follow(exchange, op, query, new_name)
    await exchange.whole(response.status, _answer_headers(response, drop_length=True), answer)


async def _follow(exchange: Exchange, op: Operation, query: Query, new_name: str | None) -> None:
    """Grants follow what Lbasedb just did; a failure here is a 503 that says what happened."""
    try:
        with translated_errors():
            async with exchange.runtime.db().primary.acquire() as conn, conn.transaction():
                done = await service.follow_change(conn, op, query, new_name=new_name, actor=_actor(exchange))
    except DockyardError as exc:
        logger.error("gateway.grants_not_followed", extra={"route": op.route, "feed": exchange.record.feed})
        raise ServiceUnavailable(
            f"Lbasedb did {op.route}, but its grants could not be updated ({exc.detail}); a gateway "
            "administrator must fix them with `dockyard gateway grant|revoke`."
        ) from exc
    if done:
        exchange.record.reason += f"; {done}"


def _answer_headers(response: Any, *, drop_length: bool = False) -> list[tuple[bytes, bytes]]:
    kept = hop.caller_response(
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in response.raw_headers
    )
    if drop_length:
        kept = [(name, value) for name, value in kept if name != b"content-length"]
    if not any(name == b"cache-control" for name, _ in kept):
        # The app's gzip layer must leave Lbasedb's bytes as they are (section 4.7).
        kept.append((b"cache-control", b"no-transform"))
    return kept


async def filtered_list(exchange: Exchange, op: Operation, query: Query, rights: Rights) -> None:
    """GET /feed and GET /col: Lbasedb's list, keeping only what the caller may read."""
    runtime = exchange.runtime
    assert runtime.upstream is not None
    await _drain_empty_body(exchange)
    sent = _upstream_headers(exchange, with_body=False)
    async with runtime.upstream.request(op.method, _target(op, query), sent) as response:
        exchange.record.upstream_status = response.status
        listing = await read_small(response, limit=runtime.settings.list_max_bytes)
        encoded = response.headers.get("content-encoding")
    if response.status != 200 or encoded:
        await exchange.whole(response.status, _answer_headers(response, drop_length=True), listing)
        return
    feed = feed_of(op, query)
    kept = (
        service.filter_feeds(listing, rights)
        if feed is None
        else service.filter_columns(listing, feed, rights)
    )
    await exchange.whole(200, _answer_headers(response, drop_length=True), kept)


async def stream(exchange: Exchange, op: Operation, query: Query, rights: Rights) -> None:
    """Everything else: the body streams to Lbasedb, its answer streams back."""
    runtime = exchange.runtime
    scope = exchange.scope
    has_body = content_length(scope) not in (None, 0) or bool(header_values(scope, b"transfer-encoding"))
    if service.needs_column_list(op, query, rights):
        await _check_every_column(exchange, op, query, rights)
    body = RequestBody(
        exchange.receive, limit=runtime.settings.max_body, check_key=service.key_check(op, query, rights)
    )
    if not has_body:
        await body.read_all(limit=0)
    try:
        await _until_disconnect(
            exchange, body, _exchange_bytes(exchange, op, query, body if has_body else None)
        )
    finally:
        exchange.record.bytes_in = body.received


async def _until_disconnect(exchange: Exchange, body: RequestBody, work: Coroutine[Any, Any, None]) -> None:
    """Run `work`; if the caller disconnects once its body is read, cancel it and raise ClientGone.

    (While the body streams, a disconnect reaches the body's reader instead.) The work runs in the
    request's own task; a watcher task that cancels it starts only once the work has lasted
    WATCH_AFTER_S: most small requests are over by then, and a task per request cost more of their
    CPU than anything else the gateway does. A caller leaving earlier is noticed that much later.
    """
    current = asyncio.current_task()
    assert current is not None
    gone = False
    watcher: asyncio.Task[None] | None = None

    async def watch() -> None:
        nonlocal gone
        await body.done.wait()
        while (await exchange.receive())["type"] != "http.disconnect":
            pass
        gone = True
        current.cancel()

    def start_watching() -> None:
        nonlocal watcher
        watcher = asyncio.ensure_future(watch())

    timer = asyncio.get_running_loop().call_later(WATCH_AFTER_S, start_watching)
    try:
        await work
    except asyncio.CancelledError:
        if gone and current.uncancel() == 0:  # our own cancellation, and no one else's
            raise ClientGone from None
        raise
    finally:
        timer.cancel()
        if watcher is not None:
            watcher.cancel()


async def _exchange_bytes(exchange: Exchange, op: Operation, query: Query, body: RequestBody | None) -> None:
    upstream = exchange.runtime.upstream
    assert upstream is not None
    sent = _upstream_headers(exchange, with_body=body is not None)
    try:
        async with upstream.request(op.method, _target(op, query), sent, body) as response:
            exchange.record.upstream_status = response.status
            await exchange.start(response.status, _answer_headers(response))
            if response.status in (204, 304):
                await exchange.body(b"", more=False)
                return
            async for chunk in chunks(response):
                await exchange.body(chunk, more=True)
            await exchange.body(b"", more=False)
    except DockyardError:
        if body is not None and body.refusal is not None and not exchange.started:
            raise body.refusal from None
        raise


async def _check_every_column(exchange: Exchange, op: Operation, query: Query, rights: Rights) -> None:
    """PUT with column-limited rights: every column Lbasedb lists must be writable by the caller."""
    upstream = exchange.runtime.upstream
    feed = feed_of(op, query)
    assert upstream is not None
    assert feed is not None
    sent = _upstream_headers(exchange, with_body=False)
    async with upstream.request("GET", f"/col?feed={feed}", sent) as response:
        listing = await read_small(response, limit=exchange.runtime.settings.list_max_bytes)
        status = response.status
    if status == 200:
        refusal = service.columns_refusal(op, feed, listing, rights)
        if refusal is not None:
            raise refusal
