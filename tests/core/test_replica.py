"""Reads from a real streaming replica, and back to the primary while it is down or lagging.

The slow tests start a private embedded primary, clone it with `pg_basebackup -R` into a streaming
standby run by the same system user on its own socket, and really stop, restart and pause it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from fastapi import APIRouter, Request

from dockyard.core import embedded
from dockyard.core.db import Conn, ReadConn
from dockyard.core.services import Service, load_services
from tests.support.app import AppClient, app_client, settings_for
from tests.support.postgres import PgServer

router = APIRouter()

WHERE = """
SELECT pg_is_in_recovery() AS standby, coalesce(array_agg(name ORDER BY name), '{}') AS names FROM things
"""


@router.get("/where")
async def where(conn: ReadConn) -> dict[str, Any]:
    row = await conn.fetchrow(WHERE)
    return {"standby": row["standby"], "names": list(row["names"])}


@router.get("/where-stateless")
async def where_stateless(request: Request) -> dict[str, Any]:
    pool = await request.app.state.db.stateless_read_pool()
    async with pool.acquire() as conn:
        row = await conn.fetchrow(WHERE)
    return {"standby": row["standby"], "names": list(row["names"])}


@router.get("/where-stateless-primary")
async def where_stateless_primary(request: Request) -> dict[str, bool]:
    pool = await request.app.state.db.stateless_primary_pool()
    return {"standby": await pool.fetchval("SELECT pg_is_in_recovery()")}


@router.get("/primary")
async def primary(conn: Conn) -> dict[str, bool]:
    return {"standby": await conn.fetchval("SELECT pg_is_in_recovery()")}


SERVICE = Service(name="probe", title="Probe", description="replica probe", router=router, prefix="/probe")
READ_ROUTES = ("/probe/where", "/probe/where-stateless")


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


async def eventually(check: Callable[[], Awaitable[bool]], what: str, deadline_s: float = 60) -> None:
    """Poll `check` until it holds; fail naming `what` past a generous deadline (no timing asserted)."""
    give_up = time.monotonic() + deadline_s
    while not await check():
        if time.monotonic() > give_up:
            pytest.fail(f"never happened: {what}")
        await asyncio.sleep(0.1)


# --- without a server to stop: an unreachable replica ---------------------------------------------


async def test_without_replicas_lookups_share_the_stateless_pool_and_skip_the_reset(fresh_db: str) -> None:
    async with app_client(settings_for(fresh_db), [SERVICE]) as client:
        db = client.app.state.db
        pool = await db.stateless_primary_pool()
        assert pool is await db.stateless_read_pool()
        async with pool.acquire() as conn:
            await conn.execute("SET application_name = 'marked'")
        async with pool.acquire() as conn:  # the same idle connection, not reset on release
            assert await conn.fetchval("SHOW application_name") == "marked"
        async with db.primary.acquire() as conn:
            await conn.execute("SET application_name = 'marked'")
        async with db.primary.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") == "dockyard", "the primary pool resets"


async def test_an_unreachable_replica_leaves_reads_to_the_primary(fresh_db: str) -> None:
    conn = await asyncpg.connect(fresh_db)
    await conn.execute("CREATE TABLE things (name text PRIMARY KEY); INSERT INTO things VALUES ('a')")
    await conn.close()
    settings = settings_for(fresh_db, database_replica_urls=[_closed_port_url()], db_acquire_timeout_s=2)
    async with app_client(settings, [SERVICE]) as client:
        answers = [await client.get(path) for path in READ_ROUTES * 3]
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
    assert [answer.status_code for answer in answers] == [200] * 6
    assert {answer.json()["standby"] for answer in answers} == {False}
    assert answers[0].json()["names"] == ["a"]
    assert ready.json()["replicas"]["replica0"]["state"] == "down"
    assert ready.json()["replicas"]["replica0"]["error"]
    assert 'dockyard_db_replica_healthy{pool="replica0"} 0.0' in metrics.text


async def test_with_the_primary_down_too_reads_are_503() -> None:
    settings = settings_for(
        _closed_port_url(), database_replica_urls=[_closed_port_url()], db_acquire_timeout_s=2
    )
    async with app_client(settings, [SERVICE]) as client:
        answers = [await client.get(path) for path in READ_ROUTES]
    assert [answer.status_code for answer in answers] == [503, 503]
    assert answers[0].json()["detail"] == "The database is unreachable; try again shortly."


# --- a real streaming replica -------------------------------------------------------------------------


@dataclass
class Standby:
    """A streaming replica of an embedded primary, in its own data folder and socket folder (the data
    folder holds the primary's socket lock file, copied by pg_basebackup)."""

    data: Path
    run: Path
    bin_dir: Path
    user: str

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.run}"

    async def pg_ctl(self, *args: str) -> None:
        await _run(
            self.user,
            self.data.parent / "standby-commands.log",
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            *args,
        )

    async def start(self) -> None:
        await self.pg_ctl(
            "-w", "-t", "60", "-l", str(self.run / "log"), "-o", f'-h "" -k {self.run}', "start"
        )

    async def stop(self, mode: str = "fast") -> None:
        await self.pg_ctl("-w", "-t", "60", "-m", mode, "stop")

    async def sql(self, statement: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.url)
        try:
            return await conn.fetchval(statement, *args)
        finally:
            await conn.close()


