"""/backups/api/v1 over HTTP: permissions, run registration and updates, filters, derived states, checks."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest

from dockyard import accounts, backups
from dockyard.backups.settings import BackupsSettings
from dockyard.core.config import Settings
from tests.accounts.conftest import Accounts
from tests.support.app import AppClient, app_client

API = "/backups/api/v1"
GIB = 2**30


@pytest.fixture
def section() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


async def viewer(users: Accounts) -> dict[str, str]:
    group = await users.group("backups.view")
    _, email = await users.user("viewer", groups=(group,))
    return {"Authorization": f"Bearer {(await users.login(email))['access_token']}"}


async def manager(users: Accounts) -> dict[str, str]:
    group = await users.group("backups.view", "backups.manage")
    _, email = await users.user("manager", groups=(group,))
    return {"Authorization": f"Bearer {(await users.login(email))['access_token']}"}


def finished_run(section: str, days_ago: float, size: int, **extra: Any) -> dict[str, Any]:
    started = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    return {
        "section": section,
        "type": "dump",
        "datacenter": "eqiad",
        "source": "db1139.eqiad.wmnet:3311",
        "host": "dbprov1002.eqiad.wmnet",
        "status": "finished",
        "started_at": started.isoformat(),
        "ended_at": (started + dt.timedelta(hours=2)).isoformat(),
        "total_size": size,
        **extra,
    }


class TestPermissions:
    async def test_anonymous_is_401_and_viewers_cannot_write(
        self, client: AppClient, users: Accounts, section: str
    ) -> None:
        assert (await client.get(f"{API}/runs")).status_code == 401
        headers = await viewer(users)
        assert (await client.get(f"{API}/runs", headers=headers)).status_code == 200
        refused = await client.post(f"{API}/runs", json=finished_run(section, 1, GIB), headers=headers)
        assert refused.status_code == 403
        assert "backups.manage" in refused.json()["detail"]

    async def test_a_user_without_the_permission_is_403(self, client: AppClient, users: Accounts) -> None:
        _, headers = await users.bearer()
        answer = await client.get(f"{API}/checks", headers=headers)
        assert answer.status_code == 403
        assert "backups.view" in answer.json()["detail"]


class TestRuns:
    async def test_register_a_finished_run_with_files_and_objects(
        self, client: AppClient, users: Accounts, section: str
    ) -> None:
        headers = await manager(users)
        body = finished_run(
            section,
            1,
            300,
            name=f"dump.{section}.2026-11-24--00-00-01",
            files=[{"name": "metadata", "size": 100}, {"path": "enwiki", "name": "page.sql.gz", "size": 200}],
            objects=[{"db": "enwiki", "name": "page", "size": 200}],
        )
        created = await client.post(f"{API}/runs", json=body, headers=headers)
        assert created.status_code == 201, created.text
        run = created.json()
        assert run["state"] == "finished"
        assert run["registered_by"].startswith("api:manager-")
        assert run["duration_s"] == 7200
        assert [f["name"] for f in run["files"]] == ["metadata", "page.sql.gz"]
        assert run["objects"] == [{"db": "enwiki", "name": "page", "size": 200, "rows": None}]
        detail = await client.get(f"{API}/runs/{run['id']}", headers=headers)
        assert detail.json() == run

    async def test_progress_then_failure_and_a_closed_run_cannot_change(
        self, client: AppClient, users: Accounts, section: str, db: asyncpg.Connection
    ) -> None:
        headers = await manager(users)
        body = {"section": section, "type": "snapshot", "datacenter": "codfw", "source": "db2097"}
        run = (await client.post(f"{API}/runs", json=body, headers=headers)).json()
        assert run["status"] == "ongoing"
        assert run["started_at"] is not None
        progress = await client.patch(f"{API}/runs/{run['id']}", json={"bytes_done": 1000}, headers=headers)
        assert progress.json()["bytes_done"] == 1000
        assert progress.json()["heartbeat_at"] is not None
        failed = await client.patch(
            f"{API}/runs/{run['id']}",
            json={
                "status": "failed",
                "error_stage": "transfer",
                "error_exit_code": 1,
                "error_message": "EOF",
            },
            headers=headers,
        )
        assert failed.json()["status"] == "failed"
        assert failed.json()["ended_at"] is not None
        again = await client.patch(f"{API}/runs/{run['id']}", json={"bytes_done": 5}, headers=headers)
        assert again.status_code == 409
        retry = await client.post(f"{API}/runs", json={**body, "retry_of": run["id"]}, headers=headers)
        assert retry.json()["attempt"] == 2
        assert retry.json()["retry_of"] == run["id"]

    @pytest.mark.parametrize(
        "bad",
        [
            {"section": "s1; DROP TABLE x", "type": "dump", "datacenter": "eqiad"},
            {"section": "s1", "type": "cold", "datacenter": "eqiad"},
            {"section": "s1", "type": "dump", "datacenter": "eqiad", "status": "finished"},
            {"section": "s1", "type": "dump", "datacenter": "eqiad", "status": "scheduled"},
            {"section": "s1", "type": "dump", "datacenter": "eqiad", "total_size": -1},
            {"section": "s1", "type": "dump", "datacenter": "eqiad", "error_message": "a\x00b"},
            {"section": "s1", "type": "dump", "datacenter": "eqiad", "surprise": 1},
        ],
    )
    async def test_bad_bodies_are_refused(
        self, client: AppClient, users: Accounts, bad: dict[str, Any]
    ) -> None:
        answer = await client.post(f"{API}/runs", json=bad, headers=await manager(users))
        # 422 for what the schema states, 400 for the rules across fields it cannot
        assert answer.status_code == (400 if "status" in bad else 422), answer.text

    async def test_unknown_retry_and_run_are_clear_errors(self, client: AppClient, users: Accounts) -> None:
        headers = await manager(users)
        body = {"section": "s1", "type": "dump", "datacenter": "eqiad", "retry_of": 9_000_000_000}
        assert (await client.post(f"{API}/runs", json=body, headers=headers)).status_code == 400
        assert (await client.get(f"{API}/runs/9000000000", headers=headers)).status_code == 404

    async def test_filters_sorting_paging_and_derived_states(
        self, client: AppClient, users: Accounts, section: str
    ) -> None:
        headers = await manager(users)
        for days, size in ((3, 3 * GIB), (2, GIB), (1, 2 * GIB)):
            await client.post(f"{API}/runs", json=finished_run(section, days, size), headers=headers)
        stalled_start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)).isoformat()
        await client.post(
            f"{API}/runs",
            json={"section": section, "type": "dump", "datacenter": "eqiad", "started_at": stalled_start},
            headers=headers,
        )
        missed_slot = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=6)).isoformat()
        await client.post(
            f"{API}/runs",
            json={
                "section": section,
                "type": "dump",
                "datacenter": "eqiad",
                "status": "scheduled",
                "scheduled_for": missed_slot,
            },
            headers=headers,
        )
        page = (
            await client.get(f"{API}/runs", params={"section": section, "limit": 2}, headers=headers)
        ).json()
        assert page["total"] == 5
        assert len(page["results"]) == 2
        by_size = await client.get(
            f"{API}/runs",
            params={"section": section, "state": "finished", "sort": "-total_size"},
            headers=headers,
        )
        assert [run["total_size"] for run in by_size.json()["results"]] == [3 * GIB, 2 * GIB, GIB]
        stalled = await client.get(
            f"{API}/runs", params={"section": section, "state": "stalled"}, headers=headers
        )
        assert [run["status"] for run in stalled.json()["results"]] == ["ongoing"]
        missed = await client.get(
            f"{API}/runs", params={"section": section, "state": "missed"}, headers=headers
        )
        assert missed.json()["total"] == 1
        since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1, hours=12)).isoformat()
        recent = await client.get(f"{API}/runs", params={"section": section, "since": since}, headers=headers)
        assert recent.json()["total"] == 3
        bad_sort = await client.get(f"{API}/runs", params={"sort": "password"}, headers=headers)
        assert bad_sort.status_code == 400
        assert "started_at" in bad_sort.json()["detail"]


class TestChecks:
    async def test_checks_report_problems_worst_first(
        self, client: AppClient, users: Accounts, section: str
    ) -> None:
        headers = await manager(users)
        await client.post(f"{API}/runs", json=finished_run(section, 2, 1000 * GIB), headers=headers)
        await client.post(f"{API}/runs", json=finished_run(section, 1, 800 * GIB), headers=headers)
        answer = await client.get(f"{API}/checks", params={"section": section}, headers=headers)
        (found,) = answer.json()
        assert found["status"] == "critical"
        assert "(800 GiB, -20.0 %)" in found["message"]
        # The problem began when the run that shows it ended.
        ended = finished_run(section, 1, 800 * GIB)["ended_at"]
        (problem,) = found["problems"]
        since = dt.datetime.fromisoformat(problem.pop("since"))
        assert abs(since - dt.datetime.fromisoformat(ended)) < dt.timedelta(minutes=1)
        assert problem == {"rule": "size_change", "status": "critical", "message": found["message"]}
        assert found["thresholds"]["crit_change_pct"] == 15
        only = await client.get(f"{API}/checks", params={"problems_only": "true"}, headers=headers)
        statuses = [item["status"] for item in only.json()]
        assert "ok" not in statuses
        order = {"critical": 0, "warning": 1}
        assert statuses == sorted(statuses, key=order.__getitem__)


class TestOverview:
    async def test_problems_first_then_every_series_and_the_runs_in_progress(
        self, client: AppClient, users: Accounts, section: str
    ) -> None:
        headers = await manager(users)
        await client.post(f"{API}/runs", json=finished_run(section, 2, 1000 * GIB), headers=headers)
        await client.post(f"{API}/runs", json=finished_run(section, 1, 800 * GIB), headers=headers)
        ongoing = (
            await client.post(
                f"{API}/runs",
                json={"section": section, "type": "snapshot", "datacenter": "eqiad"},
                headers=headers,
            )
        ).json()
        slot = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
        await client.post(
            f"{API}/runs",
            json={
                "section": section,
                "type": "dump",
                "datacenter": "eqiad",
                "status": "scheduled",
                "scheduled_for": slot,
            },
            headers=headers,
        )
        body = (await client.get(f"{API}/overview", headers=await viewer(users))).json()
        assert sum(body["counts"].values()) == len(body["series"])
        ranks = {"critical": 0, "warning": 1, "unknown": 2}
        assert [p["status"] for p in body["problems"]] == sorted(
            (p["status"] for p in body["problems"]), key=ranks.__getitem__
        )
        mine = [s for s in body["series"] if s["section"] == section]
        assert {(s["type"], s["status"]) for s in mine} == {("dump", "critical"), ("snapshot", "critical")}
        assert any(p["section"] == section and "-20.0 %" in p["message"] for p in body["problems"])
        assert ongoing["id"] in [run["id"] for run in body["ongoing"]]
        assert any(run["section"] == section for run in body["upcoming"])


class TestRegistrationErrors:
    async def test_an_ended_run_needs_its_start(
        self, client: AppClient, users: Accounts, section: str
    ) -> None:
        body = finished_run(section, 1, GIB)
        del body["started_at"]
        answer = await client.post(f"{API}/runs", json=body, headers=await manager(users))
        assert answer.status_code == 400
        assert "needs started_at" in answer.json()["detail"]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("total_size", 2**63),
            ("error_exit_code", 2**31),
            ("retry_of", 2**63),
            ("started_at", "0001-01-01T00:00:00+14:00"),  # PostgreSQL would store -infinity
            ("ended_at", "9999-12-31T23:59:59"),
        ],
    )
    async def test_values_out_of_range_are_refused_not_failed_on(
        self, client: AppClient, users: Accounts, section: str, field: str, value: object
    ) -> None:
        body = {**finished_run(section, 1, GIB), field: value}
        answer = await client.post(f"{API}/runs", json=body, headers=await manager(users))
        assert answer.status_code == (400 if field.endswith("_at") else 422), answer.text
        assert field in answer.text
        checks = await client.get(f"{API}/checks", params={"section": section}, headers=await viewer(users))
        assert checks.status_code == 200


class TestOverviewCache:
    async def test_served_from_memory_until_a_run_changes_through_the_api(
        self, settings: Settings, db: asyncpg.Connection, section: str
    ) -> None:
        cached = BackupsSettings(_env_file=None, overview_cache_s=60.0)  # type: ignore[call-arg]
        async with app_client(
            settings, (accounts.service, backups.service), service_settings=[cached]
        ) as client:
            headers = await manager(Accounts(client, db))
            first = (await client.get(f"{API}/overview", headers=headers)).json()
            assert not any(s["section"] == section for s in first["series"])
            # Written behind the app's back: not seen until the cache ages.
            await db.execute(
                "INSERT INTO backups.runs (section, type, datacenter, status, started_at) "
                "VALUES ($1, 'dump', 'eqiad', 'ongoing', now())",
                section,
            )
            again = (await client.get(f"{API}/overview", headers=headers)).json()
            assert again["generated_at"] == first["generated_at"]
            # A run registered through the API is seen at once.
            registered = await client.post(f"{API}/runs", json=finished_run(section, 1, GIB), headers=headers)
            assert registered.status_code == 201
            fresh = (await client.get(f"{API}/overview", headers=headers)).json()
            assert fresh["generated_at"] > first["generated_at"]
            assert any(s["section"] == section for s in fresh["series"])
