"""The gateway against the stand-in directly, one worker each, on the same machine.

- `GET /version` requests per second (wrk, 64 connections), and the latency a request gains
  through the gateway (p50/p99 at one connection, `GET /version` and `GET /size`);
- a 36 MB JSON `GET /data` (1M rows of 2 Float64 columns, as in the system this replaces) and the same
  body sent back with `PATCH /data`;
- 300 MB `GET /bytes` and `POST /bytes`, with the gateway worker's RSS growth while they pass;
- the floor: `GET /version` through a bare uvicorn + aiohttp proxy with no checks at all
  (`bench/gateway/bare.py`), the most any Python gateway served this way can reach here.

The caller is a superuser with an API token (authentication costs one query per request, as in
production). Needs DATABASE_URL (a migrated database; `dockyard db migrate`).

    DATABASE_URL=… .venv/bin/python -m bench.gateway.throughput [--seconds 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx
import psutil

from bench.common import free_port, load, record
from bench.gateway.standin import (
    ROW,
    answering_process,
    block,
    load_bytes_feed,
    load_json_feed,
    standin_process,
)
from dockyard.accounts.tokens import API_TOKEN_PREFIX, digest, new_secret

DOCKYARD = str(os.path.join(os.path.dirname(sys.executable), "dockyard"))
JSON_FEED = "bench.json"
BYTES_FEED = "bench.bytes"
JSON_ROWS = 1_000_000
MEGABYTES = 300
MIB = 1 << 20


async def _api_token(database_url: str, email: str, *, superuser: bool, read_feed: str | None = None) -> str:
    """A new API token of the user `email` (created if needed), with `read` on `read_feed` if given."""
    conn = await asyncpg.connect(database_url)
    try:
        user_id = await conn.fetchval(
            "INSERT INTO accounts.users (email, email_verified_at, is_superuser) VALUES ($1, now(), $2) "
            "ON CONFLICT (lower(email)) DO UPDATE SET is_superuser = $2 RETURNING id",
            email,
            superuser,
        )
        if read_feed is not None:
            await conn.execute(
                "INSERT INTO gateway.grants (user_id, feed, level) VALUES ($1, $2, 'read') "
                "ON CONFLICT DO NOTHING",
                user_id,
                read_feed,
            )
        token = new_secret(API_TOKEN_PREFIX)
        await conn.execute(
            "INSERT INTO accounts.api_tokens (user_id, name, token_hash, prefix) "
            "VALUES ($1, 'bench', $2, $3)",
            user_id,
            digest(token),
            token[:10],
        )
        return token
    finally:
        await conn.close()


async def _superuser_token(database_url: str) -> str:
    return await _api_token(database_url, "gateway-bench@example.org", superuser=True)


async def _reader_token(database_url: str, feed: str) -> str:
    """An API token of an ordinary user holding `read` on `feed` (rights are looked up per request)."""
    return await _api_token(database_url, "gateway-bench-reader@example.org", superuser=False, read_feed=feed)


@contextmanager
def bare_proxy(lbasedb_url: str) -> Iterator[tuple[str, int]]:
    """`python -m bench.gateway.bare` in front of `lbasedb_url`; yields (URL, pid)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "bench.gateway.bare", "--upstream", lbasedb_url, "--port", str(port)]
    with answering_process(command, base + "/version", "the bare proxy") as pid:
        yield base, pid


