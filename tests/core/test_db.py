"""Pools and the request dependencies against a real PostgreSQL: timeouts, outages, conflicts, replicas."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi import APIRouter

from dockyard.core.db import Conn, ReadConn
from dockyard.core.dburl import database_name
from dockyard.core.services import Service
from tests.support.app import app_client, settings_for
from tests.support.postgres import PgServer

router = APIRouter()


@router.get("/sleep")
async def sleep(conn: ReadConn) -> dict[str, bool]:
    await conn.execute("SELECT pg_sleep(2)")
    return {"slept": True}


@router.get("/whoami")
async def whoami(conn: ReadConn) -> dict[str, str]:
    return {"database": await conn.fetchval("SELECT current_database()")}


@router.get("/primary")
async def primary(conn: Conn) -> dict[str, str]:
    return {"database": await conn.fetchval("SELECT current_database()")}


@router.post("/things/{name}")
async def add_thing(name: str, conn: Conn) -> dict[str, str]:
    await conn.execute("INSERT INTO things (name) VALUES ($1)", name)
    return {"name": name}


@router.post("/things")
async def add_thing_from_body(body: dict[str, str], conn: Conn) -> dict[str, str]:
    await conn.execute("INSERT INTO things (name) VALUES ($1)", body["name"])
    return body


@router.get("/missing-table")
async def missing_table(conn: Conn) -> None:
    await conn.execute("SELECT * FROM not_migrated_yet")


@router.post("/things/{name}/then-fail")
async def add_then_fail(name: str, conn: Conn) -> None:
    await conn.execute("INSERT INTO things (name) VALUES ($1)", name)
    raise RuntimeError("after the insert")


@router.get("/count/{value}")
async def count_above(value: int, conn: ReadConn) -> dict[str, int]:
    # No bound on `value` here on purpose: the driver refuses it before PostgreSQL sees it.
    return {
        "count": await conn.fetchval("SELECT count(*) FROM generate_series(1, 3) n WHERE n > $1::int8", value)
    }


@router.get("/date/{text}")
async def date_of(text: str, conn: ReadConn) -> dict[str, str]:
    return {"date": str(await conn.fetchval("SELECT $1::text::date", text))}


SERVICE = Service(name="probe", title="Probe", description="db probe", router=router, prefix="/probe")


@pytest.fixture
def things_db(pg: PgServer, fresh_db: str) -> str:
    pg.psql(fresh_db, "CREATE TABLE things (name text PRIMARY KEY)")
    return fresh_db


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


async def test_statement_timeout_becomes_504(things_db: str) -> None:
    settings = settings_for(things_db, statement_timeout_s=0.3)
    async with app_client(settings, [SERVICE]) as client:
        response = await client.get("/probe/sleep")
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert "took too long" in response.json()["detail"]


async def test_unreachable_database_becomes_503() -> None:
    settings = settings_for(_closed_port_url(), db_acquire_timeout_s=2)
    async with app_client(settings, [SERVICE]) as client:
        response = await client.get("/probe/whoami")
        health = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["detail"] == "The database is unreachable; try again shortly."
    assert health.status_code == 200, "liveness must not depend on the database"


async def test_unique_violation_becomes_409(pg: PgServer, things_db: str) -> None:
    async with app_client(settings_for(things_db), [SERVICE]) as client:
        first = await client.post("/probe/things/anchor")
        second = await client.post("/probe/things/anchor")
    assert first.status_code == 200
    assert second.status_code == 409
    assert "already exists" in second.json()["detail"]
    assert pg.psql(things_db, "SELECT count(*) FROM things") == "1"


async def test_nul_in_text_becomes_400(pg: PgServer, things_db: str) -> None:
    async with app_client(settings_for(things_db), [SERVICE]) as client:
        response = await client.post("/probe/things", json={"name": "a\u0000b"})
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]
    assert pg.psql(things_db, "SELECT count(*) FROM things") == "0"


async def test_values_the_driver_or_the_server_refuse_are_400_without_their_words(things_db: str) -> None:
    async with app_client(settings_for(things_db), [SERVICE]) as client:
        driver = await client.get(f"/probe/count/{2**64}")
        server = await client.get("/probe/date/2026-13-45")
        fine = await client.get("/probe/count/1")
    assert (driver.status_code, server.status_code, fine.json()) == (400, 400, {"count": 2})
    for answer in (driver, server):
        assert answer.json()["detail"].startswith("A value is outside the range its field accepts")
        assert "$1" not in answer.text
        assert "int64" not in answer.text


async def test_missing_table_becomes_503_naming_the_fix(things_db: str) -> None:
    async with app_client(settings_for(things_db), [SERVICE]) as client:
        response = await client.get("/probe/missing-table")
    assert response.status_code == 503
    assert "dockyard db migrate" in response.json()["detail"]


async def test_write_rolled_back_when_handler_fails(pg: PgServer, things_db: str) -> None:
    async with app_client(settings_for(things_db), [SERVICE]) as client:
        response = await client.post("/probe/things/ghost/then-fail")
    assert response.status_code == 500
    assert pg.psql(things_db, "SELECT count(*) FROM things WHERE name = 'ghost'") == "0"


@pytest.fixture
def replica_db(pg: PgServer) -> Iterator[str]:
    with pg.fresh_database("dy_replica") as url:
        yield url


async def test_read_connections_use_replicas(things_db: str, replica_db: str) -> None:
    settings = settings_for(things_db, database_replica_urls=[replica_db])
    async with app_client(settings, [SERVICE]) as client:
        read = await client.get("/probe/whoami")
        write = await client.get("/probe/primary")
    assert read.json()["database"] == database_name(replica_db)
    assert write.json()["database"] == database_name(things_db)


def test_replica_urls_parsed_from_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.core.config import Settings

    monkeypatch.setenv("DATABASE_REPLICA_URLS", "postgresql://a/x, postgresql://b/y")
    assert Settings(_env_file=None).database_replica_urls == ["postgresql://a/x", "postgresql://b/y"]  # type: ignore[call-arg]
