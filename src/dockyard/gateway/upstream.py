"""The connection to Lbasedb: one aiohttp session per worker, and its errors in Dockyard's terms.

aiohttp was chosen over httpx by measurement (bench/README.md, "Gateway"). The session keeps no
cookies (a `Set-Cookie` from Lbasedb is never replayed for another caller, section 4.8), never
decompresses (bytes pass through as they came, section 4.7), and adds no headers of its own.
Its failures are translated at one seam, `translated_errors`: no connection → 502, a timeout
→ 504, a connection dropped before the answer (a Lbasedb panic) → 502.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiohttp
import yarl

from dockyard.core.errors import DockyardError, GatewayTimeout
from dockyard.gateway import metrics
from dockyard.gateway.errors import BadGateway
from dockyard.gateway.settings import GatewaySettings

CHUNK = 1 << 16  # section 4.11: 64 KiB reads


class Upstream:
    """Lbasedb at `base_url`, reached through a pooled session."""

    def __init__(self, base_url: str, settings: GatewaySettings) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = self.base_url.split("://", 1)[1].split("/", 1)[0]
        self.connector = aiohttp.TCPConnector(limit=settings.pool_size, enable_cleanup_closed=True)
        self.session = aiohttp.ClientSession(
            connector=self.connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=settings.connect_timeout_s,
                sock_connect=settings.connect_timeout_s,
                sock_read=settings.read_timeout_s,
            ),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )
        self.in_use = 0  # requests holding a connection, from send to close

    def checked_out(self) -> int:
        """Connections the pool has handed out and not taken back."""
        acquired = getattr(self.connector, "_acquired", None)
        return len(acquired) if acquired is not None else self.in_use

    @asynccontextmanager
    async def request(
        self, method: str, target: str, headers: dict[str, str], body: Any = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Lbasedb's answer, open for the whole block and closed on every way out of it.

        Closing is synchronous here (aiohttp drops or returns the connection without awaiting),
        so a cancellation — a caller gone mid-answer — cannot skip it.
        """
        self.in_use += 1
        metrics.UPSTREAM_IN_USE.inc()
        response: aiohttp.ClientResponse | None = None
        try:
            with translated_errors(), metrics.UPSTREAM_LATENCY.labels(method).time():
                # The target is the canonical query, sent as built: `col[]` stays literal (section 4.10).
                url = yarl.URL(self.base_url + target, encoded=True)
                response = await self.session.request(
                    method, url, headers=headers, data=body, allow_redirects=False
                )
            yield response
        finally:
            if response is not None:
                if response.content.at_eof():
                    response.release()
                else:
                    response.close()
            self.in_use -= 1
            metrics.UPSTREAM_IN_USE.dec()

    async def close(self) -> None:
        await self.session.close()


@contextmanager
def translated_errors() -> Iterator[None]:
    """aiohttp's and the socket's errors as BadGateway (502) or GatewayTimeout (504)."""
    try:
        yield
    except DockyardError:
        raise
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise GatewayTimeout("Lbasedb did not answer in time; try again, or narrow the request.") from exc
    except aiohttp.ClientConnectorError as exc:
        raise BadGateway("Lbasedb cannot be reached; try again shortly.") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise BadGateway("Lbasedb broke off the connection without a complete answer.") from exc


async def chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The answer's bytes as they arrive, untouched (still gzip if Lbasedb's were)."""
    while True:
        with translated_errors():
            chunk = await response.content.readany()
        if not chunk:
            return
        yield chunk


async def read_small(response: aiohttp.ClientResponse, *, limit: int) -> bytes:
    """The whole of a small answer (a feed or column list); BadGateway past `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks(response):
        size += len(chunk)
        if size > limit:
            raise BadGateway(f"Lbasedb's list is larger than GATEWAY_LIST_MAX_BYTES ({limit} bytes).")
        parts.append(chunk)
    return b"".join(parts)
