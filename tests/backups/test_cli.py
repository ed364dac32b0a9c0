"""`dockyard backups check`: Nagios lines and exit codes against the real catalog."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
from click.testing import Result
from typer.testing import CliRunner

from dockyard.cli import app
from tests.backups.test_checks import DAY, GIB, HOUR, add_run


async def dockyard(url: str, *args: str) -> Result:
    env = {"DATABASE_URL": url, "COLUMNS": "250", "NO_COLOR": "1"}
    return await asyncio.to_thread(CliRunner().invoke, app, ["backups", "check", *args], env=env)


async def test_exit_codes_follow_nagios(migrated_db: str, db: asyncpg.Connection) -> None:
    healthy, stale, single = (f"c{uuid.uuid4().hex[:8]}" for _ in range(3))
    for section in (healthy, stale):
        ago = 9 * DAY if section == stale else HOUR
        await add_run(db, section, ago=ago + DAY, size=100 * GIB)
        await add_run(db, section, ago=ago, size=100 * GIB)
    await add_run(db, single, ago=HOUR)

    ok = await dockyard(migrated_db, "--section", healthy, "--type", "dump", "--datacenter", "eqiad")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith(f"OK: Last dump for {healthy} at eqiad (db1139) taken on ")
    assert ok.stdout.rstrip().endswith("(100 GiB, +0.0 %)")
    warning = await dockyard(migrated_db, "--section", single)
    assert warning.exit_code == 1
    assert warning.stdout.startswith("WARNING: ")
    critical = await dockyard(migrated_db, "--section", stale)
    assert critical.exit_code == 2
    assert "is older than 8 days" in critical.stdout

    as_json = await dockyard(migrated_db, "--section", stale, "--json")
    assert as_json.exit_code == 2
    (found,) = json.loads(as_json.stdout)
    assert found["status"] == "critical"
    assert found["problems"][0]["rule"] == "stale"


async def test_unknown_series_and_bad_type_are_unknown(migrated_db: str) -> None:
    missing = await dockyard(migrated_db, "--section", "nosuchsection")
    assert missing.exit_code == 3
    assert "no backups are scheduled, configured or recorded for nosuchsection" in missing.output
    bad = await dockyard(migrated_db, "--type", "cold")
    assert bad.exit_code == 3
    assert bad.stdout.startswith("UNKNOWN: --type must be dump or snapshot")


async def test_an_unreachable_database_is_unknown(fresh_db: str) -> None:
    done = await dockyard(fresh_db)
    assert done.exit_code == 3
    assert "run `dockyard db migrate`" in done.output
