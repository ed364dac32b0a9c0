"""The stand-in's HTTP/1.1 server: whole-body buffering like actix, failure modes, and a record.

A small server on asyncio streams rather than an ASGI app, because the failure modes need what
ASGI cannot express: dropping a connection without an answer (a Rust panic), cutting a body
mid-way, sending hop-by-hop headers as they are. Every request is recorded (headers as received,
body length and SHA-256, whether the body and the answer were complete), so tests can see what
reached Lbasedb — and what did not.

Control routes for tests that run the stand-in in another process (never forwarded by the
gateway, which knows only Lbasedb's paths): `PUT /__standin__/faults` (a JSON list of faults),
`GET /__standin__/requests` (the record), `DELETE /__standin__/requests` (clear it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import secrets
import socket
import time
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

import orjson

from tests.support.lbasedb.parsing import ActixError
from tests.support.lbasedb.routes import JSON_BODIES, ROUTES, Answer, Request, json_answer
from tests.support.lbasedb.store import LbasedbError, Panic, Store

DEFAULT_PAYLOAD_LIMIT = 1 << 30  # Lbasedb's PAYLOAD_LIMIT default
CHUNK = 1 << 20
CONTROL = "/__standin__/"


@dataclass
class Fault:
    """A failure mode applied to matching requests.

    kinds: `drop` (close without answering), `delay` (wait `seconds` before the headers), `drip`
    (send the body in `drip_bytes` pieces, `seconds` apart), `abort` (cut the connection after
    `after_bytes` of the body), `chunked`, `gzip`, `cookie` (a Set-Cookie), `hop` (hop-by-hop headers).
    """

    kind: str
    path: str | None = None
    method: str | None = None
    times: int | None = None  # None: until cleared
    seconds: float = 0.0
    after_bytes: int = 0
    drip_bytes: int = 1024

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path == path) and (self.method is None or self.method == method)


@dataclass
class Received:
    """One request as the stand-in saw it."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body_bytes: int = 0
    body_sha256: str = hashlib.sha256().hexdigest()
    body_complete: bool = False
    status: int | None = None  # None: no answer was sent (dropped)
    answer_complete: bool = False
    peer_gone: bool = False  # the client closed the connection before the exchange ended
    at: float = field(default_factory=time.time)

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive)."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def header_names(self) -> set[str]:
        return {key.lower() for key, _ in self.headers}


class _ClientGone(Exception):
    pass


