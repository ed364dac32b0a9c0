"""Run now (API and CLI): a scheduled run due at once, executed by the scheduler's next round, never twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from dockyard import accounts, backups
from dockyard.cli import app
from tests.accounts.conftest import Accounts, accounts_settings
from tests.backups.test_api import API
from tests.backups.test_scheduler import NEVER_SOON, cli, cli_env
from tests.support.app import AppClient, app_client
from tests.support.postgres import PgServer
from tests.support.smtp import Inbox


@pytest.fixture
async def site(
    catalog_url: str, catalog: asyncpg.Connection, smtp: Inbox
) -> AsyncIterator[tuple[AppClient, Accounts]]:
    """The API on a catalog of its own: the scheduler executes whatever is due there."""
    async with app_client(
        accounts_settings(catalog_url, smtp), (accounts.service, backups.service)
    ) as client:
        yield client, Accounts(client, catalog)


async def bearer(people: Accounts, *permissions: str) -> dict[str, str]:
    _, email = await people.user("runner", groups=(await people.group(*permissions),))
    return {"Authorization": f"Bearer {(await people.login(email))['access_token']}"}


async def schedule(client: AppClient, headers: dict[str, str], section: str, **extra: object) -> int:
    body = {
        "section": section,
        "type": "dump",
        "datacenter": "eqiad",
        "cron": NEVER_SOON,
        "host": "dbprov-test",
    }
    answer = await client.put(f"{API}/schedules", json={**body, **extra}, headers=headers)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["id"])


async def test_run_now_is_queued_then_executed_once(
    site: tuple[AppClient, Accounts],
    catalog_url: str,
    catalog: asyncpg.Connection,
    source: str,
    tmp_path: Path,
    pg: PgServer,
) -> None:
    client, people = site
    section = f"n{uuid.uuid4().hex[:6]}"
    variable = f"BACKUP_SOURCE_{section.upper()}"
    manage = await bearer(people, "backups.view", "backups.manage")
    # This host's scheduler runs it: only the host a schedule names claims its runs.
    here = socket.gethostname()
    schedule_id = await schedule(client, manage, section, source_env=variable, host=here)

    assert (await client.post(f"{API}/schedules/{schedule_id}/run")).status_code == 401
    view_only = await client.post(
        f"{API}/schedules/{schedule_id}/run", headers=await bearer(people, "backups.view")
    )
    assert view_only.status_code == 403
    assert "backups.manage" in view_only.json()["detail"]

    queued = await client.post(f"{API}/schedules/{schedule_id}/run", headers=manage)
    assert queued.status_code == 202, queued.text
    run = queued.json()
    assert (run["status"], run["state"], run["section"], run["host"]) == (
        "scheduled",
        "scheduled",
        section,
        here,
    )
    now: dt.datetime = await catalog.fetchval("SELECT now()")
    assert now - dt.timedelta(seconds=5) <= dt.datetime.fromisoformat(run["scheduled_for"]) <= now
    assert run["registered_by"].startswith("api:")

    twice = await client.post(f"{API}/schedules/{schedule_id}/run", headers=manage)
    assert twice.status_code == 409
    assert (
        f"Run {run['id']} of the dump of {section} in eqiad is due and about to start"
        in twice.json()["detail"]
    )

    done = await asyncio.to_thread(
        cli, "scheduler", "--once", env=cli_env(catalog_url, tmp_path, pg, **{variable: source})
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 due run(s) executed" in done.stdout
    assert f"run {run['id']} dump.{section}." in done.stdout
    assert await catalog.fetchval("SELECT status FROM backups.runs WHERE id = $1", run["id"]) == "finished"

    again = await client.post(f"{API}/schedules/{schedule_id}/run", headers=manage)
    assert again.status_code == 202, "once the run ended, another may be asked for"
    await catalog.execute(
        "UPDATE backups.runs SET status = 'ongoing', started_at = now(), heartbeat_at = now() WHERE id = $1",
        again.json()["id"],
    )
    busy = await client.post(f"{API}/schedules/{schedule_id}/run", headers=manage)
    assert busy.status_code == 409
    assert "is in progress" in busy.json()["detail"]
    await catalog.execute(
        "UPDATE backups.runs SET heartbeat_at = now() - interval '1 day',"
        " scheduled_for = scheduled_for - interval '1 day' WHERE id = $1",
        again.json()["id"],
    )
    stalled = await client.post(f"{API}/schedules/{schedule_id}/run", headers=manage)
    assert stalled.status_code == 202, "a stalled run (its runner is gone) does not block a new one"


async def test_what_cannot_run_now_says_why(
    site: tuple[AppClient, Accounts], catalog: asyncpg.Connection
) -> None:
    client, people = site
    manage = await bearer(people, "backups.view", "backups.manage")
    external = await schedule(client, manage, "ext1")
    answer = await client.post(f"{API}/schedules/{external}/run", headers=manage)
    assert answer.status_code == 409
    assert "taken by another tool" in answer.json()["detail"]
    disabled = await schedule(client, manage, "off1", source_env="BACKUP_SOURCE_OFF1", enabled=False)
    answer = await client.post(f"{API}/schedules/{disabled}/run", headers=manage)
    assert answer.status_code == 409
    assert "is disabled" in answer.json()["detail"]
    missing = await client.post(f"{API}/schedules/999999/run", headers=manage)
    assert missing.status_code == 404
    assert "No schedule 999999" in missing.json()["detail"]
    assert await catalog.fetchval("SELECT count(*) FROM backups.runs WHERE registered_by LIKE 'api:%'") == 0


async def test_the_cli_queues_a_run(catalog_url: str, catalog: asyncpg.Connection) -> None:
    await catalog.execute(
        "INSERT INTO backups.schedules (section, type, datacenter, cron, host, source_env) "
        "VALUES ('c1', 'snapshot', 'codfw', $1, 'dbprov2001', 'BACKUP_SOURCE_C1')",
        NEVER_SOON,
    )
    env = {"DATABASE_URL": catalog_url, "COLUMNS": "250", "NO_COLOR": "1"}

    def run_now(*args: str) -> tuple[int, str]:
        done = CliRunner().invoke(app, ["backups", "run-now", *args], env=env)
        return done.exit_code, done.output

    code, output = await asyncio.to_thread(
        run_now, "--section", "c1", "--type", "snapshot", "--datacenter", "codfw"
    )
    assert code == 0, output
    run_id, by = await catalog.fetchrow(
        "SELECT id, registered_by FROM backups.runs WHERE section = 'c1' AND status = 'scheduled'"
    )
    assert output.startswith(f"run {run_id} queued for ")
    assert "the scheduler on dbprov2001 starts it on its next round" in output
    assert by.startswith("cli:")
    code, output = await asyncio.to_thread(
        run_now, "--section", "c1", "--type", "snapshot", "--datacenter", "codfw"
    )
    assert code == 1
    assert f"Run {run_id} of the snapshot of c1 in codfw is due" in output
    code, output = await asyncio.to_thread(
        run_now, "--section", "c9", "--type", "dump", "--datacenter", "codfw"
    )
    assert code == 1
    assert "no schedule for the dump of c9 in codfw" in output
