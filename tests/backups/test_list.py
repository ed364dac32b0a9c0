"""`dockyard backups list`: the catalog from the command line, its filters, derived states and JSON."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import asyncpg
import pytest
from click.testing import Result
from typer.testing import CliRunner

from dockyard.cli import app
from tests.backups.test_checks import DAY, GIB, HOUR, add_run


async def dockyard(url: str, *args: str) -> Result:
    env = {"DATABASE_URL": url, "COLUMNS": "250", "NO_COLOR": "1"}
    return await asyncio.to_thread(CliRunner().invoke, app, ["backups", "list", *args], env=env)


@pytest.fixture
def section() -> str:
    return f"l{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def runs(db: asyncpg.Connection, section: str) -> dict[str, int]:
    """One run in each state of `section`, started one day apart (newest: the scheduled one)."""
    made = {
        "finished": await add_run(db, section, ago=5 * DAY, size=168 * GIB, name=f"dump.{section}.old"),
        "failed": await add_run(
            db,
            section,
            ago=4 * DAY,
            status="failed",
            error_stage="backup",
            error_exit_code=1,
            type="snapshot",
        ),
        "ongoing": await add_run(db, section, ago=3 * DAY, status="ongoing", datacenter="codfw"),
        "stalled": await add_run(db, section, ago=2 * DAY, status="ongoing", heartbeat_at=None),
        "missed": await add_run(db, section, ago=DAY, status="scheduled", size=None),
    }
    await db.execute(
        "UPDATE backups.runs SET heartbeat_at = now() WHERE id = $1", made["ongoing"]
    )  # alive: only the other ongoing run is stalled
    return made


def table_rows(output: str) -> list[list[str]]:
    """The cells of each row of a rich table."""
    return [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in output.splitlines()
        if line[:1] == "│"
    ]


async def test_the_table_lists_runs_newest_first(
    migrated_db: str, runs: dict[str, int], section: str
) -> None:
    done = await dockyard(migrated_db, "--section", section)
    assert done.exit_code == 0, done.output
    by_id = {str(run_id): state for state, run_id in runs.items()}
    rows = table_rows(done.stdout)
    assert [by_id[row[0]] for row in rows] == ["missed", "stalled", "ongoing", "failed", "finished"]
    assert [row[2] for row in rows] == ["missed", "stalled", "ongoing", "failed", "finished"]
    assert rows[-1][1] == f"dump.{section}.old"
    assert rows[-1][4:7] == ["2 h", "168 GiB", ""]
    assert rows[3][6] == "backup"
    assert rows[2][4].endswith("so far"), "an ongoing run's duration is how long it has run"
    assert " run(s) since " in done.stdout
    assert "5 run(s)" in done.stdout
    header = done.stdout.splitlines()[1]
    for column in ("id", "name", "state", "started", "duration", "size", "error stage"):
        assert column in header


async def test_filters(migrated_db: str, runs: dict[str, int], section: str, db: asyncpg.Connection) -> None:
    async def ids(*args: str) -> list[int]:
        done = await dockyard(migrated_db, "--section", section, "--json", *args)
        assert done.exit_code == 0, done.output
        return [row["id"] for row in json.loads(done.stdout)]

    assert await ids("--status", "stalled") == [runs["stalled"]]
    assert await ids("--status", "missed") == [runs["missed"]]
    assert await ids("--status", "ongoing") == [runs["ongoing"]], "a stalled run is not listed as ongoing"
    assert await ids("--status", "failed", "--status", "finished") == [runs["failed"], runs["finished"]]
    assert await ids("--type", "snapshot") == [runs["failed"]]
    assert await ids("--datacenter", "codfw") == [runs["ongoing"]]
    now: dt.datetime = await db.fetchval("SELECT now()")
    since = (now - 3 * DAY - HOUR).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    until = (now - DAY - HOUR).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert await ids("--since", since, "--until", until) == [runs["stalled"], runs["ongoing"]]
    assert await ids("--limit", "2") == [runs["missed"], runs["stalled"]]


async def test_json_has_every_field(migrated_db: str, runs: dict[str, int], section: str) -> None:
    done = await dockyard(migrated_db, "--section", section, "--status", "failed", "--json")
    (row,) = json.loads(done.stdout)
    assert row["id"] == runs["failed"]
    assert (row["state"], row["status"], row["type"], row["error_stage"], row["error_exit_code"]) == (
        "failed",
        "failed",
        "snapshot",
        "backup",
        1,
    )
    assert row["duration_s"] == pytest.approx(7200, abs=1)
    dt.datetime.fromisoformat(row["started_at"])


async def test_nothing_matches(migrated_db: str, section: str) -> None:
    done = await dockyard(migrated_db, "--section", section, "--type", "dump")
    assert done.exit_code == 0
    said = done.stdout.strip()
    assert said.startswith(f"No runs match section {section}; type dump; since "), said
    assert said.endswith("(--all for older runs).")
    as_json = await dockyard(migrated_db, "--section", section, "--json")
    assert json.loads(as_json.stdout) == []


async def test_bad_options_are_usage_errors(migrated_db: str) -> None:
    bad_type = await dockyard(migrated_db, "--type", "cold")
    assert bad_type.exit_code == 2
    assert "--type must be dump or snapshot" in bad_type.output
    bad_state = await dockyard(migrated_db, "--status", "lost")
    assert bad_state.exit_code == 2
    assert "stalled" in bad_state.output, "the states that exist are named"


async def test_recent_runs_by_default_all_on_request(
    migrated_db: str, runs: dict[str, int], section: str, db: asyncpg.Connection
) -> None:
    old = await add_run(db, section, ago=30 * DAY, size=160 * GIB)

    async def ids(*args: str) -> list[int]:
        done = await dockyard(migrated_db, "--section", section, "--json", *args)
        assert done.exit_code == 0, done.output
        return [row["id"] for row in json.loads(done.stdout)]

    recent = await ids()
    assert old not in recent, "a run of a month ago is not recent"
    assert recent == [runs[state] for state in ("missed", "stalled", "ongoing", "failed", "finished")]
    assert (await ids("--all"))[-1] == old, "--all lists every age, still newest first"
    month = (dt.datetime.now(dt.UTC) - 31 * DAY).strftime("%Y-%m-%dT%H:%M:%S")
    assert (await ids("--since", month))[-1] == old
    table = await dockyard(migrated_db, "--section", section)
    assert "5 run(s) since " in table.stdout
    both = await dockyard(migrated_db, "--all", "--since", month)
    assert both.exit_code == 2
    assert "--all and --since contradict each other" in both.output