class StandIn:
    """One Lbasedb stand-in: its data, its failure modes and its record of requests."""

    def __init__(self, *, payload_limit: int = DEFAULT_PAYLOAD_LIMIT) -> None:
        self.store = Store()
        self.payload_limit = payload_limit
        self.faults: list[Fault] = []
        self.received: list[Received] = []
        self.open_connections = 0

    # what tests use
    def add_fault(self, kind: str, **options: Any) -> Fault:
        fault = Fault(kind, **options)
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Forget the faults and the record (not the data)."""
        self.faults.clear()
        self.received.clear()

    def requests_to(self, path: str) -> list[Received]:
        return [item for item in self.received if item.target.split("?")[0] == path]

    def _faults_for(self, method: str, path: str) -> dict[str, Fault]:
        active: dict[str, Fault] = {}
        for fault in list(self.faults):
            if fault.matches(method, path) and fault.kind not in active:
                active[fault.kind] = fault
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
        return active

    # the connection loop
    async def serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.open_connections += 1
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, _ClientGone, asyncio.LimitOverrunError):
            pass
        finally:
            self.open_connections -= 1
            writer.transport.abort() if writer.transport.is_closing() else writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = [
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        ]
        lowered = {name.lower(): value for name, value in headers}
        path, _, query = target.partition("?")
        record = Received(method, target, headers)
        keep_alive = lowered.get("connection", "").lower() != "close"

        if path.startswith(CONTROL):
            body = await self._read_body(reader, lowered, record, limit=None)
            await self._send(reader, writer, self._control(method, path, bytes(body or b"")), {}, record)
            return keep_alive
        self.received.append(record)
        if len(self.received) > 10_000:
            del self.received[:5_000]

        declared = lowered.get("content-length")
        if "transfer-encoding" not in lowered and declared is not None and int(declared) > self.payload_limit:
            # actix refuses from the Content-Length, before reading (spec section 1)
            await self._send(reader, writer, self._too_large(method, path, int(declared)), {}, record)
            return False
        body = await self._read_body(reader, lowered, record, limit=self.payload_limit)
        if body is None:
            await self._send(reader, writer, self._too_large(method, path, None), {}, record)
            return False
        faults = self._faults_for(method, path)
        answer = self._answer(Request(method, path, query, lowered, body), faults)
        if answer is None:
            writer.transport.abort()
            return False
        try:
            return await self._send(reader, writer, answer, faults, record) and keep_alive
        except ConnectionError as exc:
            record.peer_gone = True
            raise _ClientGone from exc

    async def _read_body(
        self, reader: asyncio.StreamReader, headers: dict[str, str], record: Received, *, limit: int | None
    ) -> bytearray | None:
        """The whole body (None past `limit`); _ClientGone when the sender stops half-way."""
        body = bytearray()
        digest = hashlib.sha256()

        def take(piece: bytes) -> None:
            body.extend(piece)
            digest.update(piece)
            record.body_bytes = len(body)

        try:
            if "chunked" in headers.get("transfer-encoding", "").lower():
                while True:
                    size_line = await reader.readuntil(b"\r\n")
                    size = int(size_line.split(b";")[0].strip(), 16)
                    if size == 0:
                        while (await reader.readuntil(b"\r\n")) != b"\r\n":
                            pass  # trailers
                        break
                    remaining = size
                    while remaining:
                        piece = await reader.read(min(remaining, CHUNK))
                        if not piece:
                            record.peer_gone = True
                            raise _ClientGone
                        take(piece)
                        remaining -= len(piece)
                    await reader.readexactly(2)
                    if limit is not None and len(body) > limit:
                        return None
            else:
                remaining = int(headers.get("content-length", "0") or 0)
                while remaining:
                    piece = await reader.read(min(remaining, CHUNK))
                    if not piece:
                        record.peer_gone = True
                        raise _ClientGone
                    take(piece)
                    remaining -= len(piece)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            record.peer_gone = True
            raise _ClientGone from exc
        record.body_sha256 = digest.hexdigest()
        record.body_complete = True
        return body

    def _too_large(self, method: str, path: str, declared: int | None) -> Answer:
        if (method, path) in JSON_BODIES:
            size = f"({declared} bytes) " if declared is not None else ""
            text = f"JSON payload {size}is larger than allowed (limit: {self.payload_limit} bytes)."
        else:
            text = "A payload reached size limit."
        return Answer(413, [("content-type", "text/plain; charset=utf-8")], [text.encode()])

    def _answer(self, request: Request, faults: dict[str, Fault]) -> Answer | None:
        methods = ROUTES.get(request.path)
        if methods is None:
            return Answer(404)
        handler = methods.get(request.method)
        if handler is None:
            return Answer(405)
        if "drop" in faults:
            return None
        try:
            return handler(self.store, request)
        except LbasedbError as exc:
            return json_answer({"error": exc.kind, "detail": exc.detail}, 400)
        except ActixError as exc:
            return Answer(exc.status, [("content-type", "text/plain; charset=utf-8")], [exc.text.encode()])
        except Panic:
            return None

    async def _send(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        answer: Answer,
        faults: dict[str, Fault],
        record: Received,
    ) -> bool:
        """Write the answer as the faults say; False when the connection must close."""
        if "delay" in faults:
            # Wait, watching the connection: a client that gives up closes it (read returns b"").
            try:
                if not await asyncio.wait_for(reader.read(1), faults["delay"].seconds):
                    record.peer_gone = True
                    raise _ClientGone
            except TimeoutError:
                pass
        parts = answer.parts
        headers = [("date", formatdate(usegmt=True)), *answer.headers]
        if "gzip" in faults and parts:
            parts = [gzip.compress(b"".join(bytes(part) for part in parts), compresslevel=1, mtime=0)]
            headers.append(("content-encoding", "gzip"))
        chunked = "chunked" in faults and answer.status not in (204, 304)
        if chunked:
            headers.append(("transfer-encoding", "chunked"))
        elif answer.with_length:
            headers.append(("content-length", str(sum(len(part) for part in parts))))
        if "cookie" in faults:
            headers.append(("set-cookie", f"standin={secrets.token_hex(8)}; Path=/"))
        if "hop" in faults:
            headers += [
                ("connection", "keep-alive, x-hop"),
                ("x-hop", "named in Connection"),
                ("keep-alive", "timeout=5"),
                ("proxy-connection", "keep-alive"),
                ("proxy-authenticate", 'Basic realm="standin"'),
                ("trailer", "x-trail"),
                ("upgrade", "h2c"),
                ("te", "trailers"),
            ]
        reason = HTTPStatus(answer.status).phrase
        head = f"HTTP/1.1 {answer.status} {reason}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
        record.status = answer.status
        abort = faults.get("abort")
        drip = faults.get("drip")
        if not (chunked or abort or drip) and sum(len(part) for part in parts) <= CHUNK:
            # A small answer leaves in one write, as actix sends it (no head-then-body stall).
            writer.write(head.encode("latin-1") + b"".join(bytes(part) for part in parts))
            await writer.drain()
            record.answer_complete = True
            return True
        writer.write(head.encode("latin-1"))
        sent = 0
        for part in parts:
            view = memoryview(part)
            step = drip.drip_bytes if drip else CHUNK
            for start in range(0, len(view), step):
                piece = view[start : start + step]
                if abort is not None and sent + len(piece) > abort.after_bytes:
                    writer.write(piece[: max(abort.after_bytes - sent, 0)])
                    await writer.drain()
                    writer.transport.abort()
                    return False
                if chunked:
                    writer.write(f"{len(piece):x}\r\n".encode())
                    writer.write(piece)
                    writer.write(b"\r\n")
                else:
                    writer.write(piece)
                sent += len(piece)
                await writer.drain()
                if drip:
                    await asyncio.sleep(drip.seconds)
        if chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        record.answer_complete = True
        return True

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        if path == CONTROL + "faults" and method == "PUT":
            self.faults = [Fault(**item) for item in orjson.loads(body or b"[]")]
            return Answer(204, with_length=False)
        if path == CONTROL + "requests" and method == "GET":
            return json_answer([asdict(item) for item in self.received])
        if path == CONTROL + "requests" and method == "DELETE":
            self.received.clear()
            return Answer(204, with_length=False)
        if path == CONTROL + "connections" and method == "GET":
            return json_answer({"open": self.open_connections})
        return Answer(404)


async def start(standin: StandIn, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Listen for the stand-in on host:port (0: a free port)."""
    return await asyncio.start_server(standin.serve_connection, host, port, limit=1 << 20, backlog=1024)


def run_forever(host: str, port: int, *, payload_limit: int = DEFAULT_PAYLOAD_LIMIT) -> None:
    """Serve until interrupted (uvloop when installed)."""

    async def main() -> None:
        server = await start(StandIn(payload_limit=payload_limit), host, port)
        print(f"Lbasedb stand-in listening on http://{host}:{port}", flush=True)
        async with server:
            await server.serve_forever()

    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(main())
