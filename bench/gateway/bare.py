"""The floor under any Python gateway on this machine: uvicorn and aiohttp forwarding, nothing else.

No authentication, no checks, no middleware, no metrics, no audit: `GET /<path>` is sent to the
upstream and its answer returned whole. Served exactly as `dockyard serve` serves the gateway
(uvicorn, uvloop, httptools, one worker) and with the gateway's aiohttp session settings, its rate
is what the server and the client library alone allow — the ceiling for the gateway's own.

    .venv/bin/python -m bench.gateway.bare --upstream http://127.0.0.1:8080 --port 8090
"""

from __future__ import annotations

import argparse
from typing import Any

import aiohttp
import uvicorn
import yarl


class BareProxy:
    """An ASGI app that forwards every GET to `upstream` and answers with its whole body."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self.session is not None
        target = scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        url = yarl.URL(self.upstream + target, encoded=True)
        async with self.session.request(scope["method"], url, allow_redirects=False) as answer:
            body = await answer.read()
            headers = [
                (b"content-type", answer.headers.get("content-type", "application/octet-stream").encode()),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": answer.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=100),
                    cookie_jar=aiohttp.DummyCookieJar(),
                    auto_decompress=False,
                    skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.session is not None:
                    await self.session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args()
    uvicorn.run(
        BareProxy(options.upstream),
        host="127.0.0.1",
        port=options.port,
        log_config=None,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
