"""CSV exports of the runs, alerts, restore tests and sections lists: same filters, a header row."""

from __future__ import annotations

import csv
import io
import uuid

import asyncpg
import pytest

from dockyard import backups
from dockyard.app import create_app
from dockyard.backups.api import AlertOut, RunOut
from dockyard.backups.restores import RestoreTestOut
from tests.accounts.conftest import Accounts
from tests.backups.test_api import API, viewer
from tests.support.app import AppClient, settings_for


@pytest.fixture
def section() -> str:
    return f"x{uuid.uuid4().hex[:8]}"


def parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
async def catalog_rows(db: asyncpg.Connection, section: str) -> list[int]:
    """2 500 finished runs of `section` (more than one batch of the stream) and one failed, newest."""
    ids: list[int] = [
        row["id"]
        for row in await db.fetch(
            """INSERT INTO backups.runs (section, type, datacenter, status, started_at, ended_at, total_size)
            SELECT $1, 'dump', 'eqiad', 'finished', now() - make_interval(hours => g + 1),
                   now() - make_interval(hours => g), g * 1000
            FROM generate_series(1, 2500) g RETURNING id""",
            section,
        )
    ]
    failed = await db.fetchval(
        """INSERT INTO backups.runs (section, type, datacenter, status, started_at, ended_at, error_message)
        VALUES ($1, 'snapshot', 'codfw', 'failed', now() - interval '10 minutes', now(),
                '=HYPERLINK("http://evil.example")') RETURNING id""",
        section,
    )
    return [failed, *ids]


async def test_runs_as_csv_with_the_lists_filters(
    client: AppClient, users: Accounts, section: str, catalog_rows: list[int]
) -> None:
    headers = await viewer(users)
    assert (await client.get(f"{API}/runs", params={"format": "csv"})).status_code == 401
    answer = await client.get(f"{API}/runs", params={"section": section, "format": "csv"}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="runs.csv"'
    rows = parsed(answer.text)
    assert rows[0] == list(RunOut.model_fields)
    assert [int(row[0]) for row in rows[1:]] == catalog_rows, "every match, newest first, not a page of 50"
    failed = dict(zip(rows[0], rows[1], strict=True))
    assert failed["state"] == "failed"
    assert failed["error_message"] == '\'=HYPERLINK("http://evil.example")', "a formula is defused"
    assert failed["total_size"] == ""
    assert failed["started_at"].startswith("20")

    by_accept = await client.get(
        f"{API}/runs",
        params={"section": section, "type": "snapshot"},
        headers={**headers, "Accept": "text/csv"},
    )
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert [row[0] for row in parsed(by_accept.text)[1:]] == [str(catalog_rows[0])]
    sorted_page = await client.get(
        f"{API}/runs",
        params={"section": section, "format": "csv", "sort": "total_size", "limit": 3, "offset": 1},
        headers=headers,
    )
    sizes = [row[list(RunOut.model_fields).index("total_size")] for row in parsed(sorted_page.text)[1:]]
    assert sizes == ["2000", "3000", "4000"], "sort, limit and offset apply when given"
    as_json = await client.get(f"{API}/runs", params={"section": section}, headers=headers)
    assert as_json.headers["content-type"] == "application/json"
    assert len(as_json.json()["results"]) == 50
    bad = await client.get(f"{API}/runs", params={"format": "xml"}, headers=headers)
    assert bad.status_code == 422


async def test_alerts_restore_tests_and_sections_as_csv(
    client: AppClient, users: Accounts, db: asyncpg.Connection, section: str, catalog_rows: list[int]
) -> None:
    headers = await viewer(users)
    await db.execute(
        "INSERT INTO backups.alerts (section, type, datacenter, rule, severity, message) "
        "VALUES ($1, 'snapshot', 'codfw', 'failed', 'critical', 'Last snapshot failed')",
        section,
    )
    await db.execute(
        "INSERT INTO backups.restore_tests (run_id, result, target, detail)"
        " VALUES ($1, 'passed', 'scratch', $2)",
        catalog_rows[1],
        '{"tables": []}',
    )
    alerts = await client.get(f"{API}/alerts", params={"section": section, "format": "csv"}, headers=headers)
    rows = parsed(alerts.text)
    assert rows[0] == list(AlertOut.model_fields)
    (alert,) = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert (alert["rule"], alert["severity"], alert["silenced"], alert["events"]) == (
        "failed",
        "critical",
        "false",
        "[]",
    )

    tests = await client.get(
        f"{API}/restore-tests", params={"section": section, "format": "csv"}, headers=headers
    )
    rows = parsed(tests.text)
    assert rows[0] == list(RestoreTestOut.model_fields)
    (test,) = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert (test["run_id"], test["result"], test["detail"]) == (
        str(catalog_rows[1]),
        "passed",
        '{"tables": []}',
    )

    listed = await client.get(f"{API}/sections", headers=headers)
    assert listed.status_code == 200
    (mine,) = [item for item in listed.json() if item["section"] == section]
    assert (mine["series"], mine["failed"], mine["ongoing"]) == (2, 1, 0)
    sections = await client.get(f"{API}/sections", params={"format": "csv"}, headers=headers)
    rows = parsed(sections.text)
    assert rows[0] == ["section", "series", "last_finished_at", "failed", "ongoing"]
    assert [section, "2"] == next(row[:2] for row in rows if row[0] == section)


def test_openapi_offers_csv_beside_json() -> None:
    document = create_app(settings_for("postgresql://unused/unused"), services=(backups.service,)).openapi()
    for path in ("runs", "alerts", "restore-tests", "sections"):
        operation = document["paths"][f"/backups/api/v1/{path}"]["get"]
        content = operation["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/csv"}, path
        assert "format" in {parameter["name"] for parameter in operation["parameters"]}
