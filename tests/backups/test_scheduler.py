"""The scheduler on a real PostgreSQL: planning, exactly-once execution, grace, shutdown, housekeeping."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from dockyard.backups import scheduler
from tests.support.postgres import PgServer

UTC = dt.UTC
# A schedule whose own slots are far away: the tests place the due slots themselves.
NEVER_SOON = "0 0 1 1 *"


@pytest.fixture
def source_env(source: str, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"BACKUPS_URL_{uuid.uuid4().hex[:8].upper()}"
    monkeypatch.setenv(name, source)
    return name


def options(tmp_path: Path, pg: PgServer, **overrides: object) -> scheduler.Options:
    values: dict[str, object] = {
        "destination": tmp_path / "store",
        "interval_s": 0.1,
        "pg_bin": Path(pg.pg_bin) if pg.pg_bin else None,
        "heartbeat_s": 0.1,
        "host": "dbprov-test",
    }
    return scheduler.Options(**{**values, **overrides})  # type: ignore[arg-type]


def slow_pg_dump(tmp_path: Path) -> tuple[Path, Path]:
    """A folder with a `pg_dump` that writes its pid to a file, then sleeps a minute: (folder, pid file)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    pid_file = tmp_path / "pg_dump.pid"
    tool = folder / "pg_dump"
    tool.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    tool.chmod(0o755)
    return folder, pid_file


async def add_schedule(
    conn: asyncpg.Connection, section: str, cron: str, source_env: str | None = None, type_: str = "dump"
) -> int:
    schedule_id: int = await conn.fetchval(
        """INSERT INTO backups.schedules (section, type, datacenter, cron, source, source_env)
        VALUES ($1, $2, 'eqiad', $3, 'db1139:3311', $4) RETURNING id""",
        section,
        type_,
        cron,
        source_env,
    )
    return schedule_id


async def due_slots(conn: asyncpg.Connection, section: str, minutes_ago: list[int]) -> list[int]:
    """Scheduled runs whose time has come (as the planner would have left them)."""
    ids = []
    for minutes in minutes_ago:
        ids.append(
            await conn.fetchval(
                """INSERT INTO backups.runs (section, type, datacenter, status, scheduled_for, registered_by)
                VALUES ($1, 'dump', 'eqiad', 'scheduled',
                        date_trunc('minute', now()) - make_interval(mins => $2), 'scheduler')
                RETURNING id""",
                section,
                minutes,
            )
        )
    return ids


async def test_plan_creates_a_week_of_slots_once(catalog: asyncpg.Connection) -> None:
    await add_schedule(catalog, "s1", "0 19 * * sun,tue,wed,fri", type_="snapshot")
    await add_schedule(catalog, "s1", "0 0 * * tue")
    monday = dt.datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert await scheduler.plan(catalog, now=monday) == 5
    assert await scheduler.plan(catalog, now=monday) == 0, "planning again adds nothing"
    slots = await catalog.fetch(
        "SELECT type, scheduled_for, status, source FROM backups.runs ORDER BY scheduled_for, type"
    )
    assert [(r["type"], r["scheduled_for"].strftime("%a %d %H:%M")) for r in slots] == [
        ("dump", "Tue 24 00:00"),
        ("snapshot", "Tue 24 19:00"),
        ("snapshot", "Wed 25 19:00"),
        ("snapshot", "Fri 27 19:00"),
        ("snapshot", "Sun 29 19:00"),
    ]
    assert {(r["status"], r["source"]) for r in slots} == {("scheduled", "db1139:3311")}


