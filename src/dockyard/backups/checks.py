"""Backup checks: the wmfbackups rules and thresholds, plus failed, stalled, too-long and missed runs,
size anomalies, the cross-datacenter comparison and the age of the last restore test.

One query gathers, for every series (section, type and datacenter) that is scheduled, configured
or recorded, its last finished run and the size of the one before, its latest run, its open runs,
the sizes of the finished runs before its last (their median and MAD are computed here,
`comparisons.history`), the other datacenters' last finished runs and its last passed
restore test; `evaluate` then applies the rules to each, with its effective thresholds. The
wmfbackups rules run in their order and the first that matches decides (no finished run, stale, too
small, only one, size change); the other rules add their own problems. A series' status is its
worst problem. Every problem says since when it exists: the time of the run that shows it, or when
a threshold was crossed (`since`), never when Dockyard first noticed it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dockyard.backups import comparisons, messages
from dockyard.backups.problems import (
    Problem,
    Status,
    human_duration,
    human_size,
    series_name,
    short_host,
    when,
)
from dockyard.backups.slots import resolved
from dockyard.core.db import Connection

__all__ = [
    "THRESHOLDS",
    "Problem",
    "Result",
    "Status",
    "check",
    "effective_thresholds",
    "evaluate",
    "human_duration",
    "human_size",
    "short_host",
]

THRESHOLDS = (
    "freshness_s",
    "min_size",
    "warn_change_pct",
    "crit_change_pct",
    "max_duration_s",
    "heartbeat_grace_s",
    "schedule_grace_s",
    "anomaly_runs",
    "anomaly_warn",
    "anomaly_crit",
    "anomaly_floor_pct",
    "cross_dc_size_pct",
    "cross_dc_age_s",
    "restore_max_age_s",
)
FRACTIONAL = {"warn_change_pct", "crit_change_pct", "anomaly_warn", "anomaly_crit", "anomaly_floor_pct"}
FRACTIONAL |= {"cross_dc_size_pct"}


CONFIG = f"SELECT section, type, datacenter, {', '.join(THRESHOLDS)} FROM backups.check_config"


Config = dict[tuple[str | None, str | None, str | None], dict[str, Any]]


def by_scope(rows: list[dict[str, Any]]) -> Config:
    """Threshold rows by (section, type, datacenter), each with only the thresholds it sets."""
    return {
        (row["section"], row["type"], row["datacenter"]): {
            name: float(row[name]) if name in FRACTIONAL else row[name]
            for name in THRESHOLDS
            if row[name] is not None
        }
        for row in rows
    }


def effective_thresholds(config: Config, section: str, type: str, datacenter: str) -> dict[str, Any]:
    """Each threshold from the most specific row that sets it: section, then type, then datacenter.

    The eight scopes that can match a series, least specific first, each overriding the previous.
    """
    values: dict[str, Any] = dict.fromkeys(THRESHOLDS)
    for scope in (
        (None, None, None),
        (None, None, datacenter),
        (None, type, None),
        (None, type, datacenter),
        (section, None, None),
        (section, None, datacenter),
        (section, type, None),
        (section, type, datacenter),
    ):
        found = config.get(scope)
        if found:
            values.update(found)
    return values


def thresholds_lookup(config: Config) -> Callable[[str, str, str], dict[str, Any]]:
    """`effective_thresholds` for many series at once: the series whose section has no row of its
    own share the thresholds of their type and datacenter, resolved once (do not modify them)."""
    sections = {scope[0] for scope in config if scope[0] is not None}
    shared: dict[tuple[str, str], dict[str, Any]] = {}

    def lookup(section: str, type: str, datacenter: str) -> dict[str, Any]:
        if section in sections:
            return effective_thresholds(config, section, type, datacenter)
        found = shared.get((type, datacenter))
        if found is None:
            found = shared[type, datacenter] = effective_thresholds(config, section, type, datacenter)
        return found

    return lookup


RUN_FIELDS = (
    "id",
    "status",
    "source",
    "host",
    "started_at",
    "ended_at",
    "heartbeat_at",
    "scheduled_for",
    "total_size",
    "bytes_done",
    "error_stage",
    "error_exit_code",
    "error_message",
)
# A run as an anonymous record, which asyncpg decodes into a tuple of native values (no JSON text to
# build in SQL and parse in Python); the `backups.label` domains are sent as text.
RUN = """ROW(r.id, r.status, r.source::text, r.host::text, r.started_at, r.ended_at, r.heartbeat_at,
    r.scheduled_for, r.total_size, r.bytes_done, r.error_stage, r.error_exit_code, r.error_message)"""

SERIES = "(r.section, r.type, r.datacenter) = (s.section, s.type, s.datacenter)"

# How many earlier runs the anomaly rule reads: the value of every check_config row that sets it when
# they agree (looked up once), else the series' own (looked up for each series).
ANOMALY_RUNS = f"""CASE WHEN (SELECT count(DISTINCT anomaly_runs) FROM backups.check_config) <= 1
        THEN (SELECT max(anomaly_runs) FROM backups.check_config)
        ELSE {resolved("anomaly_runs", "s")} END"""

SERIES_STATE = f"""
WITH series AS (
    SELECT section, type, datacenter FROM backups.series -- every series with runs (kept by triggers)
    UNION SELECT section, type, datacenter FROM backups.schedules WHERE enabled
    UNION SELECT section, type, datacenter FROM backups.check_config
          WHERE section IS NOT NULL AND type IS NOT NULL AND datacenter IS NOT NULL
), chosen AS (
    SELECT * FROM series WHERE {{chosen}}
), open_runs AS MATERIALIZED (
    -- Runs in progress and slots past due, for every series in one pass over the `runs_open` index
    -- (materialized: a series filter pushed in here would scan half of `runs_series`).
    SELECT r.section, r.type, r.datacenter,
        array_agg({RUN} ORDER BY r.started_at) FILTER (WHERE r.status = 'ongoing') AS ongoing,
        array_agg({RUN} ORDER BY r.scheduled_for) FILTER (WHERE r.status = 'scheduled') AS overdue
    FROM backups.runs r
    WHERE r.status = 'ongoing'
       OR (r.status = 'scheduled' AND r.scheduled_for < now()
           -- a slot nobody took stops counting once a later run shows the series is backed up again
           AND NOT EXISTS (SELECT 1 FROM backups.runs x
                           WHERE (x.section, x.type, x.datacenter) = (r.section, r.type, r.datacenter)
                             AND x.status <> 'scheduled' AND x.started_at > r.scheduled_for))
    GROUP BY r.section, r.type, r.datacenter
), restored AS (
    SELECT r.section, r.type, r.datacenter, max(coalesce(t.ended_at, t.started_at)) AS last_restored
    FROM backups.restore_tests t JOIN backups.runs r ON r.id = t.run_id
    WHERE t.result = 'passed' AND {{restored}}
    GROUP BY r.section, r.type, r.datacenter
)
SELECT s.section, s.type, s.datacenter, now() AS now,
    f.last_finished, f.has_previous, f.previous_size,
    x.last_failed, x.failing_since,
    CASE WHEN f.started_at IS NULL
           -- (the restore rule is usually off everywhere: one look at check_config says so)
           OR (rs.last_restored IS NULL
               AND (SELECT bool_or(restore_max_age_s IS NOT NULL) FROM backups.check_config)
               AND {resolved("restore_max_age_s", "s")} IS NOT NULL) THEN
        (SELECT r.started_at FROM backups.runs r WHERE {SERIES} AND r.status <> 'scheduled'
         ORDER BY r.started_at LIMIT 1) END AS first_run_at,
    o.ongoing,
    o.overdue,
    f.sizes AS anomaly_sizes,
    rs.last_restored
