"""Prometheus metrics of the backups: values read from a real catalog, and their place in /metrics."""

from __future__ import annotations

import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from dockyard.backups import metrics
from tests.support.app import AppClient

GIB = 2**30


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def series(section: str, type_: str = "dump", datacenter: str = "eqiad") -> tuple[tuple[str, str], ...]:
    return (("datacenter", datacenter), ("section", section), ("type", type_))


async def add_run(
    conn: asyncpg.Connection, section: str, status: str, hours_ago: float, size: int | None
) -> None:
    await conn.execute(
        """INSERT INTO backups.runs
               (section, type, datacenter, status, started_at, ended_at, total_size, heartbeat_at)
        VALUES ($1, 'dump', 'eqiad', $2, now() - make_interval(secs => $3 * 3600),
                CASE WHEN $2 <> 'ongoing'
                     THEN now() - make_interval(secs => $3 * 3600) + interval '90 minutes' END,
                $4, now())""",
        section,
        status,
        hours_ago,
        size,
    )


async def test_ages_sizes_durations_and_failures_per_series(catalog: asyncpg.Connection) -> None:
    await add_run(catalog, "s1", "finished", 200, 100 * GIB)
    await add_run(catalog, "s1", "failed", 100, None)
    await add_run(catalog, "s1", "finished", 48, 101 * GIB)
    await add_run(catalog, "s1", "failed", 24, None)
    await add_run(catalog, "s1", "failed", 12, None)
    await add_run(catalog, "s1", "ongoing", 1, None)
    await catalog.execute("UPDATE backups.runs SET bytes_done = 5000 WHERE status = 'ongoing'")
    found = samples((await metrics.exposition_from(catalog)).decode())
    s1 = series("s1")
    assert abs(found[("dockyard_backups_last_success_age_seconds", s1)] - 48 * 3600) < 60
    assert found[("dockyard_backups_last_success_size_bytes", s1)] == 101 * GIB
    assert found[("dockyard_backups_last_success_duration_seconds", s1)] == 90 * 60
    assert found[("dockyard_backups_failed_runs", s1)] == 3
    assert found[("dockyard_backups_failed_runs_since_last_success", s1)] == 2
    assert found[("dockyard_backups_ongoing_runs", s1)] == 1
    assert found[("dockyard_backups_ongoing_bytes_done", s1)] == 5000
    # The last run failed after the last success: the failed-run rule makes it critical.
    assert found[("dockyard_backups_check_status", s1)] == 2


async def test_a_series_that_never_succeeded_has_a_status_and_no_age(catalog: asyncpg.Connection) -> None:
    await catalog.execute(
        "INSERT INTO backups.schedules (section, type, datacenter, cron) "
        "VALUES ('m9', 'dump', 'codfw', '0 0 * * tue')"
    )
    found = samples((await metrics.exposition_from(catalog)).decode())
    m9 = series("m9", datacenter="codfw")
    assert found[("dockyard_backups_check_status", m9)] == 2
    assert ("dockyard_backups_last_success_age_seconds", m9) not in found


async def test_open_and_unhandled_alerts_by_severity(catalog: asyncpg.Connection) -> None:
    await catalog.execute(
        """INSERT INTO backups.alerts (section, type, datacenter, rule, severity, message, acknowledged_at,
               silenced_until, resolved_at)
        VALUES ('s1', 'dump', 'eqiad', 'stale', 'critical', 'old', NULL, NULL, NULL),
               ('s2', 'dump', 'eqiad', 'stale', 'critical', 'old', now(), NULL, NULL),
               ('s3', 'dump', 'eqiad', 'stale', 'critical', 'old', NULL, now() + interval '1 hour', NULL),
               ('s4', 'dump', 'eqiad', 'stale', 'critical', 'old', NULL, now() - interval '1 hour', NULL),
               ('s5', 'dump', 'eqiad', 'size_change', 'warning', 'big', NULL, NULL, now())"""
    )
    found = samples((await metrics.exposition_from(catalog)).decode())
    assert found[("dockyard_backups_alerts_open", (("severity", "critical"),))] == 4
    assert found[("dockyard_backups_alerts_unhandled", (("severity", "critical"),))] == 2
    assert found[("dockyard_backups_alerts_open", (("severity", "warning"),))] == 0


async def test_metrics_endpoint_carries_the_backups_families(client: AppClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"dockyard_backups_alerts_open", "dockyard_http_requests"} <= names
