"""httpx or aiohttp as the gateway's upstream client: the same workload through each, on the stand-in.

Each client is set up as the gateway needs it (no cookie jar, no decompression, a pool of 100
connections, raw chunks of 64 KiB) and runs, against one stand-in process:
- `GET /version` from 64 concurrent tasks for a few seconds (requests per second);
- a 300 MB `GET /bytes` read as it streams (MB/s);
- a 300 MB `PATCH /bytes` sent from an async generator with its Content-Length (MB/s).

    .venv/bin/python -m bench.gateway.clients [--seconds 5] [--megabytes 300]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import uvloop

from bench.common import record
from bench.gateway.standin import ROW, block, load_bytes_feed, standin_process

CHUNK = 1 << 16
FEED = "bench.clients"


async def _generate(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK):
        yield bytes(view[start : start + CHUNK])


class HttpxClient:
    name = "httpx"

    def __init__(self) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        self.client = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(300, connect=5))

    async def small(self, url: str) -> int:
        response = await self.client.send(self.client.build_request("GET", url), stream=True)
        try:
            async for _ in response.aiter_raw():
                pass
            return response.status_code
        finally:
            await response.aclose()

    async def download(self, url: str) -> int:
        total = 0
        response = await self.client.send(self.client.build_request("GET", url), stream=True)
        try:
            async for chunk in response.aiter_raw(CHUNK):
                total += len(chunk)
        finally:
            await response.aclose()
        return total

    async def upload(self, url: str, data: bytes) -> int:
        request = self.client.build_request(
            "PATCH", url, content=_generate(data), headers={"content-length": str(len(data))}
        )
        response = await self.client.send(request, stream=True)
        await response.aclose()
        return response.status_code

    async def close(self) -> None:
        await self.client.aclose()


class AiohttpClient:
    name = "aiohttp"

    def __init__(self) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, connect=5, sock_read=300),
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        )

    async def small(self, url: str) -> int:
        response = await self.session.request("GET", url)
        try:
            async for _ in response.content.iter_chunked(CHUNK):
                pass
            return response.status
        finally:
            response.release()

    async def download(self, url: str) -> int:
        total = 0
        response = await self.session.request("GET", url)
        try:
            async for chunk in response.content.iter_chunked(CHUNK):
                total += len(chunk)
        finally:
            response.release()
        return total

    async def upload(self, url: str, data: bytes) -> int:
        response = await self.session.request(
            "PATCH", url, data=_generate(data), headers={"content-length": str(len(data))}
        )
        response.release()
        return response.status

    async def close(self) -> None:
        await self.session.close()


async def _rate(call: Callable[[], Awaitable[int]], seconds: float, tasks: int) -> dict[str, Any]:
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            assert await call() == 200
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    elapsed = time.perf_counter() - began
    return {"requests": done, "rps": round(done / elapsed, 1)}


async def measure(base: str, seconds: float, megabytes: int, rows: int) -> dict[str, Any]:
    data = block(megabytes)
    results: dict[str, Any] = {}
    for kind in (HttpxClient, AiohttpClient):
        client = kind()
        try:
            small = await _rate(lambda: client.small(f"{base}/version"), seconds, 64)  # noqa: B023
            began = time.perf_counter()
            received = await client.download(f"{base}/bytes?feed={FEED}&ix=0&size={rows}&col[]=b")
            down_s = time.perf_counter() - began
            assert received == len(data)
            began = time.perf_counter()
            assert await client.upload(f"{base}/bytes?feed={FEED}&ix=0&col[]=b", data) == 204
            up_s = time.perf_counter() - began
        finally:
            await client.close()
        results[kind.name] = {
            "version_rps_64_tasks": small["rps"],
            "download_mb_s": round(len(data) / down_s / 1e6, 1),
            "upload_mb_s": round(len(data) / up_s / 1e6, 1),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--megabytes", type=int, default=300)
    options = parser.parse_args()
    with standin_process() as (base, _):
        rows = load_bytes_feed(base, FEED, options.megabytes)
        assert rows * ROW == options.megabytes << 20
        results = uvloop.run(measure(base, options.seconds, options.megabytes, rows))
    path = record("gateway_clients", {"megabytes": options.megabytes, "results": results})
    for name, numbers in results.items():
        print(
            f"{name}: GET /version {numbers['version_rps_64_tasks']} req/s (64 tasks), "
            f"300 MB GET {numbers['download_mb_s']} MB/s, PATCH {numbers['upload_mb_s']} MB/s"
        )
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
