"""Request-body size limits, enforced before a handler reads a byte too many.

A declared Content-Length over the limit is refused at once, without reading the body; a body
without one (chunked) is counted while it is received and refused the moment it passes the limit.
Either way the client gets 413 in the path's error style. The default is MAX_BODY_BYTES; a service
raises it for its own paths with `Service.body_limits`, or sets None where its routes stream the
body and enforce a limit of their own.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.core.errors import BadInput, PayloadTooLarge


def _mebibytes(size: int) -> str:
    return f"{size / 1048576:.1f} MiB" if size >= 1048576 else f"{size} bytes"


class BodyLimitMiddleware:
    """Refuse request bodies over the limit of their path with 413."""

    def __init__(self, app: ASGIApp, *, default: int, limits: Mapping[str, int | None]) -> None:
        self.app = app
        self.default = default
        # Longest prefix first, so /gateway/lbasedb wins over /gateway.
        self.limits = sorted(limits.items(), key=lambda item: len(item[0]), reverse=True)

    def limit_for(self, path: str) -> int | None:
        """The body limit of `path` (None: its routes enforce their own)."""
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            raise PayloadTooLarge(
                f"The request body is {_mebibytes(declared)}; this route accepts at most {_mebibytes(limit)}."
            )
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException, because FastAPI turns anything else raised while it reads a
                    # body into "400: error parsing the body".
                    raise HTTPException(
                        413, f"The request body passed {_mebibytes(limit)}, the most this route accepts."
                    )
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit():
                raise BadInput("Content-Length must be a whole number of bytes.")
            return int(text)
    return None
