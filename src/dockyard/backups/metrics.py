"""Prometheus metrics of the backups, read from the catalog when /metrics is scraped.

Computed at scrape time from the same checks as the API, so every worker and replica answers the
same numbers and nothing is lost on restart. Labels: section, type, datacenter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dockyard.backups import checks
from dockyard.core.db import Connection

LABELS = ["section", "type", "datacenter"]

# Failures and runs in progress per series, and the open alerts, in one round trip.
COUNTS = """SELECT r.section, r.type, r.datacenter,
    count(*) FILTER (WHERE r.status = 'failed') AS failed,
    count(*) FILTER (WHERE r.status = 'failed' AND r.started_at > coalesce(
        (SELECT max(f.started_at) FROM backups.runs f
         WHERE (f.section, f.type, f.datacenter) = (r.section, r.type, r.datacenter)
           AND f.status = 'finished'),
        '-infinity')) AS failed_since_success,
    count(*) FILTER (WHERE r.status = 'ongoing') AS ongoing,
    coalesce(sum(r.bytes_done) FILTER (WHERE r.status = 'ongoing'), 0) AS ongoing_bytes
FROM backups.runs r
WHERE r.status IN ('failed', 'ongoing')
GROUP BY r.section, r.type, r.datacenter"""

ALERTS = """SELECT severity, count(*) AS open,
    count(*) FILTER (WHERE acknowledged_at IS NULL AND coalesce(silenced_until <= now(), true)) AS unhandled
FROM backups.alerts WHERE resolved_at IS NULL GROUP BY severity"""


class _Snapshot(Collector):
    """The families built from one reading of the catalog."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self.families


def _gauge(name: str, documentation: str, labels: list[str] = LABELS) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"dockyard_backups_{name}", documentation, labels=labels)


def families(
    results: Iterable[checks.Result], counts: Iterable[Any], alerts: Iterable[Any], now: dt.datetime
) -> list[GaugeMetricFamily]:
    """The metric families for check results and the COUNTS/ALERTS rows."""
    status = _gauge("check_status", "Check result per series: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN")
    age = _gauge("last_success_age_seconds", "Seconds since the last finished backup started")
    when = _gauge("last_success_timestamp_seconds", "Start of the last finished backup (Unix time)")
    size = _gauge("last_success_size_bytes", "Total size of the last finished backup")
    duration = _gauge("last_success_duration_seconds", "How long the last finished backup took")
    for result in results:
        labels = [result.section, result.type, result.datacenter]
        status.add_metric(labels, int(result.status))
        last = result.last_finished
        if last is None:
            continue
        started: dt.datetime = last["started_at"]
        age.add_metric(labels, (now - started).total_seconds())
        when.add_metric(labels, started.timestamp())
        size.add_metric(labels, float(last.get("total_size") or 0))
        if last.get("ended_at"):
            duration.add_metric(labels, (last["ended_at"] - started).total_seconds())
    failed = _gauge("failed_runs", "Failed runs recorded in the catalog")
    failing = _gauge("failed_runs_since_last_success", "Failed runs since the last finished one")
    ongoing = _gauge("ongoing_runs", "Runs in progress (stalled ones included)")
    progress = _gauge("ongoing_bytes_done", "Bytes written so far by the runs in progress")
    for row in counts:
        labels = [row["section"], row["type"], row["datacenter"]]
        failed.add_metric(labels, row["failed"])
        failing.add_metric(labels, row["failed_since_success"])
        ongoing.add_metric(labels, row["ongoing"])
        progress.add_metric(labels, row["ongoing_bytes"])
    open_alerts = _gauge("alerts_open", "Open alerts by severity", ["severity"])
    unhandled = _gauge("alerts_unhandled", "Open alerts nobody acknowledged or silenced", ["severity"])
    by_severity = {row["severity"]: row for row in alerts}
    for severity in ("warning", "critical"):
        row = by_severity.get(severity)
        open_alerts.add_metric([severity], row["open"] if row else 0)
        unhandled.add_metric([severity], row["unhandled"] if row else 0)
    return [status, age, when, size, duration, failed, failing, ongoing, progress, open_alerts, unhandled]


async def exposition_from(conn: Connection) -> bytes:
    """The exposition text of the catalog behind `conn`."""
    now = await conn.fetchval("SELECT now()")
    results = await checks.check(conn)
    counts = await conn.fetch(COUNTS)
    alerts = await conn.fetch(ALERTS)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families(results, counts, alerts, now)))
    return bytes(generate_latest(registry))


async def exposition(app: FastAPI) -> bytes:
    """The backups' part of /metrics, read on a connection of the app's read pool."""
    async with app.state.db.read_pool().acquire() as conn:
        return await exposition_from(conn)
