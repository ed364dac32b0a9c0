"""The backups demo data set against a real PostgreSQL: production's series, history and anomalies,
consistent files, ids past 10 000, and the same rows when seeded again."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from dockyard.backups.seed import TABLES, build, seed
from tests.support.postgres import PgServer

DUMPS = {
    "eqiad": ("s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "x1", "m1", "m2", "m3", "m5", "matomo",
              "analytics_meta", "zarcillo", "es4", "es5"),
    "codfw": ("s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "x1", "m1", "m2", "m3", "m5", "zarcillo",
              "es4", "es5"),
}  # fmt: skip
SNAPSHOTS = ("s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "x1")
SERIES = {(section, "dump", dc) for dc, sections in DUMPS.items() for section in sections} | {
    (section, "snapshot", dc) for section in SNAPSHOTS for dc in DUMPS
}
LABEL = re.compile(r"[a-z]+\d{4}\.(eqiad|codfw)\.wmnet(:33\d\d)?")
LAST_TWO_FINISHED = """
SELECT section, type, datacenter, array_agg(total_size ORDER BY started_at DESC) AS sizes
FROM (SELECT *, row_number() OVER (PARTITION BY section, type, datacenter ORDER BY started_at DESC) AS n
      FROM backups.runs WHERE status = 'finished') r