async def test_plan_follows_a_changed_or_disabled_schedule_and_spares_other_runs(
    catalog: asyncpg.Connection,
) -> None:
    schedule_id = await add_schedule(catalog, "s2", "0 0 * * tue")
    monday = dt.datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    await scheduler.plan(catalog, now=monday)
    # A slot another tool registered for the same series must survive re-planning.
    await catalog.execute(
        """INSERT INTO backups.runs (section, type, datacenter, status, scheduled_for, registered_by)
        VALUES ('s2', 'dump', 'eqiad', 'scheduled', '2026-11-26 03:00Z', 'api:ops@example.org')"""
    )
    await catalog.execute("UPDATE backups.schedules SET cron = '0 0 * * thu' WHERE id = $1", schedule_id)
    assert await scheduler.plan(catalog, now=monday) == 1
    planned = await catalog.fetch(
        "SELECT scheduled_for, registered_by FROM backups.runs ORDER BY scheduled_for"
    )
    assert [(r["scheduled_for"].strftime("%a %H:%M"), r["registered_by"]) for r in planned] == [
        ("Thu 00:00", "scheduler"),
        ("Thu 03:00", "api:ops@example.org"),
    ]
    await catalog.execute("UPDATE backups.schedules SET enabled = false WHERE id = $1", schedule_id)
    await scheduler.plan(catalog, now=monday)
    left = await catalog.fetch("SELECT registered_by FROM backups.runs")
    assert [r["registered_by"] for r in left] == ["api:ops@example.org"]


async def test_a_bad_cron_in_the_table_is_skipped_not_fatal(catalog: asyncpg.Connection) -> None:
    await add_schedule(catalog, "s3", "0 25 * * *")
    await add_schedule(catalog, "s4", "0 0 * * *")
    assert await scheduler.plan(catalog, now=dt.datetime(2026, 11, 23, tzinfo=UTC)) == 7


async def test_concurrent_claims_take_each_due_run_once(
    catalog_url: str, catalog: asyncpg.Connection, source_env: str, tmp_path: Path, pg: PgServer
) -> None:
    await add_schedule(catalog, "s5", NEVER_SOON, source_env)
    ids = await due_slots(catalog, "s5", [1, 2, 3, 4, 5])
    pool = await asyncpg.create_pool(catalog_url, min_size=20, max_size=20)
    try:

        async def claim_once() -> scheduler.Claim | None:
            async with pool.acquire() as conn:
                return await scheduler.claim(conn, options(tmp_path, pg))

        claims = await asyncio.gather(*(claim_once() for _ in range(20)))
    finally:
        await pool.close()
    taken = [claim.run_id for claim in claims if claim is not None]
    assert sorted(taken) == sorted(ids), "every due run claimed, none twice"
    states = await catalog.fetch("SELECT status, host, name FROM backups.runs")
    assert {(r["status"], r["host"]) for r in states} == {("ongoing", "dbprov-test")}
    assert all(r["name"].startswith("dump.s5.") for r in states)


async def test_two_schedulers_execute_every_run_exactly_once(
    catalog_url: str, catalog: asyncpg.Connection, source_env: str, tmp_path: Path, pg: PgServer
) -> None:
    await add_schedule(catalog, "s6", NEVER_SOON, source_env)
    ids = await due_slots(catalog, "s6", [1, 2, 3, 4, 5, 6])
    stores = [tmp_path / "a", tmp_path / "b"]
    async with (
        scheduler.running(catalog_url, options(tmp_path, pg, destination=stores[0], host="dbprov1001")),
        scheduler.running(catalog_url, options(tmp_path, pg, destination=stores[1], host="dbprov2001")),
    ):
        for _ in range(300):
            if not await catalog.fetchval(
                "SELECT count(*) FROM backups.runs WHERE id = ANY($1) AND status IN ('scheduled', 'ongoing')",
                ids,
            ):
                break
            await asyncio.sleep(0.1)
    runs = await catalog.fetch(
        "SELECT id, status, host, location, error_message FROM backups.runs WHERE id = ANY($1)", ids
    )
    assert {r["status"] for r in runs} == {"finished"}, [r["error_message"] for r in runs]
    written = sorted(path.name for store in stores if store.exists() for path in store.iterdir())
    assert len(written) == len(ids), "one backup directory per run: no run was taken twice"
    assert sorted(Path(r["location"]).name for r in runs) == written
    for r in runs:
        assert Path(r["location"]).parent == stores[0 if r["host"] == "dbprov1001" else 1]


