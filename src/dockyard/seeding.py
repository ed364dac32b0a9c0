"""Demo and benchmark data: runs each service's generator once per data-set size.

Called by db/scripts/seed_db.sh as `python -m dockyard.seeding --size demo|bench [--service NAME]`.
A finished run is recorded in `core.seed_runs`, so seeding again is a no-op (use --force to redo);
a failed generator rolls back and records nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from dockyard.core.seeds import SIZES, Seeder
from dockyard.core.services import Service, load_services

console = Console(stderr=True)

ALREADY_SEEDED = "SELECT 1 FROM core.seed_runs WHERE service = $1 AND size = $2"
# A generator replaces its service's data, so demo data is not loaded over a bench data set.
OTHER_SIZE = "SELECT size FROM core.seed_runs WHERE service = $1 AND size <> $2"
FORGET_OTHER_SIZES = "DELETE FROM core.seed_runs WHERE service = $1 AND size <> $2"
RECORD_RUN = """
INSERT INTO core.seed_runs (service, size, rows, duration_ms)
VALUES ($1, $2, $3, $4)
ON CONFLICT (service, size) DO UPDATE
SET rows = excluded.rows, duration_ms = excluded.duration_ms, seeded_at = now()
"""


async def seed_service(
    conn: asyncpg.Connection[asyncpg.Record],
    name: str,
    seeder: Seeder,
    *,
    size: str,
    force: bool,
    progress: Progress,
) -> int | None:
    """Run one generator unless already done for `size`; return the rows it wrote, or None if skipped."""
    if not force and await conn.fetchval(ALREADY_SEEDED, name, size):
        console.print(f"{name}: {size} data already loaded")
        return None
    if not force and size == "demo" and await conn.fetchval(OTHER_SIZE, name, size) == "bench":
        console.print(
            f"{name}: bench data loaded; demo data would replace it, so it is skipped (--force loads it)"
        )
        return None
    task = progress.add_task(name, total=None)
    began = time.monotonic()
    async with conn.transaction():
        rows = await seeder(
            conn, size, lambda done, total: progress.update(task, completed=done, total=total)
        )
        await conn.execute(RECORD_RUN, name, size, rows, int((time.monotonic() - began) * 1000))
        await conn.execute(FORGET_OTHER_SIZES, name, size)
    progress.update(task, description=f"{name}: {rows:,} rows")
    return rows


async def seed(
    database_url: str, services: Sequence[Service], *, size: str, force: bool = False
) -> dict[str, int]:
    """Seed every service that has a generator; return rows written per service (skipped ones omitted)."""
    written: dict[str, int] = {}
    with_data = [service for service in services if service.seeder is not None]
    if not with_data:
        console.print("No enabled service has demo data yet; nothing to seed.")
        return written
    conn = await asyncpg.connect(database_url)
    try:
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}"),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=console) as progress:
            for service in with_data:
                assert service.seeder is not None
                rows = await seed_service(
                    conn, service.name, service.seeder, size=size, force=force, progress=progress
                )
                if rows is not None:
                    written[service.name] = rows
    finally:
        await conn.close()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, seed, and return the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m dockyard.seeding", description=__doc__)
    parser.add_argument("--size", choices=SIZES, default="demo")
    parser.add_argument("--service", action="append", help="only this service (repeatable)")
    parser.add_argument("--force", action="store_true", help="seed again even if already done")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        parser.error("DATABASE_URL must be set")
    services = load_services(args.service or ["all"])
    written = asyncio.run(seed(url, services, size=args.size, force=args.force))
    total = sum(written.values())
    console.print(f"seeded {total:,} rows in {len(written)} service(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
