"""GET /healthz requests per second on 1 and 2 uvicorn workers, plus cold-start times.

    python -m bench.healthz [--seconds 10] [--connections 64]

Runs against DATABASE_URL when set, else the embedded PostgreSQL. Writes bench/results/healthz.json.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict

from bench.common import load, record, served


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    runs = {}
    for workers in args.workers:
        began = time.monotonic()
        with served(workers) as base:
            ready_s = round(time.monotonic() - began, 2)
            load(base + "/healthz", seconds=2, connections=args.connections)  # warm-up
            result = load(base + "/healthz", seconds=args.seconds, connections=args.connections)
        runs[f"{workers}_workers"] = {"start_to_ready_s": ready_s, **asdict(result)}
        print(
            f"/healthz, {workers} worker(s): {result.rps:,.0f} req/s, p50 {result.latency_p50_ms} ms, "
            f"p99 {result.latency_p99_ms} ms, errors {result.errors} ({result.tool}); ready in {ready_s}s"
        )
    path = record("healthz", {"runs": runs})
    print(f"recorded {path}")


if __name__ == "__main__":
    main()
