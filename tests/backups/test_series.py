"""The series table follows the runs: inserted (COPY included), deleted, truncated."""

from __future__ import annotations

import datetime as dt

import asyncpg


async def series(conn: asyncpg.Connection) -> set[tuple[str, str, str]]:
    rows = await conn.fetch("SELECT section, type, datacenter FROM backups.series")
    return {(r["section"], r["type"], r["datacenter"]) for r in rows}


async def test_series_appear_with_their_first_run_and_go_with_their_last(catalog: asyncpg.Connection) -> None:
    insert = (
        "INSERT INTO backups.runs (section, type, datacenter, status, scheduled_for) "
        "VALUES ($1, 'dump', 'eqiad', 'scheduled', now() + make_interval(days => $2)) RETURNING id"
    )
    first = await catalog.fetchval(insert, "s1", 1)
    second = await catalog.fetchval(insert, "s1", 2)
    assert await series(catalog) == {("s1", "dump", "eqiad")}
    await catalog.execute("DELETE FROM backups.runs WHERE id = $1", first)
    assert await series(catalog) == {("s1", "dump", "eqiad")}, "one run is left"
    await catalog.execute("DELETE FROM backups.runs WHERE id = $1", second)
    assert await series(catalog) == set()


async def test_copy_and_truncate(catalog: asyncpg.Connection) -> None:
    now = dt.datetime.now(dt.UTC)
    await catalog.copy_records_to_table(
        "runs",
        schema_name="backups",
        columns=["section", "type", "datacenter", "status", "started_at"],
        records=[(f"s{n % 3}", "snapshot", "codfw", "ongoing", now) for n in range(30)],
    )
    assert await series(catalog) == {(f"s{n}", "snapshot", "codfw") for n in range(3)}
    await catalog.execute("TRUNCATE backups.runs CASCADE")
    assert await series(catalog) == set()
