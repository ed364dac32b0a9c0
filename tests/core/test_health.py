"""/healthz, /readyz and the embedded PostgreSQL that backs the default run."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.core import embedded
from tests.support.app import app_client, settings_for
from tests.support.postgres import PgServer


def _db_dir_with(tmp_path: Path, *migrations: str) -> Path:
    folder = tmp_path / "db"
    (folder / "migrations").mkdir(parents=True)
    for name in migrations:
        (folder / "migrations" / name).write_text("SELECT 1;\n")
    return folder


async def test_healthz_is_static() -> None:
    settings = settings_for("postgresql://postgres@127.0.0.1:1/none", db_acquire_timeout_s=1)
    async with app_client(settings) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_every_migration_is_applied(migrated_db: str) -> None:
    async with app_client(settings_for(migrated_db)) as client:
        response = await client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert body["schema"]["pending"] == []
    assert body["schema"]["applied"] == body["schema"]["expected"] >= 1


async def test_not_ready_with_pending_migrations(migrated_db: str, tmp_path: Path) -> None:
    db_dir = _db_dir_with(tmp_path, "202611221300_core_seed_runs.sql", "209901010000_core_future.sql")
    async with app_client(settings_for(migrated_db, db_dir=db_dir)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["schema"]["pending"] == ["209901010000"]
    assert "dockyard db migrate" in body["reason"]


async def test_not_ready_without_schema_migrations(fresh_db: str, tmp_path: Path) -> None:
    db_dir = _db_dir_with(tmp_path, "202611221300_core_seed_runs.sql")
    async with app_client(settings_for(fresh_db, db_dir=db_dir)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["schema"]["pending"] == ["202611221300"]


@pytest.mark.slow
async def test_readyz_503_when_database_stops(tmp_path: Path, server_dir: Path) -> None:
    server = embedded.start(server_dir)
    try:
        settings = settings_for(server.url("postgres"), db_dir=_db_dir_with(tmp_path), db_acquire_timeout_s=1)
        async with app_client(settings) as client:
            before = await client.get("/readyz")
            server.stop()
            after = await client.get("/readyz")
            live = await client.get("/healthz")
    finally:
        server.stop()
    assert before.status_code == 200
    assert after.status_code == 503
    assert after.json()["database"] == "unreachable"
    assert live.status_code == 200


@pytest.mark.slow
def test_embedded_postgres_stops_cleanly_and_keeps_data(server_dir: Path) -> None:
    first = embedded.start(server_dir)
    admin = PgServer(first.admin_url, str(first.bin_dir))
    admin.psql(first.admin_url, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
    pid_file = first.data_dir / "postmaster.pid"
    assert pid_file.exists()
    first.stop()
    assert not pid_file.exists(), "the server must be shut down when its last handle is released"

    second = embedded.start(server_dir)
    try:
        assert PgServer(second.admin_url, None).psql(second.admin_url, "SELECT v FROM kept") == "42"
    finally:
        second.stop()
