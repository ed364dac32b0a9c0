"""The arxiv service: reading and storing a 2,000-entry answer, and reads over 1,000,000 stored results.

    DATABASE_URL=… python -m bench.arxiv [--runs 7] [--requests 200] [--skip-reads]

1. Parse: the same 2,000-entry Atom page (5 MB) read by lxml, by the standard library's
   ElementTree (the same walk) and by feedparser (its entries turned into the same records);
   median wall and CPU time of `--runs` runs. The service keeps the fastest.
2. Parse + store: that page read and stored as one search (query row, 2,000 papers, ranks and
   legacy rows in one transaction) in a scratch database, with papers new each run and with papers
   already stored; and, apart, the step that computes the new papers' tsvectors after the commit.
3. Reads: DATABASE_URL is given the bench data set when it has fewer than 1,000,000 stored results
   (`dockyard db seed --size bench --service arxiv`); Dockyard serves SERVICES=accounts,arxiv with
   one worker and each route below is called `--requests` times, one at a time, with random
   parameters: p50/p95/max in ms.

Writes bench/results/arxiv.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import asyncpg
import httpx
from bench.arxiv.page import feedparser_entries, page
from bench.common import DOCKYARD, RESULTS, record, served

from dockyard.arxiv import papers, queries, syntax
from dockyard.arxiv.atom import parse_feed
from dockyard.arxiv.papers import PaperFilter, PaperOrder
from dockyard.arxiv.store import fill_search_text, store_search
from dockyard.core.dburl import with_database

RESULTS_WANTED = 1_000_000
WORDS = [
    "quantum",
    "field",
    "network",
    "spin",
    "boundary",
    "qubit",
    "inflation",
    "protein",
    "word417",
    "word2903",
]


def _timed(work: Callable[[], Any], runs: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {
        "median_s": round(statistics.median(walls), 3),
        "min_s": round(min(walls), 3),
        "cpu_median_s": round(statistics.median(cpus), 3),
    }


def measure_parsers(runs: int) -> dict[str, dict[str, float]]:
    """Median times of the three readers on the same 2,000-entry page."""
    body = page(2000)
    found = {
        "lxml": _timed(lambda: parse_feed(body), runs),
        "ElementTree": _timed(lambda: parse_feed(body, xml=ElementTree.fromstring), runs),
        "feedparser": _timed(lambda: feedparser_entries(body), max(1, runs // 2)),
    }
    for name, times in found.items():
        print(
            f"parse 2,000 entries ({len(body) / 1e6:.1f} MB) with {name}: median {times['median_s']} s "
            f"(CPU {times['cpu_median_s']} s)"
        )
    return found


def _backend_cpu_s(pid: int) -> float:
    """CPU seconds a PostgreSQL backend on this machine has used (user + system)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _store(url: str, runs: int) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        backend = int(await conn.fetchval("SELECT pg_backend_pid()"))
        walls: dict[str, list[float]] = {"new": [], "known": [], "fill": []}
        cpus: dict[str, list[float]] = {"new": [], "known": [], "fill": []}
        for run in range(runs):
            for kind in ("new", "known"):
                body = page(2000, offset=run if kind == "new" else 0)
                began, python_cpu, pg_cpu = time.perf_counter(), time.process_time(), _backend_cpu_s(backend)
                feed = await asyncio.to_thread(parse_feed, body)
                async with conn.transaction():
                    await store_search(
                        conn,
                        request=syntax.Request("all:quantum", (), 0, 2000),
                        ranked=list(enumerate(feed.entries)),
                        total_results=feed.total_results,
                        status=200,
                        from_cache=False,
                        user_id=None,
                        duration_ms=0,
                    )
                walls[kind].append(time.perf_counter() - began)
                cpus[kind].append(time.process_time() - python_cpu + _backend_cpu_s(backend) - pg_cpu)
                began, python_cpu, pg_cpu = time.perf_counter(), time.process_time(), _backend_cpu_s(backend)
                filled = await fill_search_text(conn)
                if kind == "new":
                    assert filled == len(feed.entries), filled
                    walls["fill"].append(time.perf_counter() - began)
                    cpus["fill"].append(time.process_time() - python_cpu + _backend_cpu_s(backend) - pg_cpu)
        # Run 0 of "known" follows the first insert of the same page; runs 1.. are steady state.
        return {
            f"{kind} papers" if kind != "fill" else "tsvectors of new papers, after the commit": {
                "median_s": round(statistics.median(walls[kind][1:] or walls[kind]), 3),
                "min_s": round(min(walls[kind]), 3),
                "cpu_median_s": round(statistics.median(cpus[kind][1:] or cpus[kind]), 3),
            }
            for kind in ("new", "known", "fill")
        } | {"runs": runs}
    finally:
        await conn.close()


