"""The demo data set against its own retention policy: what the policy would have expired is already
`expired`, as of the data set's dates, so a new server's first retention pass expires nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from dockyard.backups import retention
from dockyard.backups.seed import seed
from tests.support.postgres import PgServer


@pytest.fixture(scope="module")
async def demo(pg: PgServer) -> AsyncIterator[str]:
    with pg.fresh_database("dy_bk_seed_ret") as url:
        pg.migrate(url)
        conn = await asyncpg.connect(url)
        try:
            await seed(conn, "demo", lambda done, total: None)
        finally:
            await conn.close()
        yield url


@pytest.fixture
async def conn(demo: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(demo)
    try:
        yield connection
    finally:
        await connection.close()


async def test_the_first_retention_pass_expires_nothing_of_the_seed(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    finished = await conn.fetchval("SELECT count(*) FROM backups.runs WHERE status = 'finished'")
    async with conn.transaction():
        assert await retention.apply(conn, host="dbprov1002.eqiad.wmnet", store=tmp_path) == []
    assert await conn.fetchval("SELECT count(*) FROM backups.runs WHERE status = 'finished'") == finished
    # Nothing recent is expired: the last 30 days of snapshots and 90 of dumps stay finished.
    recent = await conn.fetchval(
        "SELECT count(*) FROM backups.runs WHERE status = 'expired' AND started_at > now() - CASE type"
        " WHEN 'snapshot' THEN interval '30 days' ELSE interval '90 days' END"
    )
    assert recent == 0


async def test_older_runs_were_expired_when_they_passed_the_policy(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT type, started_at, ended_at, expired_at, location FROM backups.runs WHERE status = 'expired'"
    )
    assert {row["type"] for row in rows} == {"snapshot"}  # 90 days of history: dumps are all kept
    now = datetime.now(UTC)
    for row in rows:
        assert row["started_at"] < now - timedelta(days=30)
        assert row["expired_at"] == max(row["ended_at"], row["started_at"] + timedelta(days=30))
        assert row["location"].startswith("/srv/backups/snapshots/latest/snapshot.")
    # The two newest finished runs of each series are never expired.
    pushed_too_far = await conn.fetchval(
        "SELECT count(*) FROM backups.runs r WHERE r.status = 'expired' AND (SELECT count(*)"
        " FROM backups.runs f WHERE (f.section, f.type, f.datacenter) = (r.section, r.type, r.datacenter)"
        " AND f.status = 'finished' AND f.started_at > r.started_at) < 2"
    )
    assert pushed_too_far == 0


async def test_runs_say_where_they_lie_and_drills_compare_row_counts(conn: asyncpg.Connection) -> None:
    missing = await conn.fetchval(
        "SELECT count(*) FROM backups.runs WHERE status IN ('finished', 'ongoing') AND location IS NULL"
    )
    assert missing == 0
    assert await conn.fetchval(
        "SELECT bool_and(location IS NULL) FROM backups.runs WHERE status IN ('failed', 'scheduled')"
    )
    drills = await conn.fetch("SELECT run_id, result, detail FROM backups.restore_tests")
    assert drills
    for drill in drills:
        detail = json.loads(drill["detail"])
        counted = await conn.fetch(
            "SELECT db, name, rows FROM backups.objects WHERE run_id = $1 AND name <> '' ORDER BY db, name",
            drill["run_id"],
        )
        assert all(row["rows"] > 0 for row in counted)
        assert sorted((t["db"], t["name"], t["expected"]) for t in detail["tables"]) == [
            tuple(row) for row in counted
        ]
        differ = [t for t in detail["tables"] if t["restored"] != t["expected"]]
        assert detail["mismatches"] == differ
        assert (drill["result"] == "failed") == bool(differ)
