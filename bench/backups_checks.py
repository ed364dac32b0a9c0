"""The backups checks with 100 000 runs in the catalog, measured in the process (no HTTP).

    DATABASE_URL=… python -m bench.backups_checks [--rounds 20] [--label after]

Migrates and seeds DATABASE_URL with the bench catalog when it has fewer than 100 000 runs
(`dockyard db seed --size bench --service backups`), then times `checks.check()` over every series
(what the overview, /checks and /metrics compute) and for one series (what one Icinga service runs,
`dockyard backups check --section s1 --type dump --datacenter eqiad`): p50/p95/max in ms, and the
p50 of the process's CPU time (less moved by other work on a shared machine than the wall clock),
on a connection with the planner settings of the app's pools (JIT off, `random_page_cost`).
Writes bench/results/backups_checks.json (the results of each --label kept side by side).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from bench.backups import bench_env, seed_catalog
from bench.common import RESULTS, record
from dockyard.backups import checks
from dockyard.core.config import get_settings


async def _time(work: Callable[[], Awaitable[Any]], rounds: int) -> dict[str, float | int]:
    await work()  # warm-up: plans cached, pages in memory
    timings, cpu = [], []
    for _ in range(rounds):
        began, began_cpu = time.perf_counter(), time.process_time()
        await work()
        timings.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    timings.sort()
    return {
        "rounds": rounds,
        "p50_ms": round(statistics.median(timings), 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "p95_ms": round(timings[max(int(len(timings) * 0.95) - 1, 0)], 1),
        "max_ms": round(timings[-1], 1),
    }


async def measure(url: str, rounds: int) -> dict[str, Any]:
    # The planner settings of the app's pools (core/db.py) and of `dockyard backups check`.
    options = {"jit": "off", "random_page_cost": str(get_settings().db_random_page_cost)}
    conn = await asyncpg.connect(url, server_settings=options)
    try:
        series = len(await checks.check(conn))
        every = await _time(lambda: checks.check(conn), rounds)
        one = await _time(lambda: checks.check(conn, section="s1", type="dump", datacenter="eqiad"), rounds)
        return {"series": series, "every series": every, "one series (s1 dump eqiad)": one}
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--label", default="latest", help="Name of this measurement (e.g. before, after).")
    args = parser.parse_args()
    env = bench_env()
    seed_catalog(env)
    measured = asyncio.run(measure(env["DATABASE_URL"], args.rounds))
    for what in ("every series", "one series (s1 dump eqiad)"):
        m = measured[what]
        print(
            f"checks.check(), {what} of {measured['series']} ({args.label}): {m['rounds']} rounds, "
            f"p50 {m['p50_ms']} ms (CPU {m['cpu_p50_ms']} ms), p95 {m['p95_ms']} ms, max {m['max_ms']} ms"
        )
    path = RESULTS / "backups_checks.json"
    previous = json.loads(path.read_text()).get("results", {}) if path.exists() else {}
    results = {**previous, args.label: measured}
    print(f"recorded {record('backups_checks', {'runs': 100_000, 'results': results})}")


if __name__ == "__main__":
    main()
