"""Backup checks against a real catalog: every rule, its threshold boundaries, and the overrides."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest

from dockyard.backups import checks, comparisons
from dockyard.backups.checks import Status, human_size
from dockyard.backups.problems import when

GIB = 2**30
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def section() -> str:
    """A section no other test uses (the catalog is shared)."""
    return f"s{uuid.uuid4().hex[:8]}"


async def add_run(
    db: asyncpg.Connection,
    section: str,
    *,
    ago: dt.timedelta,
    size: int | None = 168 * GIB,
    status: str = "finished",
    type: str = "dump",
    datacenter: str = "eqiad",
    took: dt.timedelta = 2 * HOUR,
    **columns: Any,
) -> int:
    now: dt.datetime = await db.fetchval("SELECT now()")
    values: dict[str, Any] = {
        "section": section,
        "type": type,
        "datacenter": datacenter,
        "source": "db1139.eqiad.wmnet:3311",
        "host": "dbprov1002.eqiad.wmnet",
        "status": status,
        "total_size": size,
    }
    if status == "scheduled":
        values["scheduled_for"] = now - ago
    else:
        values["started_at"] = now - ago
    if status in ("finished", "failed"):
        values["ended_at"] = now - ago + took
    values.update(columns)
    names = ", ".join(values)
    placeholders = ", ".join(f"${index}" for index in range(1, len(values) + 1))
    run_id: int = await db.fetchval(
        f"INSERT INTO backups.runs ({names}) VALUES ({placeholders}) RETURNING id", *values.values()
    )
    return run_id


async def result(db: asyncpg.Connection, section: str, type: str = "dump") -> checks.Result:
    (found,) = await checks.check(db, section=section, type=type, datacenter="eqiad")
    return found


def rules(found: checks.Result) -> dict[str, Status]:
    return {problem.rule: problem.status for problem in found.problems}


async def test_no_finished_run_is_critical(db: asyncpg.Connection, section: str) -> None:
    await add_run(db, section, ago=HOUR, status="failed", error_stage="backup")
    found = await result(db, section)
    assert found.status is Status.CRITICAL
    assert found.message == f"Could not find any completed dump of {section} at eqiad"


async def test_ok_message_matches_wmfbackups(db: asyncpg.Connection, section: str) -> None:
    await add_run(db, section, ago=8 * DAY - HOUR, size=1000 * GIB)
    last = await add_run(db, section, ago=HOUR, size=1001 * GIB)
    found = await result(db, section)
    assert found.status is Status.OK
    started = await db.fetchval("SELECT started_at FROM backups.runs WHERE id = $1", last)
    taken = started.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert found.message == f"Last dump for {section} at eqiad (db1139) taken on {taken} (1001 GiB, +0.1 %)"
    assert found.problems == []
    assert found.last_finished is not None
    assert found.last_finished["id"] == last


@pytest.mark.parametrize(
    ("type", "age", "expected"),
    [
        ("dump", 8 * DAY - dt.timedelta(minutes=1), Status.OK),
        ("dump", 8 * DAY + dt.timedelta(minutes=1), Status.CRITICAL),
        ("snapshot", 3 * DAY - dt.timedelta(minutes=1), Status.OK),
        ("snapshot", 3 * DAY + dt.timedelta(minutes=1), Status.CRITICAL),
    ],
)
async def test_freshness_defaults_8_days_for_dumps_3_for_snapshots(
    db: asyncpg.Connection, section: str, type: str, age: dt.timedelta, expected: Status
) -> None:
    await add_run(db, section, type=type, ago=age + DAY)
    await add_run(db, section, type=type, ago=age)
    found = await result(db, section, type)
    assert found.status is expected
    if expected is Status.CRITICAL:
        assert rules(found) == {"stale": Status.CRITICAL}
        assert "is older than" in found.message


@pytest.mark.parametrize(
    ("size", "expected"), [(307_199, Status.CRITICAL), (307_200, Status.OK), (410_000, Status.OK)]
)
async def test_minimum_size_300_kib(
    db: asyncpg.Connection, section: str, size: int, expected: Status
) -> None:
    await add_run(db, section, ago=DAY + HOUR, size=size)
    await add_run(db, section, ago=HOUR, size=size)
    found = await result(db, section)
    assert found.status is expected
    if expected is Status.CRITICAL:
        assert found.message.endswith("(300 KiB) is under 300 KiB")


async def test_a_single_backup_is_a_warning(db: asyncpg.Connection, section: str) -> None:
    await add_run(db, section, ago=HOUR)
    found = await result(db, section)
    assert found.status is Status.WARNING
    assert rules(found) == {"only_one": Status.WARNING}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (5.0, Status.OK),
        (5.1, Status.WARNING),
        (-5.1, Status.WARNING),
        (15.0, Status.WARNING),
        (15.1, Status.CRITICAL),
        (-20.0, Status.CRITICAL),
    ],
)
async def test_size_change_5_and_15_percent(
    db: asyncpg.Connection, section: str, change: float, expected: Status
) -> None:
    await add_run(db, section, ago=DAY + HOUR, size=1000 * GIB)
    await add_run(db, section, ago=HOUR, size=round(1000 * GIB * (1 + change / 100)))
    found = await result(db, section)
    assert found.status is expected
    assert f"{change:+.1f} %" in found.message


async def test_latest_failure_after_the_last_success(db: asyncpg.Connection, section: str) -> None:
    await add_run(db, section, ago=2 * DAY)
    await add_run(db, section, ago=DAY)
    await add_run(
        db,
        section,
        ago=HOUR,
        status="failed",
        size=None,
        error_stage="backup",
        error_exit_code=3,
        error_message="mydumper: ** CRITICAL: Error connecting to database\nlast line of stderr",
    )
    found = await result(db, section)
    assert found.status is Status.CRITICAL
    assert rules(found) == {"failed": Status.CRITICAL}
    assert "failed on" in found.message
    # The line naming the error, not the last line (issue 17: the meaningful part of stderr).
    assert found.message.endswith(
        "at stage backup (exit 3): mydumper: ** CRITICAL: Error connecting to database"
    )


async def test_an_old_failure_followed_by_a_success_is_forgotten(
    db: asyncpg.Connection, section: str
) -> None:
    await add_run(db, section, ago=2 * DAY)
    await add_run(db, section, ago=DAY, status="failed", error_stage="transfer")
    await add_run(db, section, ago=HOUR)
    assert (await result(db, section)).status is Status.OK


@pytest.mark.parametrize(
    ("silent", "running", "expected"),
    [
        (dt.timedelta(minutes=29), HOUR, {}),
        (dt.timedelta(minutes=31), HOUR, {"stalled": Status.CRITICAL}),
        (30 * HOUR, 31 * HOUR, {"stalled": Status.CRITICAL}),
        (dt.timedelta(minutes=1), 13 * HOUR, {"too_long": Status.WARNING}),
    ],
)
async def test_ongoing_runs_stalled_or_too_long(
    db: asyncpg.Connection,
    section: str,
    silent: dt.timedelta,
    running: dt.timedelta,
    expected: dict[str, Status],
) -> None:
    await add_run(db, section, ago=DAY + HOUR)
    await add_run(db, section, ago=HOUR)
    now = await db.fetchval("SELECT now()")
    await add_run(db, section, ago=running, status="ongoing", size=None, heartbeat_at=now - silent)
    assert rules(await result(db, section)) == expected


async def test_a_finished_run_that_took_too_long_is_a_warning(db: asyncpg.Connection, section: str) -> None:
    await add_run(db, section, ago=2 * DAY)
    await add_run(db, section, ago=14 * HOUR, took=13 * HOUR)
    found = await result(db, section)
    assert rules(found) == {"too_long": Status.WARNING}
    assert "took 13 h (limit 12 h)" in found.message


@pytest.mark.parametrize(
    ("late", "expected"),
    [(6 * HOUR, {"missed": Status.CRITICAL}), (4 * HOUR, {}), (-HOUR, {})],
)
async def test_missed_schedule(
    db: asyncpg.Connection, section: str, late: dt.timedelta, expected: dict[str, Status]
) -> None:
    await add_run(db, section, ago=DAY + 8 * HOUR)
    await add_run(db, section, ago=7 * HOUR)
    await add_run(db, section, ago=late, status="scheduled", size=None)
    assert rules(await result(db, section)) == expected


async def test_a_missed_slot_stops_counting_once_a_later_run_starts(
    db: asyncpg.Connection, section: str
) -> None:
    await add_run(db, section, ago=4 * DAY)
    await add_run(db, section, ago=3 * DAY)
    await add_run(db, section, ago=2 * DAY, status="scheduled", size=None)
    assert rules(await result(db, section)) == {"missed": Status.CRITICAL}
    await add_run(db, section, ago=HOUR)
    assert rules(await result(db, section)) == {}


async def test_the_most_specific_threshold_wins(db: asyncpg.Connection, section: str) -> None:
    await add_run(db, section, ago=2 * DAY + HOUR)
    await add_run(db, section, ago=2 * DAY)
    assert (await result(db, section)).status is Status.OK
    await db.execute(
        "INSERT INTO backups.check_config (section, type, datacenter, freshness_s) "
        "VALUES ($1, 'dump', NULL, 86400)",
        section,
    )
    found = await result(db, section)
    assert found.status is Status.CRITICAL
    assert found.thresholds["freshness_s"] == 86400
    assert found.thresholds["min_size"] == 307200, "the rest comes from the defaults"
    await db.execute(
        "INSERT INTO backups.check_config (section, type, datacenter, freshness_s) "
        "VALUES ($1, 'dump', 'eqiad', 3 * 86400)",
        section,
    )
    assert (await result(db, section)).status is Status.OK


async def test_series_come_from_schedules_too(db: asyncpg.Connection, section: str) -> None:
    await db.execute(
        "INSERT INTO backups.schedules (section, type, datacenter, cron) "
        "VALUES ($1, 'snapshot', 'eqiad', '0 19 * * 0,2,3,5')",
        section,
    )
    found = await result(db, section, "snapshot")
    assert found.status is Status.CRITICAL
    assert found.message == f"Could not find any completed snapshot of {section} at eqiad"


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (300 * 1024, "300 KiB"),
        (1536 * 1024, "1.5 MiB"),
        (168 * GIB, "168 GiB"),
        (7 * 1024 * GIB, "7168 GiB"),
    ],
)
def test_sizes_in_binary_units_never_tib(size: int, text: str) -> None:
    assert human_size(size) == text


# --- size anomalies, the cross-datacenter check, restore tests, and since when -----------------------


async def history(db: asyncpg.Connection, section: str, sizes: list[float], **columns: Any) -> None:
    """Finished runs a day apart, oldest first, the last one an hour ago; sizes in GiB."""
    for index, size in enumerate(sizes):
        await add_run(
            db, section, ago=(len(sizes) - 1 - index) * DAY + HOUR, size=round(size * GIB), **columns
        )


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        (105, None),
        (97, None),  # -7.6 %: the size-change rule's warning, but within the usual spread
        (60, Status.WARNING),  # 6.1 robust deviations under the median
        (200, Status.WARNING),  # 12.8 over
        (250, Status.CRITICAL),  # 19.6 over
    ],
)
async def test_size_anomaly_against_the_median_and_mad_of_the_last_runs(
    db: asyncpg.Connection, section: str, latest: float, expected: Status | None
) -> None:
    # Ten earlier runs alternating 100 and 110 GiB: median 105, MAD 5 (x 1.4826 = 7.4 GiB).
    await history(db, section, [100 + 10 * (index % 2) for index in range(10)] + [latest])
    found = await result(db, section)
    assert rules(found).get("size_anomaly") is expected
    if expected is not None:
        (problem,) = [problem for problem in found.problems if problem.rule == "size_anomaly"]
        side = "under" if latest < 105 else "over"
        assert f"% {side} the median of the 10 before it (105 GiB)" in problem.message
        assert found.last_finished is not None
        assert problem.since == found.last_finished["ended_at"]


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (dt.datetime(2026, 11, 24, 0, 0, 1, tzinfo=dt.UTC), "2026-11-24 00:00:01"),
        (dt.datetime(2026, 11, 24, 0, 0, 1, 999_999, tzinfo=dt.UTC), "2026-11-24 00:00:01"),
        (dt.datetime(2026, 1, 1, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2025-12-31 23:30:00"),
    ],
)
def test_times_are_written_in_utc_to_the_second(moment: dt.datetime, text: str) -> None:
    assert when(moment) == text == moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    "sizes",
    [
        [7.0],
        [3.0, 1.0],
        [0.1, 0.2, 0.7],
        [1.1, 2.2, 3.3, 4.4, 5.5, 6.6, 7.7, 8.8, 9.9, 10.1],
        [2**53 + 1.0, 3.0, 2**40 + 0.3, 17.0],
        [100 * GIB, 110 * GIB, 100 * GIB, 110 * GIB, 105 * GIB, 97 * GIB],
    ],
)
async def test_median_and_mad_are_postgresqls_percentile_cont(
    db: asyncpg.Connection, sizes: list[float]
) -> None:
    expected = await db.fetchrow(
        """SELECT m.median, (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(x - m.median))
                            FROM unnest($1::float8[]) x) AS mad
           FROM (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS median
                 FROM unnest($1::float8[]) x) m""",
        sizes,
    )
    assert comparisons.history(sizes) == {
        "anomaly_history": len(sizes),
        "anomaly_median": expected["median"],
        "anomaly_mad": expected["mad"],
    }
    assert comparisons.history(None)["anomaly_median"] is None


async def test_one_outlier_does_not_make_the_next_run_an_anomaly(
    db: asyncpg.Connection, section: str
) -> None:
    await history(db, section, [100.0] * 9 + [50.0, 100.0])
    found = await result(db, section)
    assert rules(found) == {"size_change": Status.CRITICAL}, "the previous run alone says +100 %"


async def test_few_runs_are_not_enough_for_an_anomaly(db: asyncpg.Connection, section: str) -> None:
    await history(db, section, [100.0, 100.0, 100.0, 100.0, 300.0])
    assert "size_anomaly" not in rules(await result(db, section))
    await history(db, section, [100.0, 100.0, 100.0, 100.0, 100.0, 300.0], datacenter="codfw")
    (codfw,) = await checks.check(db, section=section, type="dump", datacenter="codfw")
    assert rules(codfw)["size_anomaly"] is Status.CRITICAL, "five earlier runs are enough"


async def test_the_anomaly_window_and_limits_are_configurable(db: asyncpg.Connection, section: str) -> None:
    # Over the default 10 runs the spread is wide (median 100, MAD 40); the last 3 are all 100.
    await history(db, section, [60.0, 140.0] * 3 + [100.0, 100.0, 100.0, 104.0])
    assert "size_anomaly" not in rules(await result(db, section))
    await db.execute(
        "INSERT INTO backups.check_config (section, anomaly_runs, anomaly_warn, anomaly_floor_pct) "
        "VALUES ($1, 3, 2, 1)",
        section,
    )
    found = await result(db, section)
    assert rules(found)["size_anomaly"] is Status.WARNING, "4 % over the last 3 (100 GiB): 4 deviations"
    (problem,) = [problem for problem in found.problems if problem.rule == "size_anomaly"]
    assert (
        "4.0 % over the median of the 3 before it (100 GiB): 4.0 robust deviations, limit 2"
        in problem.message
    )


async def test_cross_check_with_the_other_datacenter(db: asyncpg.Connection, section: str) -> None:
    await history(db, section, [100.0, 100.0], datacenter="eqiad")
    await add_run(db, section, ago=6 * DAY, size=150 * GIB, datacenter="codfw")
    await add_run(db, section, ago=5 * DAY, size=150 * GIB, datacenter="codfw")
    eqiad = await result(db, section)
    (codfw,) = await checks.check(db, section=section, type="dump", datacenter="codfw")
    assert rules(eqiad) == {"cross_dc": Status.WARNING}
    (problem,) = eqiad.problems
    assert "33.3 % smaller than codfw's (150 GiB)" in problem.message
    assert rules(codfw) == {"cross_dc": Status.WARNING}
    (problem,) = codfw.problems
    assert "5 days older than eqiad's" in problem.message


async def test_cross_check_compares_the_same_type_only(db: asyncpg.Connection, section: str) -> None:
    await history(db, section, [100.0, 100.0])
    await history(db, section, [900.0, 900.0], type="snapshot", datacenter="codfw")
    assert rules(await result(db, section)) == {}


async def test_restore_test_too_old_or_none(db: asyncpg.Connection, section: str) -> None:
    await history(db, section, [100.0, 100.0])
    assert rules(await result(db, section)) == {}, "off until restore_max_age_s is set"
    await db.execute(
        "INSERT INTO backups.check_config (section, restore_max_age_s) VALUES ($1, 7 * 86400)", section
    )
    found = await result(db, section)
    assert rules(found) == {"restore_too_old": Status.WARNING}
    assert f"No restore test of a dump of {section} at eqiad has passed" in found.message
    first = await db.fetchval("SELECT min(started_at) FROM backups.runs WHERE section = $1", section)
    assert found.problems[0].since == min(first + 7 * DAY, found.checked_at or first)

    run_id = await db.fetchval("SELECT min(id) FROM backups.runs WHERE section = $1", section)
    now = await db.fetchval("SELECT now()")
    await db.execute(
        "INSERT INTO backups.restore_tests (run_id, started_at, ended_at, result) "
        "VALUES ($1, $2, $3, 'passed')",
        run_id,
        now - 10 * DAY,
        now - 10 * DAY + HOUR,
    )
    found = await result(db, section)
    assert rules(found) == {"restore_too_old": Status.WARNING}
    assert "10 days ago (limit 7 days)" in found.message
    assert found.problems[0].since == now - 3 * DAY + HOUR
    await db.execute(
        "INSERT INTO backups.restore_tests (run_id, started_at, ended_at, result) "
        "VALUES ($1, $2, $3, 'failed')",
        run_id,
        now - DAY,
        now - DAY + HOUR,
    )
    assert rules(await result(db, section)) == {"restore_too_old": Status.WARNING}, (
        "a failed test is no proof"
    )
    await db.execute(
        "INSERT INTO backups.restore_tests (run_id, started_at, ended_at, result) "
        "VALUES ($1, $2, $3, 'passed')",
        run_id,
        now - DAY,
        now - DAY + HOUR,
    )
    assert rules(await result(db, section)) == {}


async def test_since_is_when_each_problem_began(db: asyncpg.Connection, section: str) -> None:
    # stale: the last good dump started 10 days ago, so it went stale 2 days ago (8-day limit)
    await add_run(db, section, ago=11 * DAY)
    good = await add_run(db, section, ago=10 * DAY)
    # two failures since: the problem began when the first ended
    first_failure = await add_run(db, section, ago=3 * DAY, status="failed", error_stage="backup")
    await add_run(db, section, ago=2 * DAY, status="failed", error_stage="backup")
    # a slot 7 hours late: missed once the 5-hour grace passed
    slot = await add_run(db, section, ago=7 * HOUR, status="scheduled", size=None)
    found = await result(db, section)
    since = {problem.rule: problem.since for problem in found.problems}
    times = "SELECT coalesce(started_at, scheduled_for), ended_at FROM backups.runs WHERE id = $1"
    assert since["stale"] == (await db.fetchrow(times, good))[0] + 8 * DAY
    assert since["failed"] == (await db.fetchrow(times, first_failure))[1]
    assert since["missed"] == (await db.fetchrow(times, slot))[0] + 5 * HOUR
    as_json = found.as_json()["problems"]
    assert {problem["rule"]: problem["since"] for problem in as_json} == since
