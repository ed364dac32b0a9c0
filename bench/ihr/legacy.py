"""Side by side: Dockyard and the legacy ihr-django server on one database, in one run.

    python -m bench.ihr.legacy --legacy http://127.0.0.1:8114 [--seconds 10] [--workers 2] [--port 8104]

The legacy server is started beforehand from its public repository (bench/README.md, "The legacy
server"); it must read the same database as DATABASE_URL. Dockyard is served here with its
defaults (page cache on). Each measure runs against both, one after the other, with wrk at 16
connections:
- `repeated_page`: one page asked again and again (`hegemony/?originasn=2497&af=4`): the legacy's
  per-process page cache against Dockyard's;
- `hegemony_1h`: random one-hour hegemony windows (no cache can help);
- `identical`: both answer the repeated page with the same rows.
Writes bench/results/ihr_legacy.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
from typing import Any

import httpx
from bench.common import record, served
from bench.ihr.__main__ import REPEATED, SERVE_ENV, _sample
from bench.ihr.mix import hegemony_1h
from bench.ihr.wrk import run_mix


def _rows(base: str, path: str) -> list[Any]:
    answer = httpx.get(base + path, timeout=120)
    answer.raise_for_status()
    rows: list[Any] = answer.json()["results"]
    return sorted(rows, key=lambda row: (row["timebin"], row["asn"]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--legacy", required=True, help="Base URL of the running legacy server.")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8104)
    args = parser.parse_args()

    url = os.environ["DATABASE_URL"]
    sample = asyncio.run(_sample(url))
    paths = hegemony_1h(sample, random.Random(20261207), 5000)
    env = {**SERVE_ENV, "DATABASE_URL": url, "JWT_SECRET": secrets.token_urlsafe(48)}
    result: dict[str, Any] = {"workers": args.workers, "data": sample.describe(), "runs": {}}
    with served(args.workers, env=env, port=args.port) as dockyard:
        servers = {"legacy": args.legacy.rstrip("/"), "dockyard": dockyard}
        result["identical"] = _rows(servers["legacy"], REPEATED) == _rows(dockyard, REPEATED)
        for name, base in servers.items():
            run_mix(base, [REPEATED], seconds=2, connections=16)  # warm-up: every worker has the page
            result["runs"][f"{name}_repeated_page_c16"] = run_mix(
                base, [REPEATED], seconds=args.seconds, connections=16
            )
        for name, base in servers.items():
            result["runs"][f"{name}_hegemony_1h_c16"] = run_mix(
                base, paths, seconds=args.seconds, connections=16
            )
    for name, run in result["runs"].items():
        rps, p50, p99 = run["rps"], run["p50_ms"], run["p99_ms"]
        print(f"{name}: {rps:,.0f} req/s, p50 {p50} ms, p99 {p99} ms, errors {run['errors']}")
    print(f"same rows: {result['identical']}")
    print(f"recorded {record('ihr_legacy', result)}")


if __name__ == "__main__":
    main()