def measure_store(admin_url: str, runs: int) -> dict[str, Any]:
    """Parse + store of 2,000 entries in a scratch database (created and dropped here)."""
    name = f"dy_arxiv_store_{uuid.uuid4().hex[:8]}"
    psql = ["psql", "-X", "-q", "-d", admin_url, "-c"]
    subprocess.run([*psql, f'CREATE DATABASE "{name}"'], check=True)
    url = with_database(admin_url, name)
    try:
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run([DOCKYARD, "db", "migrate"], env=env, check=True, capture_output=True)
        found = asyncio.run(_store(url, runs))
    finally:
        subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=True)
    for kind in ("new", "known"):
        times = found[f"{kind} papers"]
        print(
            f"parse + store 2,000 entries, {kind} papers: median {times['median_s']} s "
            f"(CPU of Python and the PostgreSQL backend {times['cpu_median_s']} s)"
        )
    times = found["tsvectors of new papers, after the commit"]
    print(
        f"after the commit, the 2,000 new papers' tsvectors: median {times['median_s']} s "
        f"(CPU {times['cpu_median_s']} s)"
    )
    return found


async def _stored_results(url: str) -> int | None:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM arxiv.query_results"))
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        return None
    finally:
        await conn.close()


def prepare(env: dict[str, str]) -> int:
    """Migrate and seed the bench data set when needed, then VACUUM (ANALYZE) as autovacuum would
    after a bulk load; the number of stored results."""
    stored = asyncio.run(_stored_results(env["DATABASE_URL"]))
    if stored is None:
        subprocess.run([DOCKYARD, "db", "migrate"], env=env, check=True, capture_output=True)
    if not stored or stored < RESULTS_WANTED:
        subprocess.run(
            [DOCKYARD, "db", "seed", "--size", "bench", "--service", "arxiv", "--force"], env=env, check=True
        )
    stored = asyncio.run(_stored_results(env["DATABASE_URL"]))
    assert stored is not None
    tables = "arxiv.papers, arxiv.queries, arxiv.query_results, arxiv.results"
    subprocess.run(
        ["psql", "-X", "-q", "-d", env["DATABASE_URL"], "-c", f"VACUUM (ANALYZE) {tables}"], check=True
    )
    return stored


def _routes(rng: random.Random) -> dict[str, Callable[[], tuple[str, dict[str, Any]]]]:
    day = 86400
    now = int(time.time())
    papers, history = "/arxiv/api/v1/papers", "/arxiv/api/v1/queries"

    def word() -> str:
        return rng.choice(WORDS)

    return {
        "browse: papers newest first": lambda: (papers, {"limit": 50}),
        "browse: papers at a random offset (up to 5,000)": lambda: (
            papers,
            {"limit": 50, "offset": rng.randrange(0, 5000, 50)},
        ),
        "browse: papers by category": lambda: (
            papers,
            {"category": rng.choice(["hep-th", "cs.LG", "q-fin.RM"]), "limit": 50},
        ),
        "browse: papers by author": lambda: (papers, {"author": f"Author{rng.randrange(5000)}", "limit": 50}),
        "browse: papers published from a year": lambda: (
            papers,
            {"published_from": f"{rng.randrange(2000, 2023)}-01-01", "limit": 50},
        ),
        "browse: papers of one query, rank order, with count": lambda: (
            f"/arxiv/api/v1/queries/{rng.randrange(1, 20_001)}/papers",
            {"limit": 50},
        ),
        "history: newest first, with count": lambda: (history, {"limit": 50}),
        "history: time range, with count": lambda: (
            history,
            {
                "since": _iso(now - rng.randrange(30, 360) * day),
                "until": _iso(now - rng.randrange(0, 30) * day),
                "limit": 50,
            },
        ),
        "history: text filter, with count": lambda: (
            history,
            {"text": f"word{rng.randrange(2000)}", "limit": 50},
        ),
        "full text: one word": lambda: (papers, {"text": word(), "limit": 50}),
        "full text: a phrase and a word": lambda: (
            papers,
            {"text": f'"{word()} {word()}" {word()}', "limit": 50},
        ),
        "with count=true: papers newest first": lambda: (papers, {"limit": 50, "count": "true"}),
        "with count=true: papers by category": lambda: (
            papers,
            {"category": rng.choice(["hep-th", "cs.LG", "q-fin.RM"]), "limit": 50, "count": "true"},
        ),
        "with count=true: full text, one word": lambda: (
            papers,
            {"text": word(), "limit": 50, "count": "true"},
        ),
        "legacy: /arxiv/results page 2,000 (offset 20,000)": lambda: ("/arxiv/results", {"page": 2000}),
    }


