"""Secrets never reach the catalog or the logs: connection strings and tokens are masked."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from pathlib import Path

import asyncpg
import pytest

from dockyard import backups
from dockyard.backups import redaction, runner, scheduler
from tests.accounts.conftest import Accounts
from tests.backups.test_api import finished_run, manager
from tests.support.app import AppClient

SECRET = "Sup3r-s3cret"


CASES = [
    (
        f"to postgresql://backup:{SECRET}@db1139.eqiad.wmnet:3311/enwiki?sslmode=require failed",
        "to postgresql://***@db1139.eqiad.wmnet:3311/enwiki?sslmode=require failed",
    ),
    (f"mariadb://root:{SECRET}@127.0.0.1:3306/", "mariadb://***@127.0.0.1:3306/"),
    ("postgresql://p@ss:w@rd@db1/x", "postgresql://***@db1/x"),  # an unescaped @ in the password
    ("https://ghp_abcdef123456@github.com/org/repo", "https://***@github.com/org/repo"),
    (
        f"host=db1 port=5432 user=backup password={SECRET} dbname=enwiki",
        "host=db1 port=5432 user=backup password=*** dbname=enwiki",
    ),
    (r"host=db1 password='a \' b c' dbname=x", "host=db1 password=*** dbname=x"),
    (
        f"PGPASSWORD={SECRET} MYSQL_PWD={SECRET} --password={SECRET}",
        "PGPASSWORD=*** MYSQL_PWD=*** --password=***",
    ),
    (f"?user=x&password={SECRET}&sslmode=require", "?user=x&password=***&sslmode=require"),
    (f"access_token: {SECRET}, api_key={SECRET}", "access_token: ***, api_key=***"),
    (f"Authorization: Bearer {SECRET}", "Authorization: Bearer ***"),
    (f'{{"password": "{SECRET}", "port": 5432}}', '{"password": ***, "port": 5432}'),
    (
        'FATAL:  password authentication failed for user "backup"',
        'FATAL:  password authentication failed for user "backup"',
    ),
    (
        "postgresql://db1139:3311/enwiki and ops@example.org",
        "postgresql://db1139:3311/enwiki and ops@example.org",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_redact_masks_secrets_and_keeps_the_rest(text: str, expected: str) -> None:
    assert redaction.redact(text) == expected


async def test_a_tools_stderr_echoing_a_url_with_its_password_is_recorded_masked(
    db: asyncpg.Connection, source: str, tmp_path: Path, section: str
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    pg_dump = tools / "pg_dump"
    pg_dump.write_text(
        "#!/bin/sh\n"
        f"echo 'pg_dump: error: connection to postgresql://backup:{SECRET}@db1139:3311/enwiki failed' >&2\n"
        f"echo 'pg_dump: detail: host=db1139 user=backup password={SECRET}' >&2\n"
        "exit 1\n"
    )
    pg_dump.chmod(0o755)
    job = runner.Job(section, "dump", "eqiad", source, tmp_path / "store", pg_bin=tools)
    run_id = await runner.run(db, job)
    run = await db.fetchrow(
        "SELECT status, error_stage, error_message FROM backups.runs WHERE id = $1", run_id
    )
    assert (run["status"], run["error_stage"]) == ("failed", "backup")
    assert SECRET not in run["error_message"]
    assert "postgresql://***@db1139:3311/enwiki failed" in run["error_message"]
    assert "password=***" in run["error_message"]


async def test_messages_registered_over_the_api_are_masked(
    client: AppClient, users: Accounts, db: asyncpg.Connection
) -> None:
    headers = await manager(users)
    failed = {
        **finished_run("redact1", 1, 0),
        "status": "failed",
        "error_stage": "backup",
        "error_message": f"mydumper: cannot connect to mysql://dump:{SECRET}@db1139:3311",
    }
    created = await client.post("/backups/api/v1/runs", json=failed, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["error_message"] == "mydumper: cannot connect to mysql://***@db1139:3311"
    ongoing = {
        k: v for k, v in finished_run("redact1", 0.5, 0).items() if k not in ("ended_at", "total_size")
    }
    started = await client.post(
        "/backups/api/v1/runs", json={**ongoing, "status": "ongoing"}, headers=headers
    )
    run_id = started.json()["id"]
    patched = await client.patch(
        f"/backups/api/v1/runs/{run_id}",
        json={"status": "failed", "error_stage": "backup", "error_message": f"MYSQL_PWD={SECRET} rejected"},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    stored = await db.fetch("SELECT error_message FROM backups.runs WHERE section = 'redact1'")
    assert all(SECRET not in (row["error_message"] or "") for row in stored)
    assert "MYSQL_PWD=*** rejected" in {row["error_message"] for row in stored}


def test_log_lines_of_the_service_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dockyard.backups"):
        scheduler.log.warning(
            "scheduler tick failed, retrying in %.0f s: %s", 30, f"postgresql://u:{SECRET}@db1/x"
        )
        try:
            raise OSError(f"cannot reach host=db1 password={SECRET}")
        except OSError:
            scheduler.log.exception("failed")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert SECRET not in text + caplog.text
    assert "postgresql://***@db1/x" in text
    assert "password=***" in text


def test_every_logger_of_the_service_masks_secrets() -> None:
    for module in pkgutil.walk_packages(backups.__path__, "dockyard.backups."):
        importlib.import_module(module.name)
    loggers = [
        found
        for name, found in logging.Logger.manager.loggerDict.items()
        if isinstance(found, logging.Logger)
        and (name == "dockyard.backups" or name.startswith("dockyard.backups."))
    ]
    assert loggers, "the service logs somewhere"
    unfiltered = [
        found.name
        for found in loggers
        if not any(isinstance(f, redaction.RedactingFilter) for f in found.filters)
    ]
    assert unfiltered == [], "make these loggers with dockyard.backups.redaction.logger(name)"


SCRUB = Path(__file__).parents[2] / "db/migrations/202612071010_backups_scrub_messages.sql"


async def test_the_migration_masks_what_was_recorded_before_as_redact_does(
    catalog: asyncpg.Connection,
) -> None:
    texts = [text for text, _ in CASES]
    ids = [
        await catalog.fetchval(
            """INSERT INTO backups.runs
                   (section, type, datacenter, status, started_at, ended_at, error_message)
            VALUES ('old', 'dump', 'eqiad', 'failed', now(), now(), $1) RETURNING id""",
            text,
        )
        for text in texts
    ]
    await catalog.execute(SCRUB.read_text())
    stored = {
        row["id"]: row["error_message"]
        for row in await catalog.fetch("SELECT id, error_message FROM backups.runs")
    }
    assert [stored[run_id] for run_id in ids] == [redaction.redact(text) for text in texts]