async def test_slots_past_their_grace_are_left_missed_and_a_missing_source_fails_the_run(
    catalog_url: str, catalog: asyncpg.Connection, tmp_path: Path, pg: PgServer
) -> None:
    await add_schedule(catalog, "s7", NEVER_SOON, "BACKUPS_URL_NOT_SET_ANYWHERE")
    (late,) = await due_slots(catalog, "s7", [6 * 60])  # dumps wait 5 h at most
    (due,) = await due_slots(catalog, "s7", [1])
    pool = await asyncpg.create_pool(catalog_url, min_size=1, max_size=3)
    try:
        worker = scheduler.Scheduler(pool, options(tmp_path, pg))
        assert await worker.tick() == 1
        await asyncio.gather(*worker.running)
    finally:
        await pool.close()
    rows = {r["id"]: r for r in await catalog.fetch("SELECT * FROM backups.runs WHERE section = 's7'")}
    assert rows[late]["status"] == "scheduled"
    assert rows[due]["status"] == "failed"
    assert rows[due]["error_stage"] == "config"
    assert "BACKUPS_URL_NOT_SET_ANYWHERE" in rows[due]["error_message"]
    assert "dbprov-test" in rows[due]["error_message"]


async def test_stopping_the_scheduler_kills_the_tool_and_records_the_interruption(
    catalog_url: str, catalog: asyncpg.Connection, source_env: str, tmp_path: Path, pg: PgServer
) -> None:
    fake_bin, pid_file = slow_pg_dump(tmp_path)
    await add_schedule(catalog, "s8", NEVER_SOON, source_env)
    (run_id,) = await due_slots(catalog, "s8", [1])
    async with scheduler.running(catalog_url, options(tmp_path, pg, pg_bin=fake_bin)):
        for _ in range(100):
            if pid_file.exists() and pid_file.read_text().strip():
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the tool never started")
    run = await catalog.fetchrow(
        "SELECT status, error_stage, error_message FROM backups.runs WHERE id = $1", run_id
    )
    assert (run["status"], run["error_stage"]) == ("interrupted", "backup")
    pid = int(pid_file.read_text())
    await asyncio.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_housekeeping_takes_turns_and_raises_alerts(
    catalog_url: str, catalog: asyncpg.Connection, tmp_path: Path, pg: PgServer
) -> None:
    await add_schedule(catalog, "s9", "0 0 * * tue")  # configured, never backed up: critical
    holder = await asyncpg.connect(catalog_url)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", scheduler.HOUSEKEEPING_LOCK)
        assert await scheduler.housekeeping(catalog, options(tmp_path, pg)) is False
        assert await catalog.fetchval("SELECT count(*) FROM backups.alerts") == 0
        await holder.execute("SELECT pg_advisory_unlock($1)", scheduler.HOUSEKEEPING_LOCK)
    finally:
        await holder.close()
    assert await scheduler.housekeeping(catalog, options(tmp_path, pg)) is True
    alert = await catalog.fetchrow("SELECT section, severity FROM backups.alerts")
    assert (alert["section"], alert["severity"]) == ("s9", "critical")


DOCKYARD = str(Path(sys.executable).parent / "dockyard")


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKYARD, "backups", *args], env=env, capture_output=True, text=True, check=False)


def cli_env(catalog_url: str, tmp_path: Path, pg: PgServer, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": catalog_url,
        "BACKUPS_STORE": str(tmp_path / "store"),
        **({"PG_BIN": pg.pg_bin} if pg.pg_bin else {}),
        **extra,
    }