async def _run(user: str, log: Path, *command: str) -> None:
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            *command, user=user, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output
        )
        code = await process.wait()
    if code != 0:
        told = await asyncio.to_thread(log.read_text)
        pytest.fail(f"{command[0]} failed ({code}):\n{told[-3000:]}", pytrace=False)


@dataclass
class Cluster:
    """The embedded primary (its URL) and its replica."""

    primary_url: str
    standby: Standby

    async def primary_sql(self, statement: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.primary_url)
        try:
            return await conn.fetchval(statement, *args)
        finally:
            await conn.close()

    def settings(self, **overrides: Any) -> Any:
        return settings_for(self.primary_url, database_replica_urls=[self.standby.url], **overrides)


@pytest.fixture
async def cluster(server_dir: Path) -> AsyncIterator[Cluster]:
    """A migrated embedded primary with a `things` table, and a running streaming replica of it."""
    server = await asyncio.to_thread(embedded.start, server_dir)
    assert server.bin_dir is not None
    user = pwd.getpwuid(server.data_dir.stat().st_uid).pw_name
    standby = Standby(
        data=server_dir / "standby", run=server_dir / "standby-run", bin_dir=server.bin_dir, user=user
    )
    try:
        url = server.url("postgres")
        await asyncio.to_thread(PgServer(server.admin_url, str(server.bin_dir)).migrate, url)
        cluster = Cluster(primary_url=url, standby=standby)
        await cluster.primary_sql("CREATE TABLE things (name text PRIMARY KEY)")
        socket_dir = parse_qs(urlsplit(server.admin_url).query)["host"][0]
        for folder in (standby.data, standby.run):
            folder.mkdir(mode=0o700)
            os.chown(folder, server.data_dir.stat().st_uid, server.data_dir.stat().st_gid)
        await _run(
            user,
            server_dir / "standby-commands.log",
            str(server.bin_dir / "pg_basebackup"),
            *(
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "-h",
                socket_dir,
                "-U",
                "postgres",
                "-D",
                str(standby.data),
            ),
        )
        await standby.start()
        assert await standby.sql("SELECT pg_is_in_recovery()") is True
        yield cluster
    finally:
        if (standby.data / "postmaster.pid").exists():
            await standby.stop("immediate")
        await asyncio.to_thread(server.stop)


async def _read(client: AppClient, path: str = "/probe/where") -> dict[str, Any]:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _dockyard_sessions(cluster: Cluster) -> Awaitable[Any]:
    return cluster.standby.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dockyard'")


@pytest.mark.slow
async def test_reads_are_served_by_the_replica_and_see_what_it_replays(cluster: Cluster) -> None:
    async with app_client(cluster.settings(db_replica_probe_s=0.2), [SERVICE]) as client:
        reads = [await _read(client, path) for path in READ_ROUTES * 2]
        written = await client.get("/probe/primary")
        lookups = await client.get("/probe/where-stateless-primary")
        sessions = await _dockyard_sessions(cluster)
        ready = (await client.get("/readyz")).json()

        name = uuid.uuid4().hex
        await cluster.primary_sql("INSERT INTO things VALUES ($1)", name)

        async def replayed() -> bool:
            reads = [await _read(client, path) for path in READ_ROUTES]
            return all(name in read["names"] for read in reads)

        await eventually(replayed, "the row written on the primary read back through the replica")
        after = [await _read(client, path) for path in READ_ROUTES]

    assert {read["standby"] for read in reads + after} == {True}, "reads must come from the standby"
    assert written.json() == {"standby": False}, "Conn stays on the primary"
    assert lookups.json() == {"standby": False}, (
        "authentication's lookups (which may write) stay on the primary"
    )
    assert sessions >= 2, "the read pool and the stateless pool both hold replica connections"
    assert ready["replicas"]["replica0"]["state"] == "ok"


