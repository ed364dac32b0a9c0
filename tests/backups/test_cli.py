"""`dockyard backups check`: Nagios lines and exit codes against the real catalog."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
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


async def test_every_unknown_is_a_status_line_on_stdout(migrated_db: str) -> None:
    missing = await dockyard(migrated_db, "--section", "nosuchsection")
    assert missing.exit_code == 3
    assert missing.stdout == "UNKNOWN: no backups are scheduled, configured or recorded for nosuchsection\n"
    # A database nobody listens on (port 1 is closed): still a status line, and no traceback anywhere.
    closed = "postgresql://postgres@127.0.0.1:1/postgres"
    refused = await dockyard(closed, "--section", "s1")
    assert refused.exit_code == 3
    assert refused.stdout.startswith("UNKNOWN: database: ")
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "from dockyard.cli import main; main()", "backups", "check", "--perfdata"],
        env={**os.environ, "DATABASE_URL": closed},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3
    assert done.stdout.startswith("UNKNOWN: database: "), done.stdout
    assert "Traceback" not in done.stdout + done.stderr


async def test_first_line_worst_problem_then_every_problem(migrated_db: str, db: asyncpg.Connection) -> None:
    section = f"c{uuid.uuid4().hex[:8]}"
    await add_run(db, section, ago=11 * DAY, size=100 * GIB)
    await add_run(db, section, ago=10 * DAY, size=100 * GIB, took=13 * HOUR)  # stale, and took too long
    await add_run(db, section, ago=HOUR, status="failed", size=None, error_stage="backup", error_exit_code=2)
    done = await dockyard(migrated_db, "--section", section, "--type", "dump", "--datacenter", "eqiad")
    assert done.exit_code == 2
    first, *long_output = done.stdout.splitlines()
    assert first.startswith(f"CRITICAL: Last dump for {section} at eqiad (db1139) taken on ")
    assert first.endswith("is older than 8 days (10 days) (and 2 other problems)")
    assert len(long_output) == 3
    assert long_output[0].startswith("CRITICAL: ")
    assert "is older than 8 days" in long_output[0]
    assert long_output[1].startswith("CRITICAL: ")
    assert "failed on" in long_output[1]
    assert long_output[2].startswith("WARNING: ")
    assert "took 13 h (limit 12 h)" in long_output[2]


PERFDATA = re.compile(r"'[^'=]+'=\d+(s|B);[^; ]*;[^; ]*;[^; ]*;[^; ]*")


async def test_perfdata_after_a_pipe(migrated_db: str, db: asyncpg.Connection) -> None:
    section = f"c{uuid.uuid4().hex[:8]}"
    await add_run(db, section, ago=DAY + HOUR, size=100 * GIB)
    await add_run(db, section, ago=HOUR, size=100 * GIB, took=2 * HOUR)
    done = await dockyard(
        migrated_db, "--section", section, "--type", "dump", "--datacenter", "eqiad", "--perfdata"
    )
    assert done.exit_code == 0
    text, perfdata = done.stdout.splitlines()[0].split(" | ")
    assert text.startswith(f"OK: Last dump for {section} at eqiad")
    values = perfdata.split(" ")
    assert all(PERFDATA.fullmatch(value) for value in values), values
    assert values[1] == f"'size'={100 * GIB}B;;307200:;0;"
    assert values[2] == "'duration'=7200s;43200;;0;"
    age = int(values[0].split("=")[1].split("s;")[0])
    assert 3600 <= age < 3700
    assert values[0].endswith("s;;691200;0;")

    # With more than one series, each label names its series.
    await add_run(db, section, ago=DAY + HOUR, size=100 * GIB, datacenter="codfw")
    await add_run(db, section, ago=HOUR, size=100 * GIB, datacenter="codfw")
    both = await dockyard(migrated_db, "--section", section, "--perfdata")
    first = both.stdout.splitlines()[0]
    assert first.startswith("OK: 2 backup series checked, no problems | ")
    labels = {found.group(0).split("=")[0] for found in PERFDATA.finditer(first.split(" | ")[1])}
    expected = {
        f"'{section} dump {dc} {what}'" for dc in ("eqiad", "codfw") for what in ("age", "size", "duration")
    }
    assert labels == expected
    assert len(both.stdout.splitlines()) == 3, "the long output has a line per series"