async def test_scheduler_once_executes_the_due_runs_and_says_how_they_ended(
    catalog_url: str, catalog: asyncpg.Connection, source: str, tmp_path: Path, pg: PgServer
) -> None:
    await add_schedule(catalog, "s10", NEVER_SOON, "BACKUPS_URL_S10")
    (ok,) = await due_slots(catalog, "s10", [2])
    await add_schedule(catalog, "s11", NEVER_SOON, "BACKUPS_URL_S11_UNSET")
    (bad,) = await due_slots(catalog, "s11", [2])
    env = cli_env(catalog_url, tmp_path, pg, BACKUPS_URL_S10=source)
    done = await asyncio.to_thread(cli, "scheduler", "--once", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 due run(s) executed" in done.stdout
    assert f"run {ok} dump.s10." in done.stdout
    assert ": finished" in done.stdout
    assert f"run {bad} dump.s11." in done.stdout
    assert "failed at stage config: BACKUPS_URL_S11_UNSET" in done.stdout
    location = await catalog.fetchval("SELECT location FROM backups.runs WHERE id = $1", ok)
    assert Path(location).parent == tmp_path / "store"
    assert (Path(location) / "s10.dump").stat().st_size > 0


async def test_sigterm_stops_the_scheduler_and_its_backup_cleanly(
    catalog_url: str, catalog: asyncpg.Connection, source_env: str, tmp_path: Path, pg: PgServer
) -> None:
    fake_bin, started = slow_pg_dump(tmp_path)
    await add_schedule(catalog, "s12", NEVER_SOON, source_env)
    (run_id,) = await due_slots(catalog, "s12", [1])
    env = cli_env(catalog_url, tmp_path, pg, PG_BIN=str(fake_bin), BACKUPS_SCHEDULER_INTERVAL_S="0.2")
    process = await asyncio.to_thread(
        subprocess.Popen, [DOCKYARD, "backups", "scheduler"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        for _ in range(200):
            if started.exists():
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the backup never started")
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.to_thread(process.communicate, timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "scheduler on" in stderr
    run = await catalog.fetchrow("SELECT status, error_stage FROM backups.runs WHERE id = $1", run_id)
    assert (run["status"], run["error_stage"]) == ("interrupted", "backup")


async def test_purge_lists_then_expires(
    catalog_url: str, catalog: asyncpg.Connection, tmp_path: Path, pg: PgServer
) -> None:
    env = cli_env(catalog_url, tmp_path, pg)
    assert "nothing to expire" in (await asyncio.to_thread(cli, "purge", env=env)).stdout
    ids = [
        await catalog.fetchval(
            """INSERT INTO backups.runs (section, type, datacenter, status, started_at, ended_at)
            VALUES ('m1', 'dump', 'eqiad', 'finished', now() - make_interval(days => $1),
                    now() - make_interval(days => $1)) RETURNING id""",
            days,
        )
        for days in (1, 2, 100)
    ]
    listed = await asyncio.to_thread(cli, "purge", "--dry-run", env=env)
    assert listed.stdout.splitlines() == [f"run {ids[2]} would expire"]
    assert await catalog.fetchval("SELECT status FROM backups.runs WHERE id = $1", ids[2]) == "finished"
    purged = await asyncio.to_thread(cli, "purge", env=env)
    assert purged.returncode == 0, purged.stderr
    assert (
        f"run {ids[2]} expired (dump of m1 in eqiad, unnamed): files kept (taken elsewhere)" in purged.stdout
    )
    assert await catalog.fetchval("SELECT status FROM backups.runs WHERE id = $1", ids[2]) == "expired"


async def test_a_backup_taken_by_hand_goes_to_the_same_store(
    catalog_url: str, catalog: asyncpg.Connection, source: str, tmp_path: Path, pg: PgServer
) -> None:
    env = cli_env(catalog_url, tmp_path, pg)
    args = ("run", "--section", "s13", "--type", "dump", "--datacenter", "eqiad", "--source-url", source)
    done = await asyncio.to_thread(cli, *args, env=env)
    assert done.returncode == 0, done.stderr
    location = await catalog.fetchval("SELECT location FROM backups.runs WHERE section = 's13'")
    assert Path(location).parent == tmp_path / "store"
