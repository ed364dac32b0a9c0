"""GET /backups/api/v1/overview: the slots that are due and that nothing has started."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from tests.accounts.conftest import Accounts
from tests.backups.test_api import API, GIB, finished_run, manager, viewer
from tests.support.app import AppClient


@pytest.fixture
def section() -> str:
    return f"d{uuid.uuid4().hex[:8]}"


def slot(section: str, type: str, when: dt.datetime) -> dict[str, Any]:
    return {
        "section": section,
        "type": type,
        "datacenter": "eqiad",
        "host": "dbprov1002.eqiad.wmnet",
        "status": "scheduled",
        "scheduled_for": when.isoformat(),
    }


class TestDue:
    async def test_due_slots_are_listed_with_their_lateness_latest_first(
        self, client: AppClient, users: Accounts, section: str
    ) -> None:
        headers = await manager(users)
        now = dt.datetime.now(dt.UTC)
        ids = {}
        for name, type, when in (
            ("late", "snapshot", now - dt.timedelta(minutes=20)),  # within the schedule grace
            ("missed", "snapshot", now - dt.timedelta(hours=12)),  # past its 10 h
            ("future", "snapshot", now + dt.timedelta(hours=2)),
            ("superseded", "dump", now - dt.timedelta(days=3)),  # a later dump ran since
        ):
            answer = await client.post(f"{API}/runs", json=slot(section, type, when), headers=headers)
            assert answer.status_code == 201, answer.text
            ids[name] = answer.json()["id"]
        later = await client.post(f"{API}/runs", json=finished_run(section, 1, GIB), headers=headers)
        assert later.status_code == 201, later.text

        body = (await client.get(f"{API}/overview", headers=await viewer(users))).json()
        mine = [run for run in body["due"] if run["section"] == section]
        assert [(run["id"], run["state"]) for run in mine] == [
            (ids["late"], "scheduled"),
            (ids["missed"], "missed"),
        ]
        assert body["due_total"] >= 2
        assert len(body["due"]) == min(body["due_total"], 50)
        assert all(run["scheduled_for"] < body["generated_at"] for run in body["due"])
        assert ids["future"] in [run["id"] for run in body["upcoming"]]