FROM chosen s
-- The last finished runs: the latest and the size of the one before for the wmfbackups rules, and
-- the sizes of the (at most anomaly_runs) before the latest for the anomaly rule, read in one pass
-- over `runs_finished`, which covers the size and id (no table access once vacuumed); only the
-- latest is then read from the table, by id.
LEFT JOIN LATERAL (
    SELECT (array_agg((SELECT {RUN} FROM backups.runs r WHERE r.id = h.id)) FILTER (WHERE h.n = 1))[1]
            AS last_finished,
        bool_or(h.n = 2) AS has_previous, max(h.total_size) FILTER (WHERE h.n = 2) AS previous_size,
        array_agg(h.total_size::float8) FILTER (WHERE h.n > 1 AND h.total_size IS NOT NULL) AS sizes,
        max(h.started_at) AS started_at
    FROM (SELECT row_number() OVER (ORDER BY r.started_at DESC) AS n, r.id, r.total_size, r.started_at
          FROM backups.runs r
          WHERE {SERIES} AND r.status = 'finished' AND r.ended_at IS NOT NULL
          ORDER BY r.started_at DESC LIMIT coalesce({ANOMALY_RUNS}, 1) + 1) h
) f ON true
-- The failures since the last success (usually none): the latest, and when the first one ended.
LEFT JOIN LATERAL (
    SELECT (array_agg({RUN} ORDER BY r.started_at DESC))[1] AS last_failed,
        min(coalesce(r.ended_at, r.started_at)) AS failing_since
    FROM backups.runs r
    WHERE {SERIES} AND r.status IN ('failed', 'interrupted')
      AND r.started_at > coalesce(f.started_at, '-infinity')
) x ON true
LEFT JOIN open_runs o ON (o.section, o.type, o.datacenter) = (s.section, s.type, s.datacenter)
LEFT JOIN restored rs ON (rs.section, rs.type, rs.datacenter) = (s.section, s.type, s.datacenter)
ORDER BY s.section, s.type, s.datacenter
"""


@functools.cache
def series_state(*, section: bool, type: bool) -> str:
    """SERIES_STATE with only the filters given (`$1` section, then type).

    One statement per combination rather than `$1 IS NULL OR …`: a prepared statement's generic
    plan cannot tell how many series such a filter keeps, and planned for a handful it took 1.3 s
    instead of 80 ms over 772 series. The datacenter is filtered afterwards, in `check`: the
    cross-check compares a series with the same section and type in the other datacenters.
    """
    numbers = iter(range(1, 3))
    on_series = [
        f"{name} = ${next(numbers)}" for name, given in (("section", section), ("type", type)) if given
    ]
    return SERIES_STATE.format(
        chosen=" AND ".join(on_series) or "true",
        restored=" AND ".join(f"r.{condition}" for condition in on_series) or "true",
    )


@dataclass
class Result:
    """The check of one series."""

    section: str
    type: str
    datacenter: str
    status: Status
    message: str
    problems: list[Problem] = field(default_factory=list)
    last_finished: dict[str, Any] | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)
    checked_at: dt.datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "type": self.type,
            "datacenter": self.datacenter,
            "status": self.status.label,
            "message": self.message,
            "problems": [problem.as_json() for problem in self.problems],
            "last_finished": self.last_finished,
            "thresholds": self.thresholds,
        }

    def nagios_line(self) -> str:
        return f"{self.status.name}: {self.message}"


def _run(record: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(RUN_FIELDS, record, strict=False))


def _after(moment: dt.datetime, seconds: float, now: dt.datetime) -> dt.datetime:
    """When a threshold of `seconds` after `moment` was crossed (never later than now)."""
    return min(moment + dt.timedelta(seconds=seconds), now)


# --- the rules -------------------------------------------------------------------------------------


def _wmfbackups(row: dict[str, Any], finished: list[dict[str, Any]], now: dt.datetime) -> Problem:
    if not finished:
        began = row["first_run_at"] or next((run["scheduled_for"] for run in row["open"]), None)
        return Problem(
            "no_backup", Status.CRITICAL, f"Could not find any completed {series_name(row)}", since=began
        )
    last = finished[0]
    size = last["total_size"] or 0
    taken = f"Last {row['type']} for {row['section']} at {row['datacenter']} ({short_host(last['source'])})"
    taken += f" taken on {when(last['started_at'])}"
    age = (now - last["started_at"]).total_seconds()
    if age > row["freshness_s"]:
        limit = human_duration(row["freshness_s"])
        since = _after(last["started_at"], row["freshness_s"], now)
        message = f"{taken} is older than {limit} ({human_duration(age)})"
        return Problem("stale", Status.CRITICAL, message, since=since)
    since = last["ended_at"]
    if size < row["min_size"]:
        minimum = human_size(row["min_size"])
        message = f"{taken} ({human_size(size)}) is under {minimum}"
        return Problem("too_small", Status.CRITICAL, message, since=since)
    if len(finished) < 2:
        message = f"{taken} ({human_size(size)}); no earlier one to compare"
        return Problem("only_one", Status.WARNING, message, since=since)
    previous = finished[1]["total_size"] or 0
    if previous == 0:
        message = f"{taken} ({human_size(size)}, the previous was empty)"
        return Problem("size_change", Status.CRITICAL, message, since=since)
    change = (size - previous) / previous * 100
    message = f"{taken} ({human_size(size)}, {change:+.1f} %)"
    if abs(change) > row["crit_change_pct"]:
        return Problem("size_change", Status.CRITICAL, message, since=since)
    if abs(change) > row["warn_change_pct"]:
        return Problem("size_change", Status.WARNING, message, since=since)
    return Problem("ok", Status.OK, message)


def _failed(row: dict[str, Any], latest: dict[str, Any] | None) -> Problem | None:
    """The latest run failed (CRITICAL) or was interrupted (WARNING: someone stopped it)."""
    if latest is None or latest["status"] not in ("failed", "interrupted"):
        return None
    detail = f"at stage {latest['error_stage'] or 'unknown'}"
    if latest["error_exit_code"] is not None:
        detail += f" (exit {latest['error_exit_code']})"
    reason = messages.headline(latest["error_message"], 160)
    if reason:
        detail += ": " + reason
    ended = latest["ended_at"] or latest["started_at"]
    what = "failed" if latest["status"] == "failed" else "was interrupted"
    message = (
        f"Last {row['type']} of {row['section']} at {row['datacenter']} ({short_host(latest['source'])}) "
        f"{what} on {when(ended)} {detail}"
    )
    # Several failures in a row are one problem, which began when the first of them ended.
    began = min(row["failing_since"] or ended, ended)
    if latest["status"] == "interrupted":
        return Problem("interrupted", Status.WARNING, message, since=began)
    return Problem("failed", Status.CRITICAL, message, since=began)


def _open_runs(row: dict[str, Any], runs: list[dict[str, Any]], now: dt.datetime) -> list[Problem]:
    problems = []
    what = series_name(row)
    for run in runs:
        if run["status"] == "scheduled":
            late = (now - run["scheduled_for"]).total_seconds()
            if late > row["schedule_grace_s"]:
                message = f"The {what} scheduled for {when(run['scheduled_for'])} has not started"
                since = _after(run["scheduled_for"], row["schedule_grace_s"], now)
                problems.append(Problem("missed", Status.CRITICAL, message, since=since))
            continue
        host = short_host(run["host"])
        started = run["started_at"]
        heard = run["heartbeat_at"] or started
        silent = (now - heard).total_seconds()
        if silent > row["heartbeat_grace_s"]:
            message = (
                f"The {what} on {host} started on {when(started)} is stalled: "
                f"no heartbeat for {human_duration(silent)}"
            )
            since = _after(heard, row["heartbeat_grace_s"], now)
            problems.append(Problem("stalled", Status.CRITICAL, message, since=since))
            continue
        running = (now - started).total_seconds()
        if running > row["max_duration_s"]:
            message = (
                f"The {what} on {host} has been running for {human_duration(running)} "
                f"(limit {human_duration(row['max_duration_s'])})"
            )
            since = _after(started, row["max_duration_s"], now)
            problems.append(Problem("too_long", Status.WARNING, message, since=since))
    return problems


def _slow_finish(row: dict[str, Any], finished: list[dict[str, Any]]) -> Problem | None:
    if not finished:
        return None
    last = finished[0]
    took = (last["ended_at"] - last["started_at"]).total_seconds()
    if took <= row["max_duration_s"]:
        return None
    message = (
        f"Last {row['type']} of {row['section']} at {row['datacenter']} took {human_duration(took)} "
        f"(limit {human_duration(row['max_duration_s'])})"
    )
    return Problem("too_long", Status.WARNING, message, since=last["ended_at"])


def evaluate(row: dict[str, Any]) -> Result:
    """Apply every rule to one series' state (a row of SERIES_STATE)."""
    now: dt.datetime = row["now"]
    finished, failed, open_runs, peers = row["finished"], row["last_failed"], row["open"], row["peers"]
    latest = failed  # the query returns only a failure after the last finished run
    main = _wmfbackups(row, finished, now)
    extra = [
        _failed(row, latest),
        _slow_finish(row, finished),
        *_open_runs(row, open_runs, now),
        comparisons.size_anomaly(row, finished),
        comparisons.cross_datacenter(row, finished, peers),
        comparisons.restore_age(row, finished, now),
    ]
    problems = [problem for problem in (main, *extra) if problem is not None and problem.status > Status.OK]
    worst = max(problems, key=lambda problem: problem.status, default=main)
    return Result(
        section=row["section"],
        type=row["type"],
        datacenter=row["datacenter"],
        status=worst.status,
        message=worst.message,
        problems=problems,
        last_finished=finished[0] if finished else None,
        thresholds=dict(row["thresholds"])
        if "thresholds" in row
        else {name: row[name] for name in THRESHOLDS},
        checked_at=now,
    )


