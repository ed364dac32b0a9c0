"""/backups/api/v1/schedules over HTTP: permissions, cron validation, upsert, planning, deletion."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import asyncpg
import pytest

from tests.accounts.conftest import Accounts
from tests.backups.test_api import manager, viewer
from tests.support.app import AppClient

URL = "/backups/api/v1/schedules"


@pytest.fixture
def section() -> str:
    return f"c{uuid.uuid4().hex[:8]}"


def body(section: str, cron: str = "0 0 * * tue", **extra: object) -> dict[str, object]:
    return {"section": section, "type": "dump", "datacenter": "eqiad", "cron": cron, **extra}


async def test_viewers_read_managers_write(client: AppClient, users: Accounts, section: str) -> None:
    assert (await client.get(URL)).status_code == 401
    as_viewer = await viewer(users)
    assert (await client.put(URL, json=body(section), headers=as_viewer)).status_code == 403
    as_manager = await manager(users)
    created = await client.put(URL, json=body(section, source="db1139:3311"), headers=as_manager)
    assert created.status_code == 200, created.text
    listed = await client.get(URL, params={"section": section}, headers=as_viewer)
    (schedule,) = listed.json()
    assert schedule["cron"] == "0 0 * * tue"
    assert schedule["executed_by"] == "external"
    slots = [dt.datetime.fromisoformat(slot) for slot in schedule["next"]]
    assert len(slots) == 3
    assert all(slot.weekday() == 1 and (slot.hour, slot.minute) == (0, 0) for slot in slots)
    assert slots == sorted(slots)
    assert slots[1] - slots[0] == dt.timedelta(days=7)


async def test_a_bad_cron_says_which_field(client: AppClient, users: Accounts, section: str) -> None:
    response = await client.put(URL, json=body(section, "0 25 * * *"), headers=await manager(users))
    assert response.status_code == 400
    assert "hour: 25 is outside 0-23" in response.text


async def test_put_replaces_and_plans_the_week_at_once(
    client: AppClient, users: Accounts, db: asyncpg.Connection, section: str
) -> None:
    headers = await manager(users)
    await client.put(URL, json=body(section, "30 2 * * *"), headers=headers)
    daily = await db.fetch(
        "SELECT scheduled_for FROM backups.runs WHERE section = $1 AND status = 'scheduled'", section
    )
    assert len(daily) in (7, 8)  # 7 days ahead, counting today's slot if it is still to come
    assert {(r["scheduled_for"].hour, r["scheduled_for"].minute) for r in daily} == {(2, 30)}
    replaced = await client.put(
        URL, json=body(section, "0 1 * * mon", source_env="BACKUP_SOURCE_X"), headers=headers
    )
    assert replaced.json()["executed_by"] == "dockyard"
    weekly = await db.fetch(
        "SELECT scheduled_for FROM backups.runs WHERE section = $1 AND status = 'scheduled'", section
    )
    assert len(weekly) == 1
    assert weekly[0]["scheduled_for"].strftime("%a %H:%M") == "Mon 01:00"
    assert await db.fetchval("SELECT count(*) FROM backups.schedules WHERE section = $1", section) == 1


async def test_delete_removes_the_planned_slots(
    client: AppClient, users: Accounts, db: asyncpg.Connection, section: str
) -> None:
    headers = await manager(users)
    schedule_id = (await client.put(URL, json=body(section), headers=headers)).json()["id"]
    assert (await client.delete(f"{URL}/{schedule_id}", headers=headers)).status_code == 204
    assert not await db.fetchval("SELECT count(*) FROM backups.runs WHERE section = $1", section)
    again = await client.delete(f"{URL}/{schedule_id}", headers=headers)
    assert again.status_code == 404
    assert "GET /backups/api/v1/schedules" in again.text


async def test_an_unknown_field_or_bad_env_name_is_refused(
    client: AppClient, users: Accounts, section: str
) -> None:
    headers = await manager(users)
    assert (await client.put(URL, json=body(section, extra=1), headers=headers)).status_code == 422
    bad_env = await client.put(URL, json=body(section, source_env="lower case"), headers=headers)
    assert bad_env.status_code == 422
    assert "source_env" in bad_env.text


async def test_source_env_must_be_a_backup_source_variable(
    client: AppClient, users: Accounts, db: asyncpg.Connection, section: str
) -> None:
    headers = await manager(users)
    for name in ("JWT_SECRET", "DATABASE_URL", "SMTP_PASSWORD", "BACKUP_SOURCE_"):
        refused = await client.put(URL, json=body(section, source_env=name), headers=headers)
        assert refused.status_code == 400, refused.text
        assert f"source_env: {name} is not allowed" in refused.text
        assert "BACKUP_SOURCE_<NAME>" in refused.text
    assert not await db.fetchval("SELECT count(*) FROM backups.schedules WHERE section = $1", section)
    accepted = await client.put(URL, json=body(section, source_env="BACKUP_SOURCE_S1"), headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["executed_by"] == "dockyard"


async def test_the_time_zone_is_checked_and_the_slots_follow_it(
    client: AppClient, users: Accounts, db: asyncpg.Connection, section: str
) -> None:
    headers = await manager(users)
    for name in ("Mars/Olympus", "../etc/passwd", "utc", "", "Europe"):
        refused = await client.put(URL, json=body(section, "30 2 * * *", timezone=name), headers=headers)
        assert refused.status_code == 400, (name, refused.text)
        assert "timezone" in refused.text
        assert "IANA" in refused.text
    assert (await client.put(URL, json=body(section, timezone="x" * 65), headers=headers)).status_code == 422
    created = await client.put(
        URL, json=body(section, "30 2 * * *", timezone="Asia/Kolkata"), headers=headers
    )
    assert created.status_code == 200, created.text
    schedule = created.json()
    assert schedule["timezone"] == "Asia/Kolkata"
    kolkata = zoneinfo.ZoneInfo("Asia/Kolkata")
    slots = [dt.datetime.fromisoformat(slot) for slot in schedule["next"]]
    assert {(slot.astimezone(kolkata).hour, slot.astimezone(kolkata).minute) for slot in slots} == {(2, 30)}
    assert {(slot.astimezone(dt.UTC).hour, slot.astimezone(dt.UTC).minute) for slot in slots} == {(21, 0)}
    planned = await db.fetch("SELECT scheduled_for FROM backups.runs WHERE section = $1", section)
    assert {(r["scheduled_for"].astimezone(dt.UTC).hour, r["scheduled_for"].minute) for r in planned} == {
        (21, 0)
    }
    assert all(r["scheduled_for"] >= dt.datetime.fromisoformat(schedule["created_at"]) for r in planned)


async def add_slot(db: asyncpg.Connection, section: str, minutes_from_now: int) -> int:
    slot_id: int = await db.fetchval(
        """INSERT INTO backups.runs (section, type, datacenter, status, scheduled_for, registered_by)
        VALUES ($1, 'dump', 'eqiad', 'scheduled', date_trunc('minute', now()) + make_interval(mins => $2),
                'scheduler')
        RETURNING id""",
        section,
        minutes_from_now,
    )
    return slot_id


async def test_a_run_registered_in_its_slot_takes_the_slots_place(
    client: AppClient, users: Accounts, db: asyncpg.Connection, section: str
) -> None:
    missed = await add_slot(db, section, -7 * 24 * 60)  # last week's, never taken
    taken = await add_slot(db, section, -90)  # due 90 minutes ago: still within the 5 h grace
    upcoming = await add_slot(db, section, 24 * 60)
    run = await client.post(
        "/backups/api/v1/runs",
        json={"section": section, "type": "dump", "datacenter": "eqiad"},
        headers=await manager(users),
    )
    assert run.status_code == 201, run.text
    rows = {r["id"]: r for r in await db.fetch("SELECT * FROM backups.runs WHERE section = $1", section)}
    assert set(rows) == {missed, upcoming, run.json()["id"]}, "the due slot gave way to the run"
    slot_time = await db.fetchval("SELECT date_trunc('minute', now()) - interval '90 minutes'")
    assert rows[run.json()["id"]]["scheduled_for"] == slot_time
    assert rows[missed]["status"] == rows[upcoming]["status"] == "scheduled"
    assert taken not in rows


async def test_a_run_far_from_any_slot_leaves_the_slots_alone(
    client: AppClient, users: Accounts, db: asyncpg.Connection, section: str
) -> None:
    late = await add_slot(db, section, -6 * 60)  # past the 5 h grace of dumps
    early = await add_slot(db, section, 2 * 60)  # more than an hour ahead
    run = await client.post(
        "/backups/api/v1/runs",
        json={"section": section, "type": "dump", "datacenter": "eqiad"},
        headers=await manager(users),
    )
    assert run.json()["scheduled_for"] is None
    left = {
        r["id"]
        for r in await db.fetch(
            "SELECT id FROM backups.runs WHERE status = 'scheduled' AND section = $1", section
        )
    }
    assert left == {late, early}
