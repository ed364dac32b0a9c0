"""The IHR API under load, on the benchmark data set (`dockyard db seed --size bench`).

    python -m bench.ihr [--seconds 10] [--workers 2] [--port 8104] [--skip-mix] [--profile]

Serves Dockyard with SERVICES=ihr (DATABASE_URL when set, else the embedded PostgreSQL of the
benchmarks, seeded first if needed), then measures with wrk and a Lua script that picks a random
URL per request from a list generated here:
- `hegemony_1h`, page cache off (IHR_CACHE_TTL_S=0): random one-hour hegemony windows of random
  local graphs at 16 connections, then past capacity at 256 and 1,024 (requests past the pool's
  wait queue are shed with 503, counted as errors); `--profile` samples a worker with py-spy
  during the 16-connection run;
- `website_mix`: the website's calls (specs/ihr-api.md §5) weighted by call-site counts, 16 connections;
- with the page cache on (the default): one repeated page (cache hits), and a cold burst of 16
  clients on one 100,000-row page (single-flight: one read for all);
- big pages, fetched alone by a streaming client with one worker (cache off): the global graph
  for one day and a 100,000-row page, with time to last byte and the worker's RSS growth.
Writes bench/results/ihr.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from bench.common import BENCH_DATA, DOCKYARD, RESULTS, record, served
from bench.ihr.mix import Sample, hegemony_1h, website_mix
from bench.ihr.wrk import run_mix

from dockyard.core import embedded

SERVE_ENV = {
    "SERVICES": "ihr",
    "DB_POOL_MAX": "10",
    "SEED_DEMO": "false",  # never replace the bench data set with the demo one
}
UNCACHED = {"IHR_CACHE_TTL_S": "0"}
REPEATED = "/ihr/api/hegemony/?originasn=2497&af=4"


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


def cold_burst(base: str, path: str, clients: int = 16) -> dict[str, Any]:
    """`clients` identical requests at once for a page nobody asked for yet: seconds until each completes.

    The clients accept gzip, as browsers do, and read the bytes as they arrive without decoding
    them: what is timed is the server delivering the page, not this process decompressing it
    sixteen times on the same CPUs.
    """

    async def fetch(client: httpx.AsyncClient, target: str, began: float) -> float:
        async with client.stream("GET", target) as answer:
            answer.raise_for_status()
            async for _ in answer.aiter_raw():
                pass
        return time.perf_counter() - began

    async def alone() -> float:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            return await fetch(client, path + "&alone=1", time.perf_counter())

    async def burst() -> list[float]:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            began = time.perf_counter()
            return await asyncio.gather(*(fetch(client, path, began) for _ in range(clients)))

    alone_s = asyncio.run(alone())
    times = asyncio.run(burst())
    return {
        "path": path,
        "clients": clients,
        "one_request_alone_s": round(alone_s, 3),
        "all_complete_s": round(max(times), 3),
        "first_complete_s": round(min(times), 3),
    }


def profile(base: str, paths: list[str], seconds: int) -> dict[str, Any]:
    """py-spy samples of one worker while wrk drives 16 connections; the hottest functions."""
    port = int(base.rsplit(":", 1)[1])
    server = _server_process(port)
    worker = max(server.children(recursive=True), key=lambda child: child.cpu_times().user)
    out = RESULTS / "ihr_profile.txt"
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(worker.pid),
            "--duration",
            str(seconds),
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    run = run_mix(base, paths, seconds=seconds, connections=16)
    spy.wait(timeout=seconds + 60)
    return {"run": run, "flamegraph_raw": f"bench/results/{out.name}", "top": _top_frames(out)}


def _top_frames(raw: Path, limit: int = 25) -> list[dict[str, Any]]:
    """Share of samples in which each function is on the stack (inclusive), from py-spy's raw output."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        total += count
        for frame in set(stack.split(";")):
            inclusive[frame] = inclusive.get(frame, 0) + count
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])[:limit]
    return [{"frame": frame, "share": round(count / max(1, total), 3)} for frame, count in ranked]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument("--skip-mix", action="store_true", help="Only the big pages.")
    parser.add_argument("--profile", action="store_true", help="Sample a worker with py-spy.")
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
    # With DATABASE_URL the server needs a signing secret; the benchmark's lives as long as its run.
    env.setdefault("JWT_SECRET", os.environ.get("JWT_SECRET") or secrets.token_urlsafe(48))

    if not args.skip_mix:
        runs: dict[str, Any] = {}
        paths = hegemony_1h(sample, rng, 5000)
        with served(args.workers, env={**env, **UNCACHED}, port=args.port) as base:
            run_mix(base, paths, seconds=2, connections=16)  # warm-up: pools, plans
            runs["hegemony_1h_c16"] = run_mix(base, paths, seconds=args.seconds, connections=16)
            for connections in (256, 1024):
                runs[f"hegemony_1h_c{connections}"] = run_mix(
                    base, paths, seconds=args.seconds, connections=connections
                )
            runs["website_mix_c16"] = run_mix(
                base, website_mix(sample, rng, 5000), seconds=args.seconds, connections=16
            )
            if args.profile:
                result["profile"] = profile(base, paths, args.seconds)
        with served(args.workers, env=env, port=args.port) as base:
            run_mix(base, [REPEATED], seconds=2, connections=16)  # warm-up: every worker has the page
            for connections in (16, 64):
                runs[f"repeated_page_cached_c{connections}"] = run_mix(
                    base, [REPEATED], seconds=args.seconds, connections=connections
                )
            result["cold_burst"] = cold_burst(base, sample.hundred_thousand_path())
        for name, run in runs.items():
            print(
                f"{name}: {run['rps']:,.0f} req/s, p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms, "
                f"p99 {run['p99_ms']} ms, errors {run['errors']}"
            )
        result["runs"] = runs
        if "cold_burst" in result:
            print(f"cold burst: {result['cold_burst']}")

    with served(1, env={**env, **UNCACHED}, port=args.port) as base:
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