async def _every_read(client: AppClient) -> dict[str, int]:
    paths = [
        path for path, item in (await client.get("/openapi.json")).json()["paths"].items() if "get" in item
    ]
    concrete = [re.sub(r"\{[^}]+\}", "1", path) for path in paths]
    return {path: (await client.get(path)).status_code for path in [*concrete, "/readyz", "/metrics", "/"]}


@pytest.mark.slow
async def test_a_stopped_replica_leaves_every_read_to_the_primary_without_an_error(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dockyard.core.replicas")
    monkeypatch.setenv("IHR_CACHE_TTL_S", "0")  # read every IHR page from the database, not memory
    # No probe during the test: the requests themselves must find the replica gone.
    settings = cluster.settings(db_replica_probe_s=3600, db_acquire_timeout_s=5)
    async with app_client(settings, [*load_services(["all"]), SERVICE]) as client:
        up = await _every_read(client)
        assert (await _read(client))["standby"] is True

        await cluster.standby.stop()
        down = await _every_read(client)
        probe = [await _read(client, path) for path in READ_ROUTES * 2]
        ready = (await client.get("/readyz")).json()
        metrics = (await client.get("/metrics")).text

        await cluster.standby.start()
        await client.app.state.db.monitor.probe_all()  # the probe the background task would make
        back = [await _read(client, path) for path in READ_ROUTES * 2]
        again = await _every_read(client)

    changes = [record.getMessage() for record in caplog.records if record.name == "dockyard.core.replicas"]
    assert changes == ["db.replica.down", "db.replica.back"], "one warning per change, none per request"
    served = [path for path, status in up.items() if status < 300]
    assert len(served) >= 10, up
    assert {path: down[path] for path in up if down[path] != up[path]} == {}, "no read may change its answer"
    assert {read["standby"] for read in probe} == {False}
    assert ready["status"] == "ready"
    assert ready["replicas"]["replica0"]["state"] == "down"
    assert 'dockyard_db_replica_healthy{pool="replica0"} 0.0' in metrics
    assert {read["standby"] for read in back} == {True}, "reads return to the replica once it is back"
    assert again == up


@pytest.mark.slow
async def test_a_lagging_replica_leaves_reads_to_the_primary_until_it_catches_up(cluster: Cluster) -> None:
    settings = cluster.settings(db_replica_max_lag_s=1, db_replica_probe_s=0.2)
    async with app_client(settings, [SERVICE]) as client:
        assert (await _read(client))["standby"] is True
        await cluster.standby.sql("SELECT pg_wal_replay_pause()")
        name = uuid.uuid4().hex
        await cluster.primary_sql("INSERT INTO things VALUES ($1)", name)

        async def state_is(state: str) -> bool:
            return bool((await client.get("/readyz")).json()["replicas"]["replica0"]["state"] == state)

        await eventually(lambda: state_is("lagging"), "the paused replica reported lagging")
        lagging = [await _read(client, path) for path in READ_ROUTES * 2]
        metrics = (await client.get("/metrics")).text
        assert await cluster.standby.sql("SELECT count(*) FROM things WHERE name = $1", name) == 0

        await cluster.standby.sql("SELECT pg_wal_replay_resume()")
        await eventually(lambda: state_is("ok"), "the resumed replica caught up")
        caught_up = [await _read(client, path) for path in READ_ROUTES * 2]

        # Stopped with no read in between: the background probe alone finds it down.
        await cluster.standby.stop()
        await eventually(lambda: state_is("down"), "the probe found the stopped replica")

    assert all(read == {"standby": False, "names": [name]} for read in lagging), lagging
    assert 'dockyard_db_replica_healthy{pool="replica0"} 0.0' in metrics
    assert all(read == {"standby": True, "names": [name]} for read in caught_up), caught_up
