"""Check thresholds over the API and the CLI: read, set, refused, and the history of who changed what."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from click.testing import Result
from typer.testing import CliRunner

from dockyard.cli import app
from tests.accounts.conftest import Accounts
from tests.backups.test_api import API, manager, viewer
from tests.backups.test_checks import DAY, GIB, add_run
from tests.support.app import AppClient

EVERY = {
    "freshness_s": None,
    "min_size": None,
    "warn_change_pct": None,
    "crit_change_pct": None,
    "max_duration_s": None,
    "heartbeat_grace_s": None,
    "schedule_grace_s": None,
}


@pytest.fixture
def section() -> str:
    return f"h{uuid.uuid4().hex[:8]}"


async def dockyard(url: str, *args: str) -> Result:
    env = {"DATABASE_URL": url, "COLUMNS": "250", "NO_COLOR": "1"}
    return await asyncio.to_thread(CliRunner().invoke, app, ["backups", *args], env=env)


async def check_of(client: AppClient, headers: dict[str, str], section: str) -> dict[str, Any]:
    (found,) = (await client.get(f"{API}/checks", params={"section": section}, headers=headers)).json()
    return dict(found)


class TestApi:
    async def test_anonymous_viewer_and_manager(
        self, client: AppClient, users: Accounts, section: str
    ) -> None:
        body = {"section": section, "freshness_s": 3600}
        assert (await client.get(f"{API}/thresholds")).status_code == 401
        assert (await client.put(f"{API}/thresholds", json=body)).status_code == 401
        headers = await viewer(users)
        listed = await client.get(f"{API}/thresholds", headers=headers)
        assert listed.status_code == 200
        general = listed.json()[0]
        assert (general["section"], general["type"], general["datacenter"]) == (None, None, None)
        assert general["freshness_s"] == 691200
        assert general["warn_change_pct"] == 5.0
        refused = await client.put(f"{API}/thresholds", json=body, headers=headers)
        assert refused.status_code == 403
        assert "backups.manage" in refused.json()["detail"]

    async def test_a_section_row_changes_its_check_and_is_recorded(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection, section: str
    ) -> None:
        await add_run(db, section, ago=2 * DAY, size=100 * GIB)
        await add_run(db, section, ago=DAY, size=100 * GIB)
        headers = await manager(users)
        assert (await check_of(client, headers, section))["status"] == "ok"

        body = {"section": section, "type": "dump", "freshness_s": 3600, "min_size": 200 * GIB}
        answer = await client.put(f"{API}/thresholds", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        row = answer.json()
        assert row["id"] > 0
        assert row["freshness_s"] == 3600
        assert row["warn_change_pct"] is None
        check = await check_of(client, headers, section)
        assert check["status"] == "critical"
        assert {problem["rule"] for problem in check["problems"]} >= {"stale"}

        mine = (await client.get(f"{API}/thresholds", params={"section": section}, headers=headers)).json()
        assert [r["section"] for r in mine if r["section"]] == [section]
        assert mine[0]["section"] is None, "the general rows come first"

        body["freshness_s"] = 7 * 86400
        assert (await client.put(f"{API}/thresholds", json=body, headers=headers)).status_code == 200
        again = await client.put(f"{API}/thresholds", json=body, headers=headers)
        assert again.status_code == 200, "the same values again change nothing"
        removed = await client.put(
            f"{API}/thresholds", json={"section": section, "type": "dump"}, headers=headers
        )
        assert removed.status_code == 200
        assert removed.json() == {"id": None, "section": section, "type": "dump", "datacenter": None, **EVERY}
        assert await db.fetchval("SELECT count(*) FROM backups.check_config WHERE section = $1", section) == 0
        assert (await check_of(client, headers, section))["status"] == "ok"

        history = await client.get(f"{API}/thresholds/history", params={"section": section}, headers=headers)
        assert history.status_code == 200
        mine = [change for change in history.json() if change["section"] == section]
        who = await db.fetchval(
            "SELECT email FROM accounts.users u JOIN accounts.sessions s ON s.user_id = u.id "
            "ORDER BY s.created_at DESC LIMIT 1"
        )
        assert [change["changed_by"] for change in mine] == [f"api:{who}"] * 3, "newest first, no-op skipped"
        removal, change, creation = mine
        assert creation["before"] is None
        assert creation["after"]["freshness_s"] == 3600
        assert change["before"]["freshness_s"] == 3600
        assert change["after"]["freshness_s"] == 7 * 86400
        assert removal["after"] is None
        assert removal["before"]["min_size"] == 200 * GIB
        assert creation["at"] <= change["at"] <= removal["at"]

    async def test_bad_thresholds_say_what_to_fix(
        self, client: AppClient, users: Accounts, section: str
    ) -> None:
        headers = await manager(users)
        general = await client.put(f"{API}/thresholds", json={"freshness_s": 3600}, headers=headers)
        assert general.status_code == 400
        assert "must set every threshold" in general.json()["detail"]
        assert "min_size" in general.json()["detail"]
        crossed = await client.put(
            f"{API}/thresholds",
            json={"section": section, "warn_change_pct": 20, "crit_change_pct": 10},
            headers=headers,
        )
        assert crossed.status_code == 400
        assert "warn_change_pct must not be above crit_change_pct" in crossed.json()["detail"]
        for field, value in (("freshness_s", 0), ("min_size", -1), ("warn_change_pct", "nan"), ("rows", 1)):
            bad = await client.put(
                f"{API}/thresholds", json={"section": section, field: value}, headers=headers
            )
            assert bad.status_code == 422, (field, bad.text)
            assert field in bad.text


async def test_the_cli_shows_and_sets_with_history(
    migrated_db: str, db: asyncpg.Connection, section: str
) -> None:
    first = await dockyard(migrated_db, "thresholds", "set", "--section", section, "--freshness-s", "7200")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == f"thresholds of [{section} * *]: freshness_s 7200"
    second = await dockyard(
        migrated_db,
        "thresholds",
        "set",
        "--section",
        section,
        "--warn-change-pct",
        "2.5",
        "--crit-change-pct",
        "8",
    )
    assert second.exit_code == 0, second.output
    assert "freshness_s 7200, warn_change_pct 2.5, crit_change_pct 8" in second.stdout, "others are kept"
    cleared = await dockyard(migrated_db, "thresholds", "set", "--section", section, "--clear", "freshness_s")
    assert cleared.exit_code == 0, cleared.output
    row = await db.fetchrow("SELECT * FROM backups.check_config WHERE section = $1", section)
    assert row["freshness_s"] is None
    assert float(row["warn_change_pct"]) == 2.5

    shown = await dockyard(migrated_db, "thresholds", "show", "--section", section, "--history", "10")
    assert shown.exit_code == 0, shown.output
    assert f"│ {section} * *" in shown.stdout
    assert "freshness_s 7200 → ·" in shown.stdout
    changes = await db.fetch(
        "SELECT changed_by FROM backups.threshold_changes WHERE section = $1 ORDER BY id", section
    )
    assert len(changes) == 3
    assert all(c["changed_by"].startswith("cli:") for c in changes)

    crossed = await dockyard(migrated_db, "thresholds", "set", "--section", section, "--crit-change-pct", "1")
    assert crossed.exit_code == 1
    assert "warn_change_pct (2.5) must not be above crit_change_pct (1)" in crossed.output
    nothing = await dockyard(migrated_db, "thresholds", "set", "--section", section)
    assert nothing.exit_code == 2
    assert "give at least one threshold" in nothing.output
    unknown = await dockyard(migrated_db, "thresholds", "set", "--section", section, "--clear", "speed")
    assert unknown.exit_code == 2
    assert "speed: not a threshold" in unknown.output