async def check(
    conn: Connection,
    *,
    section: str | None = None,
    type: str | None = None,
    datacenter: str | None = None,
) -> list[Result]:
    """The check of every series matching the filters, ordered by section, type, datacenter."""
    thresholds = thresholds_lookup(by_scope([dict(row) for row in await conn.fetch(CONFIG)]))
    statement = series_state(section=section is not None, type=type is not None)
    rows = [dict(row) for row in await conn.fetch(statement, *(v for v in (section, type) if v is not None))]
    for row in rows:
        row["thresholds"] = thresholds(row["section"], row["type"], row["datacenter"])
        row.update(row["thresholds"])
        # The rules need only the size of the run before the last.
        last, previous = row.pop("last_finished"), {"total_size": row.pop("previous_size")}
        row["finished"] = [_run(last), *((previous,) if row.pop("has_previous") else ())] if last else []
        row["last_failed"] = _run(row["last_failed"]) if row["last_failed"] else None
        row.update(comparisons.history(row.pop("anomaly_sizes")))
        row["open"] = [_run(record) for record in (*(row.pop("ongoing") or ()), *(row.pop("overdue") or ()))]
    latest: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        if row["finished"]:
            latest.setdefault((row["section"], row["type"]), []).append(
                {**row["finished"][0], "datacenter": row["datacenter"]}
            )
    results = []
    for row in rows:
        if datacenter is not None and row["datacenter"] != datacenter:
            continue
        same = latest.get((row["section"], row["type"]), [])
        row["peers"] = [run for run in same if run["datacenter"] != row["datacenter"]]
        results.append(evaluate(row))
    return results
