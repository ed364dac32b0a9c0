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
    name = f"BACKUP_SOURCE_{uuid.uuid4().hex[:8].upper()}"
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
    conn: asyncpg.Connection,
    section: str,
    cron: str,
    source_env: str | None = None,
    type_: str = "dump",
    *,
    host: str | None = None,
    timezone: str = "UTC",
    created_at: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=UTC),
) -> int:
    schedule_id: int = await conn.fetchval(
        """INSERT INTO backups.schedules (section, type, datacenter, cron, source, source_env, host, timezone,
                                          created_at)
        VALUES ($1, $2, 'eqiad', $3, 'db1139:3311', $4, $5, $6, $7) RETURNING id""",
        section,
        type_,
        cron,
        source_env,
        host,
        timezone,
        created_at,
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


async def test_slots_past_their_grace_are_left_missed_and_a_forbidden_source_fails_the_run(
    catalog_url: str, catalog: asyncpg.Connection, tmp_path: Path, pg: PgServer
) -> None:
    # A row from before the BACKUP_SOURCE_ rule, naming a secret of the server.
    await add_schedule(catalog, "s7", NEVER_SOON, "JWT_SECRET")
    (late,) = await due_slots(catalog, "s7", [6 * 60])  # dumps wait 5 h at most
    (due,) = await due_slots(catalog, "s7", [1])
    secret = "jwt-" + uuid.uuid4().hex
    pool = await asyncpg.create_pool(catalog_url, min_size=1, max_size=3)
    try:
        worker = scheduler.Scheduler(pool, options(tmp_path, pg, environ={"JWT_SECRET": secret}))
        assert await worker.tick() == 1
        await asyncio.gather(*worker.running)
    finally:
        await pool.close()
    rows = {r["id"]: r for r in await catalog.fetch("SELECT * FROM backups.runs WHERE section = 's7'")}
    assert rows[late]["status"] == "scheduled"
    assert rows[due]["status"] == "failed"
    assert rows[due]["error_stage"] == "config"
    assert "source_env JWT_SECRET is refused" in rows[due]["error_message"]
    assert "BACKUP_SOURCE_*" in rows[due]["error_message"]
    assert secret not in rows[due]["error_message"]
    assert not (tmp_path / "store").exists(), "nothing was run"


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
    await add_schedule(catalog, "s10", NEVER_SOON, "BACKUP_SOURCE_S10")
    (ok,) = await due_slots(catalog, "s10", [2])
    await add_schedule(catalog, "s11", NEVER_SOON, "BACKUPS_URL_S11")  # not BACKUP_SOURCE_*: refused
    (bad,) = await due_slots(catalog, "s11", [2])
    await add_schedule(catalog, "s14", NEVER_SOON, "BACKUP_SOURCE_S14_UNSET")  # another host's to run
    (theirs,) = await due_slots(catalog, "s14", [2])
    env = cli_env(catalog_url, tmp_path, pg, BACKUP_SOURCE_S10=source, BACKUPS_URL_S11=source)
    done = await asyncio.to_thread(cli, "scheduler", "--once", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 due run(s) executed" in done.stdout
    assert f"run {ok} dump.s10." in done.stdout
    assert ": finished" in done.stdout
    assert f"run {bad} dump.s11." in done.stdout
    assert "failed at stage config: source_env BACKUPS_URL_S11 is refused" in done.stdout
    assert await catalog.fetchval("SELECT status FROM backups.runs WHERE id = $1", theirs) == "scheduled"
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
        f"run {ids[2]} expired (dump of m1 in eqiad, unnamed): files kept (not written by Dockyard's runner"
        in purged.stdout
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


async def last_run_id(conn: asyncpg.Connection) -> int:
    value: int = await conn.fetchval(
        "SELECT pg_sequence_last_value(pg_get_serial_sequence('backups.runs', 'id')::regclass)"
    )
    return value


async def test_planning_again_draws_no_run_ids(catalog: asyncpg.Connection) -> None:
    await add_schedule(catalog, "p1", "0 * * * *")  # hourly: 168 slots a week
    monday = dt.datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert await scheduler.plan(catalog, now=monday) == 168
    after_first = await last_run_id(catalog)
    for _ in range(3):
        assert await scheduler.plan(catalog, now=monday) == 0
    assert await last_run_id(catalog) == after_first, "rounds that add nothing consume no run id"
    assert await scheduler.plan(catalog, now=monday + dt.timedelta(hours=2)) == 2
    assert await last_run_id(catalog) == after_first + 2


async def test_slots_follow_the_schedules_time_zone_across_daylight_saving(
    catalog: asyncpg.Connection,
) -> None:
    await add_schedule(catalog, "z1", "30 2 * * *", timezone="Europe/Berlin")
    await add_schedule(catalog, "z2", "0 9 * * *", timezone="America/New_York")
    # Berlin springs forward on Sunday 29 March 2026 (02:00 → 03:00), New York already did (8 March).
    await scheduler.plan(
        catalog, now=dt.datetime(2026, 3, 27, 12, 0, tzinfo=UTC), horizon=dt.timedelta(days=4)
    )
    rows = await catalog.fetch(
        "SELECT section, scheduled_for FROM backups.runs ORDER BY section, scheduled_for"
    )
    slots = {(r["section"], r["scheduled_for"].astimezone(UTC).strftime("%d %H:%M")) for r in rows}
    assert slots == {
        ("z1", "28 01:30"),  # 02:30 CET
        ("z1", "29 01:30"),  # 02:30 does not exist that night: 03:30 CEST, just after the jump
        ("z1", "30 00:30"),  # 02:30 CEST
        ("z1", "31 00:30"),
        ("z2", "27 13:00"),  # 09:00 EDT
        ("z2", "28 13:00"),
        ("z2", "29 13:00"),
        ("z2", "30 13:00"),
    }


async def test_no_slot_is_planned_before_the_schedule_existed(catalog: asyncpg.Connection) -> None:
    created = dt.datetime(2026, 11, 23, 10, 0, 30, tzinfo=UTC)  # 30 s after the 10:00 slot
    await add_schedule(catalog, "c1", "0 10 * * *", created_at=created)
    await scheduler.plan(catalog, now=created, horizon=dt.timedelta(days=3))
    await scheduler.plan(catalog, now=created - dt.timedelta(days=3), horizon=dt.timedelta(days=6))
    planned = [r["scheduled_for"] for r in await catalog.fetch("SELECT scheduled_for FROM backups.runs")]
    assert sorted(slot.astimezone(UTC).strftime("%d %H:%M") for slot in planned) == ["24 10:00", "25 10:00"]


async def test_two_schedulers_claim_only_what_each_can_run(
    catalog_url: str, catalog: asyncpg.Connection, source: str, tmp_path: Path, pg: PgServer
) -> None:
    secret = "jwt-" + uuid.uuid4().hex
    common = {"BACKUP_SOURCE_SHARED": source, "JWT_SECRET": secret}
    first = options(tmp_path, pg, destination=tmp_path / "a", host="dbprov1001", environ=common)
    second = options(
        tmp_path,
        pg,
        destination=tmp_path / "b",
        host="dbprov2001",
        environ={**common, "BACKUP_SOURCE_ONLY_2001": source},
    )
    await add_schedule(catalog, "h1", NEVER_SOON, "BACKUP_SOURCE_SHARED", host="dbprov1001")
    await add_schedule(catalog, "h2", NEVER_SOON, "BACKUP_SOURCE_ONLY_2001")  # credentials on 2001 only
    await add_schedule(catalog, "h3", NEVER_SOON, "BACKUP_SOURCE_SHARED")  # either may run it
    await add_schedule(catalog, "h4", NEVER_SOON, "BACKUP_SOURCE_SHARED", host="dbprov3001")  # neither
    await add_schedule(catalog, "h5", NEVER_SOON, "BACKUP_SOURCE_NOWHERE")  # credentials nowhere here
    await add_schedule(catalog, "h6", NEVER_SOON, "JWT_SECRET")  # an old row: no scheduler may run it
    slots = {
        section: await due_slots(catalog, section, [1, 2]) for section in ("h1", "h2", "h3", "h4", "h5", "h6")
    }
    pool = await asyncpg.create_pool(catalog_url, min_size=2, max_size=8)
    try:
        workers = [scheduler.Scheduler(pool, first), scheduler.Scheduler(pool, second)]
        for _ in range(10):  # rounds of both at once, each waiting for its runs, until nothing is left
            started = await asyncio.gather(*(worker.tick() for worker in workers))
            await asyncio.gather(*(task for worker in workers for task in worker.running))
            if not any(started):
                break
    finally:
        await pool.close()
    runs = {
        r["id"]: r
        for r in await catalog.fetch(
            "SELECT id, section, status, host, error_stage, error_message FROM backups.runs"
        )
    }

    def outcome(section: str) -> set[tuple[str, str | None]]:
        return {(runs[run_id]["status"], runs[run_id]["host"]) for run_id in slots[section]}

    assert outcome("h1") == {("finished", "dbprov1001")}, [runs[i]["error_message"] for i in slots["h1"]]
    assert outcome("h2") == {("finished", "dbprov2001")}
    assert {status for status, _ in outcome("h3")} == {"finished"}
    assert outcome("h4") == outcome("h5") == {("scheduled", None)}, "left for the scheduler that can run them"
    assert {status for status, _ in outcome("h6")} == {"failed"}
    for run_id in slots["h6"]:
        assert runs[run_id]["error_stage"] == "config"
        assert secret not in runs[run_id]["error_message"]
    finished = [run_id for run_id, run in runs.items() if run["status"] == "finished"]
    written = [
        path for store in (tmp_path / "a", tmp_path / "b") if store.exists() for path in store.iterdir()
    ]
    assert len(written) == len(finished) == 6, "each slot executed once"
