"""What widening the legacy integer id of ihr_hegemony to bigint costs: in place, and online.

    DATABASE_URL=… python -m bench.widen_ids [--rows 10000000]

Builds a database whose ihr_hegemony is shaped as on an adopted legacy server (Dockyard's
migrations, then the id and its sequence made integer as Django made them) and loads --rows rows
(15-minute bins, 1,317 origins), then measures on two identical copies:

- in place: `ALTER TABLE ihr_hegemony ALTER COLUMN id TYPE bigint` (plus the sequence), which
  rewrites the table and its indexes under ACCESS EXCLUSIVE;
- online: `db/scripts/widen_ids.sh ihr_hegemony` with its defaults.

During each, a probe inserts a row and reads a 100-row page every 50 ms, and records how long
each took: the longest wait is what the loaders and the API felt. Also the table's size (with
indexes) before and after. DATABASE_URL names a server where this role may create databases
(the bench makes two and drops them). Writes bench/results/widen_ids.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import time
from typing import Any

import asyncpg

from bench.common import record
from dockyard.core.config import REPO_ROOT
from dockyard.core.dburl import with_database

SCRIPTS = REPO_ROOT / "db" / "scripts"
LOAD = """
SET session_replication_role = replica;  -- no foreign-key triggers while loading
INSERT INTO ihr_asn SELECT g, 'AS' || g, false, false, true FROM generate_series(0, 5000) g;
INSERT INTO ihr_hegemony (timebin, originasn_id, asn_id, hege, af)
SELECT timestamptz '2026-01-01' + (g / {per_bin}) * interval '15 min',
       g % 1317, (g::bigint * 7919) % 5000 + 1, (g % 1000) / 1000.0, 4
FROM generate_series(0, {rows} - 1) g;
"""
TO_INTEGER = """
ALTER TABLE ihr_hegemony ALTER COLUMN id TYPE integer;
ALTER SEQUENCE ihr_hegemony_id_seq AS integer;
"""
IN_PLACE = """
ALTER TABLE ihr_hegemony ALTER COLUMN id TYPE bigint;
ALTER SEQUENCE ihr_hegemony_id_seq AS bigint;
"""
PAGE = "SELECT id FROM ihr_hegemony WHERE originasn_id = $1 ORDER BY timebin DESC LIMIT 100"
INSERT = "INSERT INTO ihr_hegemony (timebin, originasn_id, asn_id, hege, af) VALUES (now(), $1, $2, 0.5, 4)"


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url], input=sql, text=True, check=True)


def script(name: str, *args: str, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / name), *args],
        env={**os.environ, "DATABASE_URL": url, **env},
        capture_output=True,
        text=True,
        check=True,
    )


def build(url: str, rows: int) -> None:
    """The legacy-shaped ihr_hegemony with `rows` rows and every index Dockyard gives it."""
    script("migrate_db.sh", "--to", "202611221200", url=url)
    psql(url, TO_INTEGER + LOAD.format(rows=rows, per_bin=max(1, rows // 2880)))
    script("migrate_db.sh", url=url)
    psql(url, "VACUUM ANALYZE ihr_hegemony;")


async def probe(url: str, done: asyncio.Event) -> list[float]:
    """Insert a row and read a page every 50 ms until `done`; each round trip's seconds."""
    conn = await asyncpg.connect(url)
    waits = []
    try:
        tick = 0
        while not done.is_set():
            tick += 1
            began = time.monotonic()
            await conn.execute(INSERT, tick % 1317, tick % 5000 + 1)
            await conn.fetch(PAGE, tick % 1317)
            waits.append(time.monotonic() - began)
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    return waits


async def measured(url: str, command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run `command` while probing `url`: its wall time, its output, and the probe's waits."""
    done = asyncio.Event()
    prober = asyncio.create_task(probe(url, done))
    await asyncio.sleep(0.5)
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*command, env=env, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    seconds = time.monotonic() - began
    done.set()
    waits = sorted(await prober)
    if proc.returncode != 0:
        raise SystemExit(f"{command[-1]} failed:\n{err.decode()}")
    return {
        "seconds": round(seconds, 1),
        "log": err.decode(),
        "probe_rounds": len(waits),
        "probe_p99_ms": round(1000 * waits[int(len(waits) * 0.99) - 1], 1),
        "probe_max_ms": round(1000 * waits[-1], 1),
        "probe_median_ms": round(1000 * statistics.median(waits), 1),
    }


def size_mb(url: str) -> float:
    out = subprocess.run(
        ["psql", "-X", "-A", "-t", "-d", url, "-c", "SELECT pg_total_relation_size('ihr_hegemony')"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return round(int(out) / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    admin = os.environ.get("DATABASE_URL")
    if not admin:
        raise SystemExit("set DATABASE_URL to a server where this role may create databases")
    name = f"bench_widen_{os.getpid()}"
    online_url, in_place_url = with_database(admin, name), with_database(admin, name + "_alter")
    psql(admin, f'CREATE DATABASE "{name}";')
    try:
        began = time.monotonic()
        build(online_url, args.rows)
        print(f"built {args.rows:,} rows in {time.monotonic() - began:.0f} s")
        psql(admin, f'CREATE DATABASE "{name}_alter" TEMPLATE "{name}";')
        size_before = size_mb(online_url)
        env = {**os.environ, "DATABASE_URL": in_place_url}
        alter = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", in_place_url, "-c", IN_PLACE]
        in_place = asyncio.run(measured(in_place_url, alter, env))
        env = {**os.environ, "DATABASE_URL": online_url}
        online = asyncio.run(
            measured(online_url, ["bash", str(SCRIPTS / "widen_ids.sh"), "ihr_hegemony"], env)
        )
        held = re.search(r"locked \(ACCESS EXCLUSIVE\) for (\d+) ms", online["log"])
        copied = re.search(r"copied in (\d+) ms", online["log"])
        result = {
            "rows": args.rows,
            "table_mb_before": size_before,
            "in_place": {k: v for k, v in in_place.items() if k != "log"}
            | {"table_mb_after": size_mb(in_place_url)},
            "online": {k: v for k, v in online.items() if k != "log"}
            | {
                "table_mb_after": size_mb(online_url),
                "swap_lock_ms": int(held.group(1)) if held else None,
                "copy_s": round(int(copied.group(1)) / 1000, 1) if copied else None,
            },
        }
    finally:
        for database in (name, name + "_alter"):
            psql(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE);')
    alter, online = result["in_place"], result["online"]
    print(
        f"ihr_hegemony, {args.rows:,} rows ({size_before} MB with indexes): "
        f"in place {alter['seconds']} s, the probe waited up to {alter['probe_max_ms']} ms; "
        f"online {online['seconds']} s, locked {online['swap_lock_ms']} ms, "
        f"the probe waited up to {online['probe_max_ms']} ms"
    )
    print(f"recorded {record('widen_ids', result)}")


if __name__ == "__main__":
    main()