WHERE n <= 2 GROUP BY 1, 2, 3
"""
CHECKSUMS = {
    "runs": "id",
    "schedules": "id",
    "files": "run_id, path, name",
    "objects": "run_id, db, name",
    "restore_tests": "id",
}


@dataclass
class Seeded:
    url: str
    output: str
    seconds: float


def seed_command(pg: PgServer, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dockyard.seeding", "--size", "demo", "--service", "backups", *extra]
    return subprocess.run(command, env=pg.env(url), capture_output=True, text=True, check=False, timeout=120)


async def checksums(conn: asyncpg.Connection) -> dict[str, str]:
    return {
        table: await conn.fetchval(
            f"SELECT md5(string_agg(t::text, ',' ORDER BY {order})) FROM backups.{table} t"
        )
        for table, order in CHECKSUMS.items()
    }


@pytest.fixture(scope="module")
def seeded(pg: PgServer) -> Iterator[Seeded]:
    """A migrated database with the demo data set, loaded the way seed_db.sh does."""
    with pg.fresh_database("dy_bk_seed") as url:
        pg.migrate(url)
        began = time.monotonic()
        done = seed_command(pg, url)
        assert done.returncode == 0, done.stderr
        yield Seeded(url, done.stderr, time.monotonic() - began)


@pytest.fixture
async def conn(seeded: Seeded) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(seeded.url)
    try:
        yield connection
    finally:
        await connection.close()


async def test_row_counts_and_the_recorded_seed_run(seeded: Seeded, conn: asyncpg.Connection) -> None:
    counts = {table: await conn.fetchval(f"SELECT count(*) FROM backups.{table}") for table in TABLES}
    assert 1300 <= counts["runs"] <= 1600
    assert counts["schedules"] == 52
    assert 3_000 <= counts["files"] <= 20_000
    assert counts["objects"] > 1_000
    assert 3 <= counts["restore_tests"] <= 10
    assert counts["alerts"] == counts["alert_events"] == 0
    rows = sum(counts.values())
    assert f"seeded {rows:,} rows" in seeded.output
    assert (
        await conn.fetchval("SELECT rows FROM core.seed_runs WHERE service = 'backups' AND size = 'demo'")
        == rows
    )
    assert seeded.seconds < 10


async def test_every_series_with_its_source_host_and_schedule(conn: asyncpg.Connection) -> None:
    triples = {
        tuple(row) for row in await conn.fetch("SELECT DISTINCT section, type, datacenter FROM backups.runs")
    }
    assert triples == SERIES
    assert len([key for key in triples if key[1] == "dump"]) == 34
    schedules = await conn.fetch("SELECT * FROM backups.schedules")
    assert {(row["section"], row["type"], row["datacenter"]) for row in schedules} == SERIES
    for row in schedules:
        assert row["cron"] == ("0 0 * * 2" if row["type"] == "dump" else "0 19 * * 0,2,3,5")
        assert row["enabled"]
    sources = {
        (row["section"], row["datacenter"]): (row["source"], row["host"])
        for row in await conn.fetch("SELECT DISTINCT section, datacenter, source, host FROM backups.runs")
    }
    assert len(sources) == len({(section, dc) for section, _, dc in SERIES})
    assert sources["s1", "eqiad"] == ("db1139.eqiad.wmnet:3311", "dbprov1002.eqiad.wmnet")
    assert sources["s4", "codfw"] == ("db2099.codfw.wmnet:3314", "dbprov2001.codfw.wmnet")
    assert sources["es4", "eqiad"] == ("es1022.eqiad.wmnet", "backup1002.eqiad.wmnet")
    assert sources["zarcillo", "codfw"] == ("db2093.codfw.wmnet", "dbprov2003.codfw.wmnet")
    assert sources["m5", "eqiad"] == ("db1117.eqiad.wmnet:3325", "dbprov1003.eqiad.wmnet")
    for (_, dc), (source, host) in sources.items():
        for name in (source, host):
            match = LABEL.fullmatch(name)
            assert match, name
            assert match[1] == dc, name


async def test_ninety_days_of_weekly_dumps_and_four_snapshots_a_week(conn: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    counts = await conn.fetch(
        "SELECT section, type, datacenter, count(*) AS n, min(started_at) AS first FROM backups.runs"
        " WHERE status IN ('finished', 'failed', 'expired') AND attempt = 1 AND scheduled_for IS NOT NULL"
        " GROUP BY 1, 2, 3"
    )
    for row in counts:
        if row["section"] == "analytics_meta":
            continue
        expected = (12, 14) if row["type"] == "dump" else (49, 53)
        assert expected[0] <= row["n"] <= expected[1], dict(row)
        assert now - timedelta(days=91) < row["first"] < now - timedelta(days=80)
    for run in await conn.fetch("SELECT * FROM backups.runs WHERE scheduled_for IS NOT NULL"):
        slot = run["scheduled_for"]
        if run["type"] == "dump":
            assert (slot.isoweekday(), slot.hour, slot.minute) == (2, 0, 0)
        else:
            assert slot.isoweekday() in (7, 2, 3, 5)
            assert (slot.hour, slot.minute) == (19, 0)
        if run["status"] == "scheduled":
            continue
        assert run["started_at"] >= slot
        if run["type"] == "dump":
            assert run["name"] == f"dump.{run['section']}.{run['started_at']:%Y-%m-%d--%H-%M-%S}"
        else:
            assert re.fullmatch(rf"snapshot\.{run['section']}\.{slot:%Y-%m-%d}--19-00-0\d", run["name"])
    finished = await conn.fetch("SELECT * FROM backups.runs WHERE status = 'finished'")
    for run in finished:
        assert run["heartbeat_at"] == run["ended_at"] > run["started_at"]
        assert run["bytes_done"] == run["total_size"] > 0


async def test_sizes_durations_and_dump_concurrency(conn: asyncpg.Connection) -> None:
    typical = await conn.fetch(
        "SELECT section, type, datacenter, percentile_cont(0.5) WITHIN GROUP (ORDER BY total_size) AS size,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - started_at)) AS took"
        " FROM backups.runs WHERE status = 'finished' GROUP BY 1, 2, 3"
    )
    medians = {(row["section"], row["type"], row["datacenter"]): row for row in typical}
    for key, size_gb, hours in (
        (("s1", "dump", "eqiad"), 168, 1.7),
        (("s4", "dump", "codfw"), 403, 15),
        (("es4", "dump", "eqiad"), 1942, 13.5),
        (("s1", "snapshot", "eqiad"), 1127, 1.2),
        (("x1", "snapshot", "codfw"), 259 * 1.17, 0.35),
    ):
        assert medians[key]["size"] == pytest.approx(size_gb * 1e9, rel=0.03), key
        assert medians[key]["took"] == pytest.approx(hours * 3600, rel=0.06), key
    zarcillo = await conn.fetch(
        "SELECT total_size FROM backups.runs WHERE section = 'zarcillo' AND status = 'finished'"
    )
    assert all(400_000 <= row[0] <= 470_000 for row in zarcillo)
    busiest = await conn.fetchval(
        "SELECT max(n) FROM (SELECT a.id, count(*) AS n FROM backups.runs a JOIN backups.runs b"
        " ON a.host = b.host AND a.type = b.type"
        " AND b.started_at <= a.started_at AND b.ended_at > a.started_at"
        " WHERE a.type = 'dump' AND a.attempt = 1 AND b.attempt = 1 AND a.scheduled_for IS NOT NULL"
        " AND b.scheduled_for IS NOT NULL GROUP BY a.id) c"
    )
    assert busiest == 2


async def test_size_anomalies_and_the_single_backup_series(conn: asyncpg.Connection) -> None:
    changes = {}
    for row in await conn.fetch(LAST_TWO_FINISHED):
        key = (row["section"], row["type"], row["datacenter"])
        if len(row["sizes"]) == 1:
            assert key == ("analytics_meta", "dump", "eqiad")
            continue
        latest, previous = row["sizes"]
        if abs(latest / previous - 1) > 0.05:
            changes[key] = latest / previous
    assert set(changes) == {("s6", "dump", "eqiad"), ("x1", "dump", "codfw"), ("matomo", "dump", "eqiad")}
    assert changes["s6", "dump", "eqiad"] == pytest.approx(0.80, abs=0.001)
    assert changes["x1", "dump", "codfw"] == pytest.approx(1.07, abs=0.001)
    tiny = await conn.fetch(
        "SELECT section, datacenter, total_size FROM backups.runs WHERE total_size < 307200"
    )
    assert [tuple(row) for row in tiny] == [("matomo", "eqiad", 150_000)]
    single = await conn.fetch(
        "SELECT section, type, datacenter, count(*) FILTER (WHERE status = 'finished') AS finished,"
        " count(*) FILTER (WHERE status = 'failed') AS failed FROM backups.runs GROUP BY 1, 2, 3"
        " HAVING count(*) FILTER (WHERE status = 'finished') < 2"
    )
    assert [tuple(row) for row in single] == [("analytics_meta", "dump", "eqiad", 1, 0)]


async def test_one_snapshot_series_is_stale_after_two_failures(conn: asyncpg.Connection) -> None:
    stale = await conn.fetch(
        "SELECT section, type, datacenter FROM backups.runs WHERE status = 'finished' GROUP BY 1, 2, 3"
        " HAVING max(started_at) < now() - interval '3 days' AND type = 'snapshot'"
    )
    assert [tuple(row) for row in stale] == [("s6", "snapshot", "codfw")]
    latest = await conn.fetch(
        "SELECT * FROM backups.runs WHERE (section, type, datacenter) = ('s6', 'snapshot', 'codfw')"
        " AND status IN ('finished', 'failed') ORDER BY started_at DESC LIMIT 3"
    )
    assert [run["status"] for run in latest[:2]] == ["failed", "failed"]
    for run in latest[:2]:
        assert (run["error_stage"], run["error_exit_code"]) == ("transfer", 4)
        assert "db2141.codfw.wmnet" in run["error_message"]


async def test_one_run_is_stuck_for_thirty_hours(conn: asyncpg.Connection) -> None:
    stuck = await conn.fetch(
        "SELECT *, now() - heartbeat_at AS silent FROM backups.runs"
        " WHERE status = 'ongoing' AND heartbeat_at < now() - interval '2 hours'"
    )
    assert len(stuck) == 1
    run = stuck[0]
    assert timedelta(hours=30) <= run["silent"] < timedelta(hours=30, minutes=15)
    assert run["started_at"] < run["heartbeat_at"]
    assert run["ended_at"] is None
    assert run["total_size"] is None
    assert 0 < run["bytes_done"] < 29e9


async def test_failed_runs_carry_their_error_and_retries_link_back(conn: asyncpg.Connection) -> None:
    failed = await conn.fetch("SELECT * FROM backups.runs WHERE status = 'failed'")
    completed = await conn.fetchval(
        "SELECT count(*) FROM backups.runs WHERE status IN ('finished', 'failed', 'expired')"
    )
    assert 0.01 <= len(failed) / completed <= 0.03
    stages = {run["error_stage"] for run in failed}
    assert {"backup", "transfer", "prepare", "metadata", "compress"} >= stages
    assert len(stages) >= 3
    for run in failed:
        assert run["error_exit_code"] in {3, 4, 5, 6, 11}
        assert run["error_message"]
        assert "\n" not in run["error_message"]
        assert run["ended_at"] >= run["started_at"]
        assert run["total_size"] is None or run["total_size"] == run["bytes_done"]
    retries = await conn.fetch(
        "SELECT r.*, f.status AS first_status, f.ended_at AS first_ended, f.section AS first_section,"
        " f.type AS first_type, f.datacenter AS first_datacenter"
        " FROM backups.runs r JOIN backups.runs f ON f.id = r.retry_of"
    )
    assert len(retries) >= 3
    assert await conn.fetchval("SELECT count(*) FROM backups.runs WHERE attempt > 1") == len(retries)
    for run in retries:
        assert (run["attempt"], run["first_status"]) == (2, "failed")
        assert run["status"] in ("finished", "expired")  # a retry's backup is kept, then expires in time
        assert (run["section"], run["type"], run["datacenter"]) == (
            run["first_section"],
            run["first_type"],
            run["first_datacenter"],
        )
        assert run["started_at"] > run["first_ended"]
        assert run["scheduled_for"] is None


async def test_the_present_tuesday_and_the_next_seven_days(conn: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    tuesday = datetime.combine(now.date(), datetime.min.time(), UTC) - timedelta(days=(now.weekday() - 1) % 7)
    long_dumps = await conn.fetch(
        "SELECT * FROM backups.runs WHERE type = 'dump' AND section IN ('es4', 'es5', 's4')"
        " AND scheduled_for = $1",
        tuesday,
    )
    assert len(long_dumps) == 6
    for run in long_dumps:
        if now - tuesday < timedelta(minutes=20):  # the data set's clock may still be on Monday
            assert run["status"] in ("scheduled", "ongoing")
        elif now - tuesday < timedelta(hours=12):
            assert run["status"] == "ongoing"
        elif now - tuesday > timedelta(hours=16, minutes=30):
            assert run["status"] == "finished"
        if run["status"] == "ongoing":
            assert now - run["heartbeat_at"] < timedelta(minutes=20)
            assert 0 < run["bytes_done"] < 2e12
            assert run["ended_at"] is None
    upcoming = await conn.fetch(
        "SELECT section, type, datacenter, scheduled_for FROM backups.runs"
        " WHERE status = 'scheduled' AND scheduled_for > now()"
    )
    assert all(row["scheduled_for"] <= now + timedelta(days=7) for row in upcoming)
    planned = {(row["section"], row["type"], row["datacenter"], row["scheduled_for"]) for row in upcoming}
    hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    for step in range(7 * 24 - 1):
        slot = hour + timedelta(hours=step)
        for section, kind, dc in SERIES:
            due = (
                (slot.isoweekday(), slot.hour) == (2, 0)
                if kind == "dump"
                else (slot.isoweekday() in (7, 2, 3, 5) and slot.hour == 19)
            )
            if due:
                assert (section, kind, dc, slot) in planned
    assert len(upcoming) <= 34 + 4 * 18
    assert not await conn.fetchval(
        "SELECT count(*) FROM backups.runs WHERE status = 'scheduled'"
        " AND (started_at IS NOT NULL OR name IS NOT NULL OR scheduled_for IS NULL)"
    )


async def test_files_add_up_to_the_total_size_and_objects_follow(conn: asyncpg.Connection) -> None:
    runs = await conn.fetch(
        "SELECT r.id, r.type, r.total_size, r.section, r.datacenter, r.recent, count(f.*) AS files,"
        " sum(f.size) AS size, array_agg(f.path || '/' || f.name) AS names"
        " FROM (SELECT *, row_number() OVER (PARTITION BY section, type, datacenter ORDER BY started_at DESC)"
        "       AS recent FROM backups.runs WHERE status = 'finished') r"
        " JOIN backups.files f ON f.run_id = r.id"
        " GROUP BY r.id, r.type, r.total_size, r.section, r.datacenter, r.recent"
    )
    assert len(runs) == await conn.fetchval("SELECT count(DISTINCT run_id) FROM backups.files")
    assert {(run["section"], run["type"], run["datacenter"]) for run in runs} == SERIES
    for run in runs:
        assert run["size"] == run["total_size"], run["id"]
        assert 15 <= run["files"] <= 80
        assert run["recent"] <= 4
        names = set(run["names"])
        if run["type"] == "dump":
            assert "/metadata" in names
            assert any(name.endswith("-schema-create.sql.gz") for name in names)
            assert any(re.fullmatch(r"/\w+\.\w+-schema\.sql\.gz", name) for name in names)
            assert any(re.fullmatch(r"/\w+\.\w+\.\d{5}\.sql\.gz", name) for name in names)
        else:
            assert {"/xtrabackup_info", "/xtrabackup_checkpoints", "/ibdata1", "/ib_logfile0"} <= names
            assert any(name.startswith("mysql/") for name in names)
            assert any(re.fullmatch(r"\w+/\w+\.ibd", name) for name in names)
    finished_latest = await conn.fetchval(
        "SELECT count(*) FROM (SELECT id, row_number() OVER (PARTITION BY section, type, datacenter"
        " ORDER BY started_at DESC) AS n FROM backups.runs WHERE status = 'finished') r"
        " WHERE n <= 4 AND NOT EXISTS (SELECT FROM backups.files f WHERE f.run_id = r.id)"
    )
    assert finished_latest == 0
    objects = await conn.fetch(
        "SELECT o.run_id, sum(o.size) FILTER (WHERE o.name = '') AS dbs,"
        " sum(o.size) FILTER (WHERE o.name <> '') AS tables, r.total_size"
        " FROM backups.objects o JOIN backups.runs r ON r.id = o.run_id"
        " GROUP BY o.run_id, r.total_size"
    )
    assert {row["run_id"] for row in objects} == {run["id"] for run in runs}
    for row in objects:
        assert 0 < row["tables"] < row["dbs"] <= row["total_size"]


async def test_restore_drills_of_recent_backups(conn: asyncpg.Connection) -> None:
    drills = await conn.fetch(
        "SELECT t.*, r.status AS run_status, r.ended_at AS run_ended FROM backups.restore_tests t"
        " JOIN backups.runs r ON r.id = t.run_id"
    )
    assert sorted(row["result"] for row in drills).count("failed") == 1
    assert len(drills) >= 4
    for row in drills:
        assert row["run_status"] == "finished"
        assert row["run_ended"] < row["started_at"] < row["ended_at"] <= datetime.now(UTC)
        assert row["ended_at"] > datetime.now(UTC) - timedelta(days=30)
        assert row["target"]
        assert row["detail"]


async def test_ids_start_at_ten_thousand_and_new_runs_come_after(conn: asyncpg.Connection) -> None:
    low, high = await conn.fetchrow("SELECT min(id), max(id) FROM backups.runs")
    assert 10_000 <= low < 10_100
    insert = conn.transaction()
    await insert.start()
    try:
        new = await conn.fetchval(
            "INSERT INTO backups.runs (section, type, datacenter, status, started_at)"
            " VALUES ('s1', 'dump', 'eqiad', 'ongoing', now()) RETURNING id"
        )
    finally:
        await insert.rollback()
    assert new > high


async def test_defaults_stay_and_the_long_dumps_get_their_own_limit(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT section, type, datacenter, freshness_s, max_duration_s FROM backups.check_config ORDER BY id"
    )
    assert [tuple(row) for row in rows] == [
        (None, None, None, 691200, 43200),
        (None, "snapshot", None, 259200, None),
        ("es4", "dump", None, None, 72000),
        ("es5", "dump", None, None, 72000),
        ("s4", "dump", None, None, 72000),
    ]


async def test_progress_reaches_the_rows_written(seeded: Seeded, conn: asyncpg.Connection) -> None:
    calls: list[tuple[int, int | None]] = []
    replace = conn.transaction()
    await replace.start()
    try:
        rows = await seed(conn, "demo", lambda done, total: calls.append((done, total)))
    finally:
        await replace.rollback()
    done = [call[0] for call in calls]
    assert done == sorted(done)
    assert len(calls) >= 5
    assert calls[-1] == (rows, rows)


async def test_force_reseeds_the_same_rows(seeded: Seeded, pg: PgServer, conn: asyncpg.Connection) -> None:
    before = await checksums(conn)
    after: dict[str, str] = {}
    for _ in range(2):  # the clock may cross a 10-minute boundary once between two seeds
        done = await asyncio.to_thread(seed_command, pg, seeded.url, "--force")
        assert done.returncode == 0, done.stderr
        before, after = (after or before), await checksums(conn)
        if after == before:
            break
    assert after == before


def test_bench_has_exactly_100000_runs_and_few_files() -> None:
    dataset = build("bench", datetime(2026, 11, 24, 6, 0, tzinfo=UTC))
    runs = dataset.runs
    assert len(runs) == 100_000
    assert [run.id for run in runs] == list(range(10_000, 110_000))
    ids = {run.id for run in runs}
    assert all(run.retry_of is None or run.retry_of.id in ids for run in runs)
    series = {run.series.key for run in runs}
    assert len(series) > 500
    tables = {name: records for name, _, records in dataset.tables}
    with_files = {row[0] for row in tables["files"]}
    per_series: dict[tuple[str, str, str], int] = {}
    for run in runs:
        if run.id in with_files:
            per_series[run.series.key] = per_series.get(run.series.key, 0) + 1
    assert max(per_series.values()) == 2
    assert len(tables["schedules"]) == len(series)
