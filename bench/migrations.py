"""How long `init_db.sh` (create the database + apply every migration) takes on the embedded server.

    python -m bench.migrations [--runs 5]

Each run creates a new database on the embedded PostgreSQL under .dockyard/bench and times the
script end to end (process start, psql sessions, every migration). Writes bench/results/migrations.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

from bench.common import record
from dockyard.core import embedded
from dockyard.core.config import REPO_ROOT
from dockyard.core.dburl import with_database
from dockyard.core.migrations import expected_versions

SCRIPTS = REPO_ROOT / "db" / "scripts"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    began = time.monotonic()
    server = embedded.start(REPO_ROOT / ".dockyard" / "bench")
    start_s = round(time.monotonic() - began, 2)
    env = {**os.environ, "PG_BIN": str(server.bin_dir or "")}
    timings = []
    try:
        for run in range(args.runs):
            name = f"bench_init_{os.getpid()}_{run}"
            env["DATABASE_URL"] = with_database(server.admin_url, name)
            began = time.monotonic()
            subprocess.run(["bash", str(SCRIPTS / "init_db.sh")], env=env, check=True, capture_output=True)
            timings.append(time.monotonic() - began)
            subprocess.run(
                [
                    str(Path(env["PG_BIN"]) / "psql"),
                    "-X",
                    "-q",
                    "-d",
                    server.admin_url,
                    "-c",
                    f'DROP DATABASE "{name}"',
                ],
                check=True,
            )
    finally:
        server.stop()
    migrations = len(expected_versions(REPO_ROOT / "db" / "migrations"))
    result = {
        "embedded_server_start_s": start_s,
        "migrations": migrations,
        "runs": args.runs,
        "init_db_median_s": round(statistics.median(timings), 3),
        "init_db_max_s": round(max(timings), 3),
    }
    print(
        f"init_db.sh + {migrations} migration(s) on the embedded server: "
        f"median {result['init_db_median_s']} s, max {result['init_db_max_s']} s over {args.runs} runs "
        f"(server start {start_s} s)"
    )
    print(f"recorded {record('migrations', result)}")


if __name__ == "__main__":
    main()