def _iso(unix: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


def measure_reads(env: dict[str, str], requests: int) -> dict[str, Any]:
    rng = random.Random(7)
    found: dict[str, Any] = {}
    with (
        served(1, env={"SERVICES": "accounts,arxiv", "ARXIV_RUNNER": "false", **env}) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        for label, make in _routes(rng).items():
            for _ in range(5):  # warm-up
                path, params = make()
                client.get(path, params=params).raise_for_status()
            timings = []
            for _ in range(requests):
                path, params = make()
                began = time.perf_counter()
                answer = client.get(path, params=params)
                timings.append((time.perf_counter() - began) * 1000)
                answer.raise_for_status()
            timings.sort()
            found[label] = {
                "requests": requests,
                "p50_ms": round(statistics.median(timings), 1),
                "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
                "max_ms": round(timings[-1], 1),
            }
            print(
                f"{label}: p50 {found[label]['p50_ms']} ms, p95 {found[label]['p95_ms']} ms, "
                f"max {found[label]['max_ms']} ms"
            )
    return found


async def _in_database(url: str, requests: int) -> dict[str, Any]:
    """The same reads as SQL calls on one connection (no HTTP, no server process): the database's share."""
    rng = random.Random(11)
    conn = await asyncpg.connect(url, server_settings={"random_page_cost": "1.1", "jit": "off"})
    cases: dict[str, Callable[[], Any]] = {
        "browse: papers newest first": lambda: papers.papers_json(
            conn, PaperFilter(), order=PaperOrder.newest, limit=50, offset=0, cursor=None, with_count=False
        ),
        "browse: papers by category": lambda: papers.papers_json(
            conn,
            PaperFilter(category=rng.choice(["hep-th", "cs.LG", "q-fin.RM"])),
            order=PaperOrder.newest,
            limit=50,
            offset=0,
            cursor=None,
            with_count=False,
        ),
        "browse: papers of one query, rank order, with count": lambda: papers.papers_json(
            conn,
            PaperFilter(query_id=rng.randrange(1, 20_001)),
            order=PaperOrder.rank,
            limit=50,
            offset=0,
            cursor=None,
            with_count=True,
        ),
        "history: newest first, with count": lambda: queries.history_json(
            conn, queries.HistoryFilter(), ascending=False, limit=50, offset=0
        ),
        "full text: one word": lambda: papers.papers_json(
            conn,
            PaperFilter(text=rng.choice(WORDS)),
            order=PaperOrder.newest,
            limit=50,
            offset=0,
            cursor=None,
            with_count=False,
        ),
    }
    found: dict[str, Any] = {}
    try:
        for label, call in cases.items():
            timings = []
            for _ in range(requests):
                began = time.perf_counter()
                await call()
                timings.append((time.perf_counter() - began) * 1000)
            timings.sort()
            found[label] = {
                "calls": requests,
                "p50_ms": round(statistics.median(timings), 1),
                "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
            }
            print(
                f"in the database, {label}: p50 {found[label]['p50_ms']} ms, p95 {found[label]['p95_ms']} ms"
            )
    finally:
        await conn.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--skip-reads", action="store_true")
    parser.add_argument("--reads-only", action="store_true", help="keep the last parse results")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("set DATABASE_URL to the database to measure (it gets the arxiv bench data set)")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "JWT_SECRET": os.environ.get("JWT_SECRET") or secrets.token_urlsafe(48),
    }
    result: dict[str, Any] = {"load_average_1m_at_start": os.getloadavg()[0]}
    previous = RESULTS / "arxiv.json"
    if args.reads_only and previous.exists():
        kept = json.loads(previous.read_text())
        result |= {key: kept[key] for key in ("parse", "parse_and_store") if key in kept}
    else:
        result["parse"] = measure_parsers(args.runs)
        result["parse_and_store"] = measure_store(with_database(url, "postgres"), args.runs)
    if not args.skip_reads:
        result["stored_results"] = prepare(env)
        result["reads_in_database"] = asyncio.run(_in_database(url, args.requests))
        result["reads"] = measure_reads(env, args.requests)
    print(f"recorded {record('arxiv', result)}")


if __name__ == "__main__":
    main()