@contextmanager
def gateway(database_url: str, lbasedb_url: str) -> Iterator[tuple[str, int]]:
    """`dockyard serve` with one worker (the uvicorn worker is this process); yields (URL, pid)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LBASEDB_URL": lbasedb_url,
        "SERVICES": "accounts,gateway",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_USER": "100000000/day",
        "RATE_LIMIT_ANONYMOUS": "100000000/day",
        "JWT_SECRET": os.environ.get("JWT_SECRET", "bench-secret-" + "x" * 40),
    }
    proc = subprocess.Popen(
        [DOCKYARD, "serve", "--port", str(port), "--workers", "1", "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dockyard serve did not become ready")
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mib(self) -> float:
        return round((self.peak - self.start) / MIB, 1)


async def _get(http: httpx.AsyncClient, url: str) -> tuple[float, int, str]:
    digest_ = hashlib.sha256()
    size = 0
    began = time.perf_counter()
    async with http.stream("GET", url) as answer:
        answer.raise_for_status()
        async for chunk in answer.aiter_raw(1 << 16):
            size += len(chunk)
            digest_.update(chunk)
    return time.perf_counter() - began, size, digest_.hexdigest()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), 1 << 18):
        yield bytes(view[start : start + (1 << 18)])


async def _send(
    http: httpx.AsyncClient, method: str, url: str, data: bytes, content_type: str | None
) -> float:
    headers = {"content-length": str(len(data))}
    if content_type:
        headers["content-type"] = content_type
    began = time.perf_counter()
    answer = await http.request(method, url, content=_chunks(data), headers=headers)
    assert answer.status_code == 204, answer.text
    return time.perf_counter() - began


async def big_bodies(
    base: str, prefix: str, headers: dict[str, str], runs: int, pid: int | None
) -> dict[str, Any]:
    """Median seconds (and MB/s) of the 36 MB JSON and 300 MB bytes transfers through `base + prefix`."""
    rows = MEGABYTES * MIB // ROW
    data = block(MEGABYTES)
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base + prefix, headers=headers, timeout=600) as http:
        json_url = f"/data?feed={JSON_FEED}&ix=0&size={JSON_ROWS}&col[]=x&col[]=y"
        times, json_size, json_body = [], 0, b""
        for _ in range(runs):
            seconds, json_size, _ = await _get(http, json_url)
            times.append(seconds)
        json_body = (await http.get(json_url)).content
        results["json_get_36mb"] = _rate(times, json_size)
        times = [
            await _send(http, "PATCH", f"/data?feed={JSON_FEED}&ix=0", json_body, "application/json")
            for _ in range(runs)
        ]
        results["json_patch_36mb"] = _rate(times, len(json_body))
        bytes_url = f"/bytes?feed={BYTES_FEED}&ix=0&size={rows}&col[]=b"
        rss: list[float] = []
        times = []
        for _ in range(runs):
            if pid is None:
                seconds, size, sha = await _get(http, bytes_url)
            else:
                with PeakRss(pid) as peak:
                    seconds, size, sha = await _get(http, bytes_url)
                rss.append(peak.growth_mib)
            assert size == len(data)
            assert sha == hashlib.sha256(data).hexdigest()
            times.append(seconds)
        results["bytes_get_300mb"] = _rate(times, len(data)) | (
            {"rss_growth_mib_max": max(rss)} if rss else {}
        )
        rss, times = [], []
        for _ in range(2):  # each POST appends 300 MB to the stand-in's feed
            if pid is None:
                times.append(await _send(http, "POST", f"/bytes?feed={BYTES_FEED}&col[]=b", data, None))
            else:
                with PeakRss(pid) as peak:
                    times.append(await _send(http, "POST", f"/bytes?feed={BYTES_FEED}&col[]=b", data, None))
                rss.append(peak.growth_mib)
        results["bytes_post_300mb"] = _rate(times, len(data)) | (
            {"rss_growth_mib_max": max(rss)} if rss else {}
        )
    return results


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _rate(times: list[float], size: int) -> dict[str, float]:
    median = statistics.median(times)
    return {"seconds_median": round(median, 3), "mb_per_s": round(size / median / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        raise SystemExit("set DATABASE_URL to a migrated database")
    token = asyncio.run(_superuser_token(database_url))
    auth = {"Authorization": f"Bearer {token}"}
    results: dict[str, Any] = {}
    with standin_process() as (lbasedb, standin_pid):
        load_bytes_feed(lbasedb, BYTES_FEED, MEGABYTES)
        load_json_feed(lbasedb, JSON_FEED, JSON_ROWS)
        with gateway(database_url, lbasedb) as (base, pid):
            through = base + "/gateway/lbasedb"
            direct_cpu = _cpu(standin_pid)
            direct = load(f"{lbasedb}/version", seconds=options.seconds, connections=64)
            direct_cpu = _cpu(standin_pid) - direct_cpu
            gateway_cpu = (_cpu(pid), _cpu(standin_pid))
            through_gateway = load(
                f"{through}/version", seconds=options.seconds, connections=64, headers=auth
            )
            gateway_cpu = (_cpu(pid) - gateway_cpu[0], _cpu(standin_pid) - gateway_cpu[1])
            # CPU seconds per request: what a request costs whatever else runs on the machine
            results["cpu_ms_per_request"] = {
                "direct: stand-in": round(direct_cpu / direct.requests * 1000, 3),
                "gateway: gateway worker": round(gateway_cpu[0] / through_gateway.requests * 1000, 3),
                "gateway: stand-in": round(gateway_cpu[1] / through_gateway.requests * 1000, 3),
            }
            reader = {"Authorization": f"Bearer {asyncio.run(_reader_token(database_url, JSON_FEED))}"}
            results["size_rps_reader"] = {
                "direct": load(f"{lbasedb}/size?feed={JSON_FEED}", seconds=options.seconds, connections=64),
                "gateway (a user with a read grant)": load(
                    f"{through}/size?feed={JSON_FEED}",
                    seconds=options.seconds,
                    connections=64,
                    headers=reader,
                ),
            }
            results["version_rps"] = {
                "direct": direct,
                "gateway": through_gateway,
                # where the time goes: the app alone, and the gateway refusing before the database
                "dockyard /healthz": load(f"{base}/healthz", seconds=options.seconds, connections=64),
                "gateway without credentials (401)": load(
                    f"{through}/version", seconds=options.seconds, connections=64
                ),
            }
            results["latency_one_connection"] = {
                f"{name} {route}": load(f"{url}{route}", seconds=5, connections=1, threads=1, headers=auth)
                for name, url in (("direct", lbasedb), ("gateway", through))
                for route in ("/version", f"/size?feed={JSON_FEED}")
            }
            with bare_proxy(lbasedb) as (bare, bare_pid):
                bare_cpu = _cpu(bare_pid)
                floor = load(f"{bare}/version", seconds=options.seconds, connections=64)
                results["cpu_ms_per_request"]["bare proxy (floor)"] = round(
                    (_cpu(bare_pid) - bare_cpu) / floor.requests * 1000, 3
                )
                results["version_rps"]["bare proxy (floor)"] = floor
            results["big"] = {
                "direct": asyncio.run(big_bodies(lbasedb, "", {}, options.runs, None)),
                "gateway": asyncio.run(big_bodies(base, "/gateway/lbasedb", auth, options.runs, pid)),
            }
    direct_rps = results["version_rps"]["direct"].rps
    gateway_rps = results["version_rps"]["gateway"].rps
    floor_rps = results["version_rps"]["bare proxy (floor)"].rps
    ratios = {
        "version_rps": round(gateway_rps / direct_rps, 3),
        "version_rps_bare_proxy_floor": round(floor_rps / direct_rps, 3),
        "version_rps_gateway_over_floor": round(gateway_rps / floor_rps, 3),
    }
    sizes = results["size_rps_reader"]
    ratios["size_rps_reader"] = round(
        sizes["gateway (a user with a read grant)"].rps / sizes["direct"].rps, 3
    )
    for name in ("json_get_36mb", "json_patch_36mb", "bytes_get_300mb", "bytes_post_300mb"):
        ratios[name] = round(
            results["big"]["gateway"][name]["mb_per_s"] / results["big"]["direct"][name]["mb_per_s"], 3
        )
    latency = results["latency_one_connection"]
    added = {
        route: {
            "p50_ms": round(
                latency[f"gateway {route}"].latency_p50_ms - latency[f"direct {route}"].latency_p50_ms, 2
            ),
            "p99_ms": round(
                latency[f"gateway {route}"].latency_p99_ms - latency[f"direct {route}"].latency_p99_ms, 2
            ),
        }
        for route in ("/version", f"/size?feed={JSON_FEED}")
    }
    path = record(
        "gateway",
        {
            "results": results,
            "ratios_gateway_over_direct": ratios,
            "added_latency": added,
            "load_average_at_end": os.getloadavg(),
        },
    )
    share = ratios["version_rps"]
    print(f"GET /version: direct {direct_rps:.0f} req/s, gateway {gateway_rps:.0f} req/s ({share:.0%})")
    for name, value in ratios.items():
        print(f"  {name}: gateway/direct = {value:.0%}")
    print(f"  added latency: {added}")
    print(f"  CPU per /version request: {results['cpu_ms_per_request']}")
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
