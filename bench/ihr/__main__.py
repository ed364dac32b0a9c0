"""The IHR API under load, on the benchmark data set (`dockyard db seed --size bench`).

    python -m bench.ihr [--seconds 10] [--workers 2] [--skip-mix]

Serves Dockyard with SERVICES=ihr (DATABASE_URL when set, else the embedded PostgreSQL of the
benchmarks, seeded first if needed), then measures with wrk and a Lua script that picks a random
URL per request from a list generated here:
- `hegemony_1h`: random one-hour hegemony windows of random local graphs (no cache can help), at
  16, 64 and 256 connections (the last two check that every request completes);
- `website_mix`: the website's calls (specs/ihr-api.md §5) weighted by call-site counts, 16 connections;
- big pages, fetched alone by a streaming client with one worker: the global graph for one day and
  a 100 000-row page, with time to last byte and the worker's RSS growth while serving it.
Writes bench/results/ihr.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from bench.common import BENCH_DATA, DOCKYARD, record, served
from bench.ihr.mix import Sample, hegemony_1h, website_mix
from bench.ihr.wrk import run_mix

from dockyard.core import embedded

SERVE_ENV = {
    "SERVICES": "ihr",
    "DB_POOL_MAX": "10",
    "DB_ACQUIRE_TIMEOUT_S": "60",
    "SEED_DEMO": "false",  # never replace the bench data set with the demo one
}


def _database_url() -> tuple[str, embedded.EmbeddedPostgres | None]:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], None
    server = embedded.start(BENCH_DATA)
    return server.url(), server


def _ensure_bench_data(url: str) -> None:
    """Migrate and seed the bench data set when it is not there yet (several minutes, with progress)."""
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(BENCH_DATA)}
    subprocess.run([DOCKYARD, "db", "init"], env=env, check=True)
    subprocess.run([DOCKYARD, "db", "seed", "--size", "bench", "--service", "ihr"], env=env, check=True)
    asyncio.run(_vacuum(url))


async def _vacuum(url: str) -> None:
    """What autovacuum does to freshly loaded tables: statistics, and pages marked all-visible."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


async def _sample(url: str) -> Sample:
    conn = await asyncpg.connect(url)
    try:
        return await Sample.read(conn)
    finally:
        await conn.close()


def _server_process(port: int) -> psutil.Process:
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "serve" in cmdline and str(port) in cmdline:
            return proc
    raise RuntimeError(f"no dockyard serve process on port {port}")


def _rss(proc: psutil.Process) -> int:
    total: int = proc.memory_info().rss
    for child in proc.children(recursive=True):
        total += child.memory_info().rss
    return total


def _watch(proc: psutil.Process, peak: list[int], stop: threading.Event) -> None:
    """Keep peak[0] at the highest RSS seen until `stop` is set (sampled every 5 ms)."""
    while not stop.is_set():
        peak[0] = max(peak[0], _rss(proc))
        time.sleep(0.005)


def big_page(base: str, path: str, repeats: int = 3, encoding: str = "identity") -> dict[str, Any]:
    """Fetch `path` alone `repeats` times: rows, bytes, seconds to the last byte, RSS growth."""
    port = int(base.rsplit(":", 1)[1])
    proc = _server_process(port)
    runs = []
    headers = {"Accept-Encoding": encoding}
    with httpx.Client(base_url=base, timeout=120, headers=headers) as client:
        for _ in range(repeats):
            before = _rss(proc)
            peak = [before]
            stop = threading.Event()
            watcher = threading.Thread(target=_watch, args=(proc, peak, stop))
            watcher.start()
            began = time.perf_counter()
            size = 0
            with client.stream("GET", path) as answer:
                answer.raise_for_status()
                for chunk in answer.iter_raw():
                    size += len(chunk)
            seconds = time.perf_counter() - began
            stop.set()
            watcher.join()
            runs.append({"seconds": seconds, "bytes": size, "rss_growth_mb": (peak[0] - before) / 2**20})
    rows = httpx.get(base + path, timeout=120).json()
    return {
        "path": path,
        "accept_encoding": encoding,
        "rows": len(rows["results"]),
        "count": rows["count"],
        "bytes": runs[-1]["bytes"],
        "seconds_median": round(statistics.median(run["seconds"] for run in runs), 3),
        "seconds_max": round(max(run["seconds"] for run in runs), 3),
        "rss_growth_mb_max": round(max(run["rss_growth_mb"] for run in runs), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-mix", action="store_true", help="Only the big pages.")
    args = parser.parse_args()

    url, server = _database_url()
    try:
        _ensure_bench_data(url)
        sample = asyncio.run(_sample(url))
    finally:
        if server is not None:
            server.stop()
    rng = random.Random(20261125)
    result: dict[str, Any] = {"workers": args.workers, "data": sample.describe()}
    env = {**SERVE_ENV, **({"DATABASE_URL": url} if os.environ.get("DATABASE_URL") else {})}

    if not args.skip_mix:
        runs: dict[str, Any] = {}
        with served(args.workers, env=env) as base:
            paths = hegemony_1h(sample, rng, 5000)
            run_mix(base, paths, seconds=2, connections=16)  # warm-up: pools, plans, page cache
            for connections in (16, 64, 256):
                runs[f"hegemony_1h_c{connections}"] = run_mix(
                    base, paths, seconds=args.seconds, connections=connections
                )
            runs["website_mix_c16"] = run_mix(
                base, website_mix(sample, rng, 5000), seconds=args.seconds, connections=16
            )
        for name, run in runs.items():
            print(
                f"{name}: {run['rps']:,.0f} req/s, p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms, "
                f"p99 {run['p99_ms']} ms, errors {run['errors']}"
            )
        result["runs"] = runs

    with served(1, env=env) as base:
        pages = {
            "global_graph_38800": sample.global_rows_path(38_800),
            "global_graph_day": sample.global_day_path(),
            "page_100000": sample.hundred_thousand_path(),
        }
        result["big_pages"] = {}
        for name, path in pages.items():
            for encoding in ("identity", "gzip"):
                big_page(base, path, repeats=1, encoding=encoding)  # warm-up
                measured = big_page(base, path, encoding=encoding)
                result["big_pages"][f"{name}_{encoding}"] = measured
                print(
                    f"{name} ({encoding}): {measured['rows']:,} rows, {measured['bytes'] / 2**20:.1f} MiB in "
                    f"{measured['seconds_median']} s (max {measured['seconds_max']} s), "
                    f"RSS +{measured['rss_growth_mb_max']} MB"
                )
    recorded: Path = record("ihr", result)
    print(f"recorded {recorded}")


if __name__ == "__main__":
    main()
