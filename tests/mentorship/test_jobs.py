"""The daily jobs: relation completion, request expiry, the purge, and one run per slot across workers."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest

from dockyard.mentorship import jobs
from dockyard.mentorship.settings import MentorshipSettings
from tests.support.postgres import PgServer

SETTINGS = MentorshipSettings(_env_file=None, scheduler=False)  # type: ignore[call-arg]


@pytest.fixture
async def programme_db(pg: PgServer) -> AsyncIterator[str]:
    """A migrated database of the test's own: the jobs act on every relation they find."""
    with pg.fresh_database("dy_mjobs") as url:
        pg.migrate(url)
        yield url


async def _people(
    conn: asyncpg.Connection, count: int, *, verified: bool = True, age_days: int = 0
) -> list[int]:
    ids = []
    for index in range(count):
        user_id = await conn.fetchval(
            "INSERT INTO accounts.users (email, email_verified_at) VALUES ($1, CASE WHEN $2 THEN now() END) "
            "RETURNING id",
            f"job{index}-{age_days}-{verified}@example.org",
            verified,
        )
        await conn.execute(
            "INSERT INTO mentorship.profiles (user_id, username, name, terms_and_conditions_checked, "
            "registration_date) VALUES ($1, $2, 'Job Person', true, now() - make_interval(days => $3))",
            user_id,
            f"job_user_{user_id}",
            age_days,
        )
        ids.append(user_id)
    return ids


async def _relation(conn: asyncpg.Connection, mentor: int, mentee: int, state: int, end: str) -> int:
    relation_id: int = await conn.fetchval(
        "INSERT INTO mentorship.relations (mentor_id, mentee_id, action_user_id, end_date, notes, state) "
        f"VALUES ($1, $2, $1, now() + interval '{end}', '', $3) RETURNING id",
        mentor,
        mentee,
        state,
    )
    return relation_id


async def test_completes_overdue_and_expires_stale_requests(programme_db: str) -> None:
    conn = await asyncpg.connect(programme_db)
    pool = await asyncpg.create_pool(programme_db, min_size=1, max_size=2)
    try:
        a, b, c, d = await _people(conn, 4)
        overdue = await _relation(conn, a, b, 2, "-1 day")
        running = await _relation(conn, c, d, 2, "1 day")
        stale = await _relation(conn, a, c, 1, "-1 hour")
        ran = await jobs.run_due(pool, SETTINGS)
        states = dict(await conn.fetch("SELECT id, state FROM mentorship.relations"))
    finally:
        await pool.close()
        await conn.close()
    assert ran["complete_relations"] == 2
    assert states == {overdue: 5, running: 2, stale: 4}


async def test_purges_old_unverified_registrations(programme_db: str) -> None:
    conn = await asyncpg.connect(programme_db)
    pool = await asyncpg.create_pool(programme_db, min_size=1, max_size=2)
    try:
        (old,) = await _people(conn, 1, verified=False, age_days=31)
        (recent,) = await _people(conn, 1, verified=False, age_days=3)
        (verified,) = await _people(conn, 1, verified=True, age_days=90)
        pending = await _relation(conn, verified, old, 1, "5 weeks")
        ran = await jobs.run_due(pool, SETTINGS)
        gone = await conn.fetch("SELECT user_id FROM mentorship.profiles WHERE deleted_at IS NOT NULL")
        state = await conn.fetchval("SELECT state FROM mentorship.relations WHERE id = $1", pending)
        email = await conn.fetchval("SELECT email FROM accounts.users WHERE id = $1", old)
    finally:
        await pool.close()
        await conn.close()
    assert ran["purge_unverified"] == 1
    assert [row["user_id"] for row in gone] == [old]
    assert recent != old
    assert state == 4
    assert email.endswith("@deleted.invalid")


async def test_two_workers_run_each_slot_once(programme_db: str) -> None:
    conn = await asyncpg.connect(programme_db)
    pools = [await asyncpg.create_pool(programme_db, min_size=1, max_size=2) for _ in range(2)]
    try:
        a, b = await _people(conn, 2)
        await _relation(conn, a, b, 2, "-1 day")
        # Worker one's claim stays open while worker two tries: the second waits on the row, then skips.
        async with pools[0].acquire() as holder, holder.transaction():
            slot = jobs.JOBS[0].slot(dt.datetime.now(dt.UTC))
            assert await holder.fetchval(jobs.CLAIM, "complete_relations", slot, "worker-one")
            second = asyncio.create_task(jobs.run_due(pools[1], SETTINGS, worker="worker-two"))
            await asyncio.sleep(0.5)
            assert not second.done()  # waiting for worker one's claim
            rows = await jobs.complete_relations(holder, SETTINGS)
            await holder.execute(jobs.RECORD, "complete_relations", slot, rows)
        ran_two = await second
        both = await asyncio.gather(
            jobs.run_due(pools[0], SETTINGS, worker="w1"), jobs.run_due(pools[1], SETTINGS, worker="w2")
        )
        runs = await conn.fetch("SELECT job, worker, rows FROM mentorship.job_runs ORDER BY job")
    finally:
        for pool in pools:
            await pool.close()
        await conn.close()
    assert "complete_relations" not in ran_two
    assert both == [{}, {}]  # every slot already ran
    assert [(row["job"], row["rows"]) for row in runs] == [("complete_relations", 1), ("purge_unverified", 0)]
    assert runs[0]["worker"] == "worker-one"


def test_slots() -> None:
    job = jobs.JOBS[0]
    before = dt.datetime(2026, 5, 2, 23, 58, tzinfo=dt.UTC)
    after = dt.datetime(2026, 5, 2, 23, 59, 30, tzinfo=dt.UTC)
    assert job.slot(before) == dt.datetime(2026, 5, 1, 23, 59, tzinfo=dt.UTC)
    assert job.slot(after) == dt.datetime(2026, 5, 2, 23, 59, tzinfo=dt.UTC)


async def test_two_app_workers_with_the_scheduler_on(programme_db: str) -> None:
    from dockyard import accounts, mentorship
    from tests.support.app import app_client, settings_for

    conn = await asyncpg.connect(programme_db)
    try:
        a, b = await _people(conn, 2)
        relation_id = await _relation(conn, a, b, 2, "-1 day")
        on = MentorshipSettings(_env_file=None, scheduler=True, scheduler_interval_s=0.2)  # type: ignore[call-arg]
        services = (accounts.service, mentorship.service)
        settings = settings_for(programme_db)
        async with (
            app_client(settings, services, service_settings=[on]),
            app_client(settings, services, service_settings=[on]),
        ):
            for _ in range(50):
                if await conn.fetchval("SELECT count(*) FROM mentorship.job_runs") == len(jobs.JOBS):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # more ticks of both workers
        runs = await conn.fetch("SELECT job, rows FROM mentorship.job_runs ORDER BY job")
        state = await conn.fetchval("SELECT state FROM mentorship.relations WHERE id = $1", relation_id)
    finally:
        await conn.close()
    assert [(row["job"], row["rows"]) for row in runs] == [("complete_relations", 1), ("purge_unverified", 0)]
    assert state == 5
