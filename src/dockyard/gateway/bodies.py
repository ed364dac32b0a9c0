"""The caller's request body on its way to Lbasedb: streamed, limited, and scanned when rights are partial.

Nothing here holds a whole body. `RequestBody` hands chunks to the upstream client as they
arrive (uvicorn stops reading the socket while a chunk waits, so a slow upstream slows the caller
down instead of filling memory); it counts bytes against GATEWAY_MAX_BODY for chunked bodies, and,
when the caller may write only some columns, feeds each chunk to a `KeyScanner` *before* passing
it on. A forbidden key stops the body there: Lbasedb, which acts only on a complete body, is cut
off with part of it and commits nothing (section 3).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable

from starlette.types import Receive

from dockyard.core.errors import BadInput, DockyardError, PayloadTooLarge

MAX_KEY_BYTES = 1024  # longer keys cannot be column names (256 bytes) and are reported as such


class ClientGone(Exception):
    """The caller disconnected before its body was complete."""


class KeyScanner:
    """The top-level keys of a JSON object, found as its bytes arrive in any chunking.

    It follows only what decides where keys are: strings (with escapes), brackets and, at the top
    level, commas and colons. For valid JSON it finds exactly the keys a parser would; for
    anything that is not an object it stops with BadInput (Lbasedb would refuse that body too).
    """

    _DEEP = re.compile(rb'["\[\]{}]')
    _TOP = re.compile(rb'["\[\]{},:]|[^ \t\r\n]')
    _STRING_END = re.compile(rb'["\\]')

    def __init__(self) -> None:
        self.depth = 0
        self.started = False
        self.ended = False
        self.in_string = False
        self.escape = False
        self.expect_key = False
        self.key: bytearray | None = None  # the key being read, when in a key string

    def feed(self, chunk: bytes) -> list[str]:
        """The keys completed in this chunk."""
        keys: list[str] = []
        position, end = 0, len(chunk)
        while position < end:
            if self.in_string:
                position = self._string(chunk, position, keys)
                continue
            if self.ended:
                if chunk[position:].strip(b" \t\r\n"):
                    raise BadInput("The body has bytes after its JSON object.")
                return keys
            pattern = self._TOP if self.depth <= 1 else self._DEEP
            found = pattern.search(chunk, position)
            if found is None:
                return keys
            char = chunk[found.start()]
            position = found.end()
            self._structural(char, keys)
        return keys

    def _structural(self, char: int, keys: list[str]) -> None:
        if not self.started:
            if char != ord("{"):
                raise BadInput('The body must be a JSON object of columns, like {"x": [1, 2]}.')
            self.started, self.depth, self.expect_key = True, 1, True
            return
        if char == ord('"'):
            self.in_string = True
            if self.depth == 1 and self.expect_key:
                self.key = bytearray()
            return
        if char in (ord("{"), ord("[")):
            self.depth += 1
        elif char in (ord("}"), ord("]")):
            self.depth -= 1
            if self.depth == 0:
                self.ended = True
        elif self.depth == 1:
            if char == ord(","):
                self.expect_key = True
            elif char == ord(":"):
                self.expect_key = False

    def _string(self, chunk: bytes, position: int, keys: list[str]) -> int:
        if self.escape:
            self._take(chunk[position : position + 1])
            self.escape = False
            return position + 1
        found = self._STRING_END.search(chunk, position)
        if found is None:
            self._take(chunk[position:])
            return len(chunk)
        self._take(chunk[position : found.start()])
        if chunk[found.start()] == ord("\\"):
            self._take(b"\\")
            self.escape = True
            return found.end()
        self.in_string = False
        if self.key is not None:
            keys.append(self._finish_key())
        return found.end()

    def _take(self, piece: bytes) -> None:
        if self.key is not None and len(self.key) <= MAX_KEY_BYTES:
            self.key += piece

    def _finish_key(self) -> str:
        raw, self.key = self.key, None
        self.expect_key = False
        assert raw is not None
        if len(raw) > MAX_KEY_BYTES:
            return "\0(a key longer than any column name)"
        try:
            key: str = json.loads(b'"' + bytes(raw) + b'"')
        except ValueError as exc:
            raise BadInput("The body is not valid JSON: a key has a malformed escape.") from exc
        return key


class RequestBody:
    """The caller's body as an async iterator of chunks for the upstream client.

    `check_key`, when given, is called with every top-level key (the body is then scanned) and
    returns the refusal to raise, if any. After iteration stops early, `refusal` holds the reason:
    a DockyardError to answer the caller with, or ClientGone.
    """

    def __init__(
        self,
        receive: Receive,
        *,
        limit: int,
        check_key: Callable[[str], DockyardError | None] | None = None,
    ) -> None:
        self.receive = receive
        self.limit = limit
        self.check_key = check_key
        self.scanner = KeyScanner() if check_key is not None else None
        self.received = 0
        self.complete = False
        self.refusal: DockyardError | ClientGone | None = None
        self.done = asyncio.Event()  # set once the last chunk is read

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while not self.complete:
                chunk = await self.next_chunk()
                if chunk:
                    yield chunk
        except (DockyardError, ClientGone) as exc:
            self.refusal = exc
            raise

    async def next_chunk(self) -> bytes:
        """The next chunk, checked; sets `complete` after the last one."""
        message = await self.receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        self.received += len(chunk)
        if self.received > self.limit:
            raise PayloadTooLarge(
                f"The body is larger than this gateway accepts ({self.limit} bytes, GATEWAY_MAX_BODY)."
            )
        if self.scanner is not None and self.check_key is not None:
            for key in self.scanner.feed(chunk):
                refusal = self.check_key(key)
                if refusal is not None:
                    raise refusal
        if not message.get("more_body", False):
            self.complete = True
            self.done.set()
        return chunk

    async def read_all(self, *, limit: int) -> bytes:
        """The whole (small) body; PayloadTooLarge past `limit` bytes."""
        parts = []
        while not self.complete:
            parts.append(await self.next_chunk())
            if self.received > limit:
                raise PayloadTooLarge(f"This route takes a small JSON body (at most {limit} bytes).")
        return b"".join(parts)
