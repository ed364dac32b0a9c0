"""CPU time the app spends per request, in process, whatever else the machine is doing.

    DATABASE_URL=… python -m bench.ihr.cpu [--requests 3000]

Builds the app (SERVICES=ihr) and calls it through ASGI as a server would, without a network, a
server or a client library, counting the process's CPU time (not wall time, so other load on the
host does not inflate it):
- `healthz`: the middleware chain alone (request id, metrics and access log, security headers,
  gzip check, CORS, error boundary, request budget) around a route that touches nothing;
- `cached_page`: a repeated IHR page answered from the page cache (the response path: plan,
  canonical key, lookup, ETag);
- `uncached_1h`: random one-hour hegemony windows with the cache off (adds asyncpg's client side).
Writes bench/results/ihr_cpu.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import time
from typing import Any

from asgi_lifespan import LifespanManager
from bench.common import record
from bench.ihr.__main__ import REPEATED, _sample
from bench.ihr.mix import hegemony_1h

from dockyard import ihr
from dockyard.app import create_app
from dockyard.core.config import Settings
from dockyard.ihr.settings import IhrSettings


async def _call(app: Any, target: str) -> int:
    """One GET through the ASGI app, as a server hands it over; the answer's status."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = iter([{"type": "http.request", "body": b"", "more_body": False}])
    status = 0

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _measure(url: str, paths: list[str], requests: int, *, cache_ttl_s: int) -> dict[str, float]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=url, jwt_secret=secrets.token_urlsafe(48), log_level="WARNING"
    )
    given = [IhrSettings(_env_file=None, cache_ttl_s=cache_ttl_s)]  # type: ignore[call-arg]
    app = create_app(settings, services=(ihr.service,), service_settings=given, configure_logs=False)
    async with LifespanManager(app) as manager:
        for path in paths[:50]:  # warm-up
            if await _call(manager.app, path) != 200:
                raise SystemExit(f"{path} did not answer 200")
        cpu, wall = time.process_time(), time.perf_counter()
        for index in range(requests):
            await _call(manager.app, paths[index % len(paths)])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "requests": requests,
        "cpu_us_per_request": round(cpu / requests * 1e6, 1),
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    sample = asyncio.run(_sample(url))
    windows = hegemony_1h(sample, random.Random(7), 5000)
    result: dict[str, Any] = {
        "healthz": asyncio.run(_measure(url, ["/healthz"], args.requests, cache_ttl_s=0)),
        "cached_page": asyncio.run(_measure(url, [REPEATED], args.requests, cache_ttl_s=86_400)),
        "uncached_1h": asyncio.run(_measure(url, windows, args.requests // 3, cache_ttl_s=0)),
        "note": "CPU of the app alone, called through ASGI as a server calls it (no client, no server)",
    }
    for name, measured in result.items():
        print(f"{name}: {measured}")
    print(f"recorded {record('ihr_cpu', result)}")


if __name__ == "__main__":
    main()
