"""The IHR demo data generator against a real PostgreSQL: every table filled, recent, plausible,
consistent, reproducible, and the schema left as the migrations made it."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from dockyard.ihr.seed import TABLES, seed
from tests.support.postgres import PgServer

SCHEMA = """
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename LIKE 'ihr%'
UNION ALL
SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE conrelid::regclass::text LIKE 'ihr%' AND convalidated
ORDER BY 1
"""
# Columns that do not depend on when the data was generated.
FINGERPRINTS = {
    "ihr_hegemony": "id, asn_id, originasn_id, af, hege",
    "ihr_hegemony_prefix": "id, prefix, asn_id, hege, rpki_status",
    "ihr_atlas_delay": "id, startpoint_id, endpoint_id, median",
    "ihr_delay_alarms": "id, ip, link, deviation, msm_prb_ids",
    "ihr_disco_probes": "id, event_id, probe_id, ipv4, level",
}


@dataclass
class Seeded:
    url: str
    rows: int
    progress: list[tuple[int, int | None]]
    schema_before: list[str]
    counts: dict[str, int]
    fingerprints: dict[str, str]


async def counts_and_fingerprints(conn: asyncpg.Connection) -> tuple[dict[str, int], dict[str, str]]:
    counts = {table: await conn.fetchval(f"SELECT count(*) FROM public.{table}") for table in TABLES}
    fingerprints = {
        table: await conn.fetchval(
            f"SELECT md5(string_agg(row({columns})::text, ',' ORDER BY id)) FROM {table}"
        )
        for table, columns in FINGERPRINTS.items()
    }
    return counts, fingerprints


async def fetch_one(conn: asyncpg.Connection, query: str) -> asyncpg.Record:
    record = await conn.fetchrow(query)
    assert record is not None
    return record


@pytest.fixture(scope="module")
async def seeded(pg: PgServer) -> AsyncIterator[Seeded]:
    """A migrated database with the demo data, loaded by calling the generator directly."""
    with pg.fresh_database("dy_ihr_seed") as url:
        pg.migrate(url)
        conn = await asyncpg.connect(url)
        try:
            schema_before = [row[0] for row in await conn.fetch(SCHEMA)]
            calls: list[tuple[int, int | None]] = []
            async with conn.transaction():
                rows = await seed(conn, "demo", lambda done, total: calls.append((done, total)))
            counts, fingerprints = await counts_and_fingerprints(conn)
        finally:
            await conn.close()
        yield Seeded(url, rows, calls, schema_before, counts, fingerprints)


@pytest.fixture
async def db(seeded: Seeded) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(seeded.url)
    try:
        yield conn
    finally:
        await conn.close()


def test_every_table_has_rows(seeded: Seeded) -> None:
    assert {table for table, count in seeded.counts.items() if count == 0} == set()
    assert seeded.rows == sum(seeded.counts.values())
    assert 200_000 <= seeded.rows <= 1_000_000


def test_progress_moves_towards_a_real_total(seeded: Seeded) -> None:
    calls = seeded.progress
    assert len(calls) >= 5
    done = [call[0] for call in calls]
    assert done == sorted(done)
    first_total = calls[0][1]
    assert first_total is not None
    assert first_total > seeded.rows * 0.9
    assert calls[-1] == (seeded.rows, seeded.rows)


async def test_time_series_are_recent_and_cover_eight_days(db: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    newest, oldest = await fetch_one(db, "SELECT max(timebin), min(timebin) FROM ihr_hegemony")
    assert now - timedelta(hours=1) < newest <= now
    assert (newest.minute % 15, newest.second) == (0, 0)
    assert newest - oldest >= timedelta(days=8)
    api_window = datetime.combine(now.date(), datetime.min.time(), UTC) - timedelta(days=6)
    for table in (
        "ihr_hegemonycone",
        "ihr_hegemony_country",
        "ihr_atlas_delay",
        "ihr_delay",
        "ihr_tr_hegemony",
    ):
        newest, oldest = await fetch_one(db, f"SELECT max(timebin), min(timebin) FROM {table}")
        assert newest > now - timedelta(hours=6), table
        assert oldest < api_window - timedelta(days=1), table


@pytest.mark.parametrize("table", ["ihr_hegemony", "ihr_hegemonycone", "ihr_atlas_delay"])
async def test_production_cadence_of_15_minutes(db: asyncpg.Connection, table: str) -> None:
    """The website breaks a delay line at any step over 30 minutes and expects 15-minute cones."""
    steps = await db.fetch(
        f"SELECT DISTINCT lead(timebin) OVER (ORDER BY timebin) - timebin AS step"
        f" FROM (SELECT DISTINCT timebin FROM {table}) bins"
    )
    assert {row["step"] for row in steps} - {None} == {timedelta(minutes=15)}


async def test_local_graph_of_2497(db: asyncpg.Connection) -> None:
    rows = await db.fetch(
        "SELECT asn_id, hege FROM ihr_hegemony WHERE originasn_id = 2497 AND af = 4"
        " AND timebin >= now() - interval '1 day'"
    )
    assert len(rows) >= 96 * 3
    assert {row["hege"] for row in rows if row["asn_id"] == 2497} == {1.0}
    upstreams = {row["asn_id"] for row in rows} - {2497}
    assert upstreams
    assert all(0 < row["hege"] < 1 for row in rows if row["asn_id"] != 2497)
    assert await db.fetchval("SELECT name FROM ihr_asn WHERE number = 2497") == (
        "IIJ Internet Initiative Japan Inc., JP"
    )


async def test_global_graph_is_skewed_and_every_hege_in_0_1(db: asyncpg.Connection) -> None:
    low, high = await fetch_one(db, "SELECT min(hege), max(hege) FROM ihr_hegemony")
    assert low > 0
    assert high <= 1
    latest = await db.fetch(
        "SELECT hege FROM ihr_hegemony WHERE originasn_id = 0 AND af = 4"
        " AND timebin = (SELECT max(timebin) FROM ihr_hegemony) ORDER BY hege DESC"
    )
    values = [row["hege"] for row in latest]
    assert len(values) >= 30
    assert values[0] > 0.1
    assert values[len(values) // 2] < 0.01


async def test_networks_countries_and_ixps(db: asyncpg.Connection) -> None:
    names = {row["number"]: row["name"] for row in await db.fetch("SELECT number, name FROM ihr_asn")}
    assert {0, 15169, 13335, 174, 1299, 3356, 2914, 20712} <= names.keys()
    assert any(number < 0 for number in names)
    assert any(re.fullmatch(r"[A-Z-]+-\d+, [A-Z]{2}", name) for name in names.values())
    codes = {row[0] for row in await db.fetch("SELECT code FROM ihr_country")}
    assert {"JP", "US", "FR", "DE", "NL", "GB", "SG", "BR", "IN"} <= codes


async def test_atlas_location_names_follow_the_key_conventions(db: asyncpg.Connection) -> None:
    locations = await db.fetch("SELECT type, name, af FROM ihr_atlas_location")
    assert {row["type"] for row in locations} == {"AS", "CT", "PB", "IP"}
    assert {row["af"] for row in locations} == {4, 6}
    for row in locations:
        if row["type"] == "CT":
            assert re.fullmatch(r"[^,]+, [^,]+, [A-Z]{2}", row["name"]), row["name"]
        elif row["type"] in ("AS", "PB"):
            assert row["name"].isdigit(), row["name"]
        else:
            assert ipaddress.ip_address(row["name"]).version == row["af"]
    keys = {f"{row['type']}{row['af']}{row['name']}" for row in locations}
    assert {"AS42497", "AS415169", "CT4Amsterdam, North Holland, NL", "CT4Tokyo, Tokyo, JP"} <= keys
    website = await db.fetchval(
        """
        SELECT count(DISTINCT e.name) FROM ihr_atlas_delay d
        JOIN ihr_atlas_location s ON s.id = d.startpoint_id
        JOIN ihr_atlas_location e ON e.id = d.endpoint_id
        WHERE s.type = 'AS' AND s.name = '2497' AND s.af = 4 AND d.timebin >= now() - interval '1 day'
          AND e.af = 4 AND e.name IN ('15169', 'Amsterdam, North Holland, NL',
              'Singapore, Central Singapore, SG', 'New York City, New York, US')
        """
    )
    assert website == 4


async def test_prefixes_have_unique_ids_valid_cidrs_and_known_statuses(db: asyncpg.Connection) -> None:
    assert await db.fetchval("SELECT count(*) = count(DISTINCT id) FROM ihr_hegemony_prefix")
    for (prefix,) in await db.fetch("SELECT DISTINCT prefix FROM ihr_hegemony_prefix"):
        ipaddress.ip_network(prefix, strict=True)
    allowed = {
        "rpki_status": {"Valid", "Invalid", "Invalid,more-specific", "NotFound"},
        "irr_status": {"Valid", "Invalid", "NotFound"},
        "delegated_prefix_status": {"assigned", "available", "reserved"},
        "delegated_asn_status": {"assigned", "available"},
    }
    for column, values in allowed.items():
        found = {row[0] for row in await db.fetch(f"SELECT DISTINCT {column} FROM ihr_hegemony_prefix")}
        assert found <= values, column
    jp_invalid = await db.fetchval(
        "SELECT count(*) FROM ihr_hegemony_prefix WHERE country_id = 'JP' AND rpki_status LIKE '%Invalid%'"
        " AND timebin >= now() - interval '3 days'"
    )
    assert jp_invalid > 0


async def test_alarms_span_both_directions(db: asyncpg.Connection) -> None:
    high, low = await fetch_one(
        db,
        "SELECT count(*) FILTER (WHERE deviation > 20), count(*) FILTER (WHERE deviation < -20)"
        " FROM ihr_hegemony_alarms WHERE timebin >= now() - interval '7 days'",
    )
    assert high > 0
    assert low > 0
    assert await db.fetchval(
        "SELECT count(*) FROM ihr_atlas_delay_alarms a JOIN ihr_atlas_location s ON s.id = a.startpoint_id"
        " WHERE s.type = 'AS' AND deviation >= 20 AND timebin >= now() - interval '7 days'"
    )


async def test_msms_rows_are_the_alarms_cited_measurements(db: asyncpg.Connection) -> None:
    for alarms in ("ihr_delay_alarms", "ihr_forwarding_alarms"):
        assert not await db.fetchval(
            f"SELECT count(*) FROM {alarms}_msms m LEFT JOIN {alarms} a ON a.id = m.alarm_id"
            " WHERE a.id IS NULL"
        )
        cited = {
            (int(msmid), probe, row["id"])
            for row in await db.fetch(f"SELECT id, msm_prb_ids FROM {alarms}")
            for msmid, probes in json.loads(row["msm_prb_ids"]).items()
            for probe in probes
        }
        stored = {tuple(row) for row in await db.fetch(f"SELECT msmid, probeid, alarm_id FROM {alarms}_msms")}
        assert cited == stored


async def test_disco_metis_and_tr_hegemony_serve_the_website(db: asyncpg.Connection) -> None:
    today = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
    events = await db.fetch(
        "SELECT e.id, e.starttime, e.endtime, count(p.id) AS probes, e.nbdiscoprobes"
        " FROM ihr_disco_events e JOIN ihr_disco_probes p ON p.event_id = e.id"
        " WHERE e.streamname = '20712' AND e.starttime >= now() - interval '7 days' GROUP BY e.id"
    )
    assert events
    assert all(event["probes"] == event["nbdiscoprobes"] for event in events)
    assert not await db.fetchval(
        "SELECT count(*) FROM ihr_disco_probes p JOIN ihr_disco_events e ON e.id = p.event_id"
        " WHERE p.starttime < e.starttime OR p.endtime > e.endtime"
    )
    assert await db.fetchval("SELECT count(*) FROM ihr_disco_events WHERE ongoing")
    assert {row[0] for row in await db.fetch("SELECT DISTINCT streamtype FROM ihr_disco_events")} == {
        "asn",
        "country",
        "geo",
    }
    # One ranking a week, as Metis publishes: exactly one in the website's 6-day window.
    rankings = await db.fetch(
        "SELECT timebin, count(*) FILTER (WHERE rank <= 10) AS top FROM ihr_metis_atlas_selection"
        " WHERE metric = 'as_path_length' AND af = 4 GROUP BY timebin ORDER BY timebin"
    )
    assert len(rankings) >= 2
    assert [row["top"] for row in rankings] == [11] * len(rankings)
    times = [row["timebin"] for row in rankings]
    assert {later - earlier for earlier, later in itertools.pairwise(times)} == {timedelta(days=7)}
    assert [t for t in times if t >= today - timedelta(days=6)] == [today]
    assert await db.fetchval(
        "SELECT count(*) FROM ihr_tr_hegemony t JOIN ihr_tr_hegemony_identifier o ON o.id = t.origin_id"
        " WHERE o.type = 'AS' AND o.name = '2497'"
    )
    assert {row[0] for row in await db.fetch("SELECT DISTINCT type FROM ihr_tr_hegemony_identifier")} == {
        "AS",
        "IX",
        "MB",
        "IP",
    }


async def test_schema_and_sequences_are_as_the_migrations_left_them(
    seeded: Seeded, db: asyncpg.Connection
) -> None:
    assert [row[0] for row in await db.fetch(SCHEMA)] == seeded.schema_before
    insert = db.transaction()
    await insert.start()
    try:
        next_id = await db.fetchval(
            "INSERT INTO ihr_delay_alarms"
            " (timebin, ip, link, medianrtt, diffmedian, deviation, nbprobes, asn_id)"
            " VALUES (now(), '192.0.2.1', '192.0.2.1-192.0.2.2', 1, 1, 1, 1, 2497) RETURNING id"
        )
    finally:
        await insert.rollback()
    assert next_id == seeded.counts["ihr_delay_alarms"] + 1


async def test_force_reseeds_the_same_data(seeded: Seeded, pg: PgServer, db: asyncpg.Connection) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "dockyard.seeding", "--size", "demo", "--service", "ihr", "--force"],
        env=pg.env(seeded.url),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"seeded {seeded.rows:,} rows" in done.stderr
    assert await counts_and_fingerprints(db) == (seeded.counts, seeded.fingerprints)
