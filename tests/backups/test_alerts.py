"""Alerts over HTTP: raised, escalated, resolved by the checks; acknowledged and silenced by people."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from tests.accounts.conftest import Accounts
from tests.backups.test_api import API, GIB, finished_run, manager, viewer
from tests.backups.test_cli import dockyard
from tests.support.app import AppClient


@pytest.fixture
def section() -> str:
    return f"a{uuid.uuid4().hex[:8]}"


async def my_alerts(
    client: AppClient, headers: dict[str, str], section: str, **params: Any
) -> list[dict[str, Any]]:
    answer = await client.get(f"{API}/alerts", params={"section": section, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


async def refresh(client: AppClient, headers: dict[str, str]) -> dict[str, int]:
    answer = await client.post(f"{API}/alerts/refresh", headers=headers)
    assert answer.status_code == 200, answer.text
    counts: dict[str, int] = answer.json()
    return counts


async def test_raised_escalated_and_resolved_with_history(
    client: AppClient, users: Accounts, section: str
) -> None:
    headers = await manager(users)
    await client.post(f"{API}/runs", json=finished_run(section, 3, 1000 * GIB), headers=headers)
    await client.post(f"{API}/runs", json=finished_run(section, 2, 1070 * GIB), headers=headers)
    await refresh(client, headers)
    (alert,) = await my_alerts(client, headers, section)
    assert (alert["rule"], alert["severity"]) == ("size_change", "warning")
    assert "+7.0 %" in alert["message"]
    assert [event["event"] for event in alert["events"]] == ["raised"]

    await client.post(f"{API}/runs", json=finished_run(section, 1, 800 * GIB), headers=headers)
    await refresh(client, headers)
    (alert,) = await my_alerts(client, headers, section)
    assert alert["severity"] == "critical"
    assert [event["event"] for event in alert["events"]] == ["raised", "escalated"]

    await client.post(f"{API}/runs", json=finished_run(section, 0.5, 801 * GIB), headers=headers)
    await refresh(client, headers)
    assert await my_alerts(client, headers, section) == []
    (history,) = await my_alerts(client, headers, section, include_resolved="true")
    assert history["resolved_at"] is not None
    assert [event["event"] for event in history["events"]] == ["raised", "escalated", "resolved"]


async def test_acknowledge_and_silence(client: AppClient, users: Accounts, section: str) -> None:
    headers = await manager(users)
    await client.post(f"{API}/runs", json=finished_run(section, 1, 100), headers=headers)
    await refresh(client, headers)
    alerts = await my_alerts(client, headers, section)
    assert {alert["rule"] for alert in alerts} == {"too_small"}
    alert_id = alerts[0]["id"]

    refused = await client.post(f"{API}/alerts/{alert_id}/acknowledge", json={}, headers=await viewer(users))
    assert refused.status_code == 403
    acked = await client.post(
        f"{API}/alerts/{alert_id}/acknowledge", json={"note": "disk full on dbprov1002"}, headers=headers
    )
    assert acked.status_code == 200
    assert acked.json()["acknowledged_by"].startswith("manager-")
    assert acked.json()["note"] == "disk full on dbprov1002"

    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=4)).isoformat()
    silenced = await client.post(f"{API}/alerts/{alert_id}/silence", json={"until": until}, headers=headers)
    assert silenced.json()["silenced"] is True
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    assert (
        await client.post(f"{API}/alerts/{alert_id}/silence", json={"until": past}, headers=headers)
    ).status_code == 400
    lifted = await client.post(f"{API}/alerts/{alert_id}/silence", json={"until": None}, headers=headers)
    assert lifted.json()["silenced"] is False
    events = [event["event"] for event in lifted.json()["events"]]
    assert events == ["raised", "acknowledged", "silenced", "unsilenced"]
    assert lifted.json()["events"][1]["by"].startswith("manager-")

    assert (
        await client.post(f"{API}/alerts/9000000000/acknowledge", json={}, headers=headers)
    ).status_code == 404


async def test_a_resolved_alert_cannot_be_acknowledged(
    client: AppClient, users: Accounts, section: str
) -> None:
    headers = await manager(users)
    await client.post(f"{API}/runs", json=finished_run(section, 2, 100), headers=headers)
    await refresh(client, headers)
    (alert,) = await my_alerts(client, headers, section)
    await client.post(f"{API}/runs", json=finished_run(section, 1, GIB), headers=headers)
    await client.post(f"{API}/runs", json=finished_run(section, 0.5, GIB), headers=headers)
    await refresh(client, headers)
    answer = await client.post(f"{API}/alerts/{alert['id']}/acknowledge", json={}, headers=headers)
    assert answer.status_code == 409
    assert "resolved" in answer.json()["detail"]


async def test_since_is_when_the_problem_began(client: AppClient, users: Accounts, section: str) -> None:
    headers = await manager(users)
    await client.post(f"{API}/runs", json=finished_run(section, 12, 100 * GIB), headers=headers)
    await client.post(f"{API}/runs", json=finished_run(section, 11, 100 * GIB), headers=headers)
    failed = finished_run(section, 3, 0, status="failed", error_stage="backup")
    del failed["total_size"]
    await client.post(f"{API}/runs", json=failed, headers=headers)
    await refresh(client, headers)
    found = {alert["rule"]: alert for alert in await my_alerts(client, headers, section)}
    assert set(found) == {"stale", "failed"}
    good = dt.datetime.fromisoformat(finished_run(section, 11, 0)["started_at"])
    stale_since = dt.datetime.fromisoformat(found["stale"]["since"])
    assert abs(stale_since - (good + dt.timedelta(days=8))) < dt.timedelta(minutes=1), "11 days old, limit 8"
    failed_since = dt.datetime.fromisoformat(found["failed"]["since"])
    failed_end = dt.datetime.fromisoformat(failed["ended_at"])
    assert abs(failed_since - failed_end) < dt.timedelta(minutes=1), "when the failed run ended"
    noticed = dt.datetime.fromisoformat(found["failed"]["first_seen_at"])
    assert noticed - failed_since > dt.timedelta(days=2), "not when Dockyard noticed it"
    # Refreshing again keeps it.
    await refresh(client, headers)
    (again,) = [alert for alert in await my_alerts(client, headers, section) if alert["rule"] == "failed"]
    assert again["since"] == found["failed"]["since"]


async def test_check_respects_acknowledgements_and_silences(
    client: AppClient, users: Accounts, section: str, migrated_db: str
) -> None:
    headers = await manager(users)
    await client.post(f"{API}/runs", json=finished_run(section, 2, 1000 * GIB), headers=headers)
    await client.post(f"{API}/runs", json=finished_run(section, 1, 1070 * GIB), headers=headers)
    await refresh(client, headers)
    (alert,) = await my_alerts(client, headers, section)
    assert (alert["rule"], alert["severity"]) == ("size_change", "warning")

    async def check(*args: str) -> tuple[int, list[str]]:
        done = await dockyard(migrated_db, "--section", section, *args)
        return done.exit_code, done.stdout.splitlines()

    assert (await check("--respect-acks"))[0] == 1, "nobody acknowledged it yet"
    acked = await client.post(f"{API}/alerts/{alert['id']}/acknowledge", json={}, headers=headers)
    email = acked.json()["acknowledged_by"]
    code, lines = await check("--respect-acks")
    assert code == 0
    assert lines[0].startswith("OK: 1 problem acknowledged or silenced, the worst: WARNING: Last dump")
    assert lines[1].startswith("WARNING: Last dump")
    assert lines[1].endswith(f"[acknowledged by {email}]")
    assert (await check())[0] == 1, "without --respect-acks every problem counts"

    # An escalation ends the acknowledgement, as Icinga's non-sticky ones.
    await client.post(f"{API}/runs", json=finished_run(section, 0.5, 800 * GIB), headers=headers)
    await refresh(client, headers)
    code, lines = await check("--respect-acks")
    assert code == 2
    assert lines[0].startswith("CRITICAL: Last dump")
    assert "[acknowledged" not in lines[1]

    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=4)
    await client.post(
        f"{API}/alerts/{alert['id']}/silence", json={"until": until.isoformat()}, headers=headers
    )
    code, lines = await check("--respect-acks")
    assert code == 0
    assert lines[1].endswith(f"[silenced until {until:%Y-%m-%d %H:%M} UTC]")
