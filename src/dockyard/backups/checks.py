"""Backup checks: the wmfbackups rules and thresholds, plus failed, stalled, too-long and missed runs.

One query gathers, for every series (section, type and datacenter) that is scheduled, configured
or recorded, its last two finished runs, its latest run, its open runs and its effective
thresholds; `evaluate` then applies the rules to each. The wmfbackups rules run in their order and
the first that matches decides (no finished run, stale, too small, only one, size change); the
other rules add their own problems. A series' status is its worst problem.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import orjson

from dockyard.backups import messages
from dockyard.core.db import Connection

THRESHOLDS = (
    "freshness_s",
    "min_size",
    "warn_change_pct",
    "crit_change_pct",
    "max_duration_s",
    "heartbeat_grace_s",
    "schedule_grace_s",
)


class Status(IntEnum):
    """Nagios states, in their exit-code order."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


CONFIG = f"SELECT section, type, datacenter, {', '.join(THRESHOLDS)} FROM backups.check_config"


def by_specificity(config: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Threshold rows, most specific first: section, then type, then datacenter."""
    return sorted(
        config,
        key=lambda row: (row["section"] is not None, row["type"] is not None, row["datacenter"] is not None),
        reverse=True,
    )


def effective_thresholds(
    config: list[dict[str, Any]], section: str, type: str, datacenter: str
) -> dict[str, Any]:
    """Each threshold from the most specific row that sets it; `config` comes from `by_specificity`."""
    values: dict[str, Any] = dict.fromkeys(THRESHOLDS)
    missing = list(THRESHOLDS)
    for row in config:
        if row["section"] not in (None, section) or row["type"] not in (None, type):
            continue
        if row["datacenter"] not in (None, datacenter):
            continue
        for name in [name for name in missing if row[name] is not None]:
            found = row[name]
            values[name] = float(found) if name.endswith("_pct") else found
            missing.remove(name)
        if not missing:
            break
    return values


RUN_JSON = """json_build_object('id', r.id, 'status', r.status, 'source', r.source, 'host', r.host,
    'started_at', r.started_at, 'ended_at', r.ended_at, 'heartbeat_at', r.heartbeat_at,
    'scheduled_for', r.scheduled_for, 'total_size', r.total_size, 'bytes_done', r.bytes_done,
    'error_stage', r.error_stage, 'error_exit_code', r.error_exit_code, 'error_message', r.error_message)"""

SERIES_STATE = f"""
WITH series AS (
    SELECT section, type, datacenter FROM backups.series -- every series with runs (kept by triggers)
    UNION SELECT section, type, datacenter FROM backups.schedules WHERE enabled
    UNION SELECT section, type, datacenter FROM backups.check_config
          WHERE section IS NOT NULL AND type IS NOT NULL AND datacenter IS NOT NULL
), open_runs AS (
    -- Runs in progress and slots past due, for every series in one pass over the `runs_open` index.
    SELECT r.section, r.type, r.datacenter,
        array_agg({RUN_JSON}::text ORDER BY r.started_at) FILTER (WHERE r.status = 'ongoing') AS ongoing,
        array_agg({RUN_JSON}::text ORDER BY r.scheduled_for) FILTER (WHERE r.status = 'scheduled') AS overdue
    FROM backups.runs r
    WHERE r.status = 'ongoing'
       OR (r.status = 'scheduled' AND r.scheduled_for < now()
           -- a slot nobody took stops counting once a later run shows the series is backed up again
           AND NOT EXISTS (SELECT 1 FROM backups.runs x
                           WHERE (x.section, x.type, x.datacenter) = (r.section, r.type, r.datacenter)
                             AND x.status <> 'scheduled' AND x.started_at > r.scheduled_for))
    GROUP BY r.section, r.type, r.datacenter
)
SELECT s.section, s.type, s.datacenter, now() AS now,
    ARRAY(SELECT {RUN_JSON}::text FROM backups.runs r
          WHERE (r.section, r.type, r.datacenter) = (s.section, s.type, s.datacenter)
            AND r.status = 'finished' AND r.ended_at IS NOT NULL
          ORDER BY r.started_at DESC LIMIT 2) AS finished,
    (SELECT {RUN_JSON}::text FROM backups.runs r
     WHERE (r.section, r.type, r.datacenter) = (s.section, s.type, s.datacenter)
       AND r.status IN ('failed', 'interrupted')
     ORDER BY r.started_at DESC LIMIT 1) AS last_failed,
    coalesce(o.ongoing, '{{}}') AS ongoing,
    coalesce(o.overdue, '{{}}') AS overdue
FROM series s
LEFT JOIN open_runs o ON (o.section, o.type, o.datacenter) = (s.section, s.type, s.datacenter)
WHERE ($1::text IS NULL OR s.section = $1) AND ($2::text IS NULL OR s.type = $2)
  AND ($3::text IS NULL OR s.datacenter = $3)
ORDER BY s.section, s.type, s.datacenter
"""


@dataclass
class Problem:
    rule: str
    status: Status
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "status": self.status.label, "message": self.message}


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


# --- formatting ------------------------------------------------------------------------------------

_UNITS = ("B", "KiB", "MiB", "GiB")


def human_size(size: int) -> str:
    """Binary units, never TiB (`7168 GiB`), as the wmfbackups checks print them."""
    value = float(size)
    unit = _UNITS[0]
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            break
        value /= 1024
    if unit == "B" or value >= 100:
        return f"{value:.0f} {unit}"
    return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"


def human_duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{max(seconds, 0) / 60:.0f} min"


def short_host(name: str | None) -> str:
    """`db1139.eqiad.wmnet:3311` → `db1139`; an IP (`10.64.0.12:3306`, `[2620:0:861::1]:5432`) stays whole."""
    name = name or "unknown"
    if name.startswith("[") or name.count(":") > 1:  # IPv6, bracketed with a port or bare
        return name
    host = name.split(":")[0]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.split(".")[0]
    return name


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _parse(run: dict[str, Any]) -> dict[str, Any]:
    for key in ("started_at", "ended_at", "heartbeat_at", "scheduled_for"):
        if run.get(key):
            run[key] = dt.datetime.fromisoformat(run[key])
    return run


# --- the rules -------------------------------------------------------------------------------------


def _wmfbackups(row: dict[str, Any], finished: list[dict[str, Any]], now: dt.datetime) -> Problem:
    what = f"{row['type']} of {row['section']} at {row['datacenter']}"
    if not finished:
        return Problem("no_backup", Status.CRITICAL, f"Could not find any completed {what}")
    last = finished[0]
    size = last["total_size"] or 0
    taken = f"Last {row['type']} for {row['section']} at {row['datacenter']} ({short_host(last['source'])})"
    taken += f" taken on {_when(last['started_at'])}"
    age = (now - last["started_at"]).total_seconds()
    if age > row["freshness_s"]:
        limit = human_duration(row["freshness_s"])
        return Problem("stale", Status.CRITICAL, f"{taken} is older than {limit} ({human_duration(age)})")
    if size < row["min_size"]:
        minimum = human_size(row["min_size"])
        return Problem("too_small", Status.CRITICAL, f"{taken} ({human_size(size)}) is under {minimum}")
    if len(finished) < 2:
        return Problem("only_one", Status.WARNING, f"{taken} ({human_size(size)}); no earlier one to compare")
    previous = finished[1]["total_size"] or 0
    if previous == 0:
        return Problem(
            "size_change", Status.CRITICAL, f"{taken} ({human_size(size)}, the previous was empty)"
        )
    change = (size - previous) / previous * 100
    message = f"{taken} ({human_size(size)}, {change:+.1f} %)"
    if abs(change) > row["crit_change_pct"]:
        return Problem("size_change", Status.CRITICAL, message)
    if abs(change) > row["warn_change_pct"]:
        return Problem("size_change", Status.WARNING, message)
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
    when = _when(latest["ended_at"] or latest["started_at"])
    what = "failed" if latest["status"] == "failed" else "was interrupted"
    message = (
        f"Last {row['type']} of {row['section']} at {row['datacenter']} ({short_host(latest['source'])}) "
        f"{what} on {when} {detail}"
    )
    if latest["status"] == "interrupted":
        return Problem("interrupted", Status.WARNING, message)
    return Problem("failed", Status.CRITICAL, message)


def _open_runs(row: dict[str, Any], runs: list[dict[str, Any]], now: dt.datetime) -> list[Problem]:
    problems = []
    what = f"{row['type']} of {row['section']} at {row['datacenter']}"
    for run in runs:
        if run["status"] == "scheduled":
            late = (now - run["scheduled_for"]).total_seconds()
            if late > row["schedule_grace_s"]:
                message = f"The {what} scheduled for {_when(run['scheduled_for'])} has not started"
                problems.append(Problem("missed", Status.CRITICAL, message))
            continue
        host = short_host(run["host"])
        started = run["started_at"]
        silent = (now - (run["heartbeat_at"] or started)).total_seconds()
        if silent > row["heartbeat_grace_s"]:
            message = (
                f"The {what} on {host} started on {_when(started)} is stalled: "
                f"no heartbeat for {human_duration(silent)}"
            )
            problems.append(Problem("stalled", Status.CRITICAL, message))
            continue
        running = (now - started).total_seconds()
        if running > row["max_duration_s"]:
            message = (
                f"The {what} on {host} has been running for {human_duration(running)} "
                f"(limit {human_duration(row['max_duration_s'])})"
            )
            problems.append(Problem("too_long", Status.WARNING, message))
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
    return Problem("too_long", Status.WARNING, message)


def evaluate(row: dict[str, Any]) -> Result:
    """Apply every rule to one series' state (a row of SERIES_STATE)."""
    now: dt.datetime = row["now"]
    finished = [_parse(run) for run in row["finished"]]
    failed = _parse(row["last_failed"]) if row["last_failed"] else None
    latest = failed if failed and (not finished or failed["started_at"] > finished[0]["started_at"]) else None
    open_runs = [_parse(run) for run in row["open"]]
    main = _wmfbackups(row, finished, now)
    extra = [_failed(row, latest), _slow_finish(row, finished), *_open_runs(row, open_runs, now)]
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
        thresholds={name: row[name] for name in THRESHOLDS},
    )


async def check(
    conn: Connection,
    *,
    section: str | None = None,
    type: str | None = None,
    datacenter: str | None = None,
) -> list[Result]:
    """The check of every series matching the filters, ordered by section, type, datacenter."""
    config = by_specificity([dict(row) for row in await conn.fetch(CONFIG)])
    rows = await conn.fetch(SERIES_STATE, section, type, datacenter)
    results = []
    for record in rows:
        row = dict(record)
        row.update(effective_thresholds(config, row["section"], row["type"], row["datacenter"]))
        row["finished"] = [orjson.loads(text) for text in row["finished"]]
        row["last_failed"] = orjson.loads(row["last_failed"]) if row["last_failed"] else None
        row["open"] = [orjson.loads(text) for text in (*row.pop("ongoing"), *row.pop("overdue"))]
        results.append(evaluate(row))
    return results
