"""Backups fixtures: the accounts fixtures with an app mounting accounts and backups."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from dockyard import accounts, backups
from dockyard.core import embedded
from dockyard.core.config import Settings
from tests.accounts.conftest import db, settings, smtp, users
from tests.support.app import AppClient, app_client
from tests.support.ci import unavailable
from tests.support.postgres import PgServer

__all__ = ["client", "db", "settings", "smtp", "users"]


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AppClient]:
    async with app_client(settings, (accounts.service, backups.service)) as client:
        yield client


@pytest.fixture
def catalog_url(pg: PgServer) -> Iterator[str]:
    """A migrated catalog of the test's own, for code that acts on every run it finds (scheduler)."""
    with pg.fresh_database("dy_catalog") as url:
        pg.migrate(url)
        yield url


@pytest.fixture
async def catalog(catalog_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to `catalog_url`."""
    conn = await asyncpg.connect(catalog_url)
    try:
        yield conn
    finally:
        await conn.close()


# Sources to back up, shared by the runner, MariaDB and restore-test modules.


@pytest.fixture
def section() -> str:
    """A section no other test uses (the catalog is shared)."""
    return f"r{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def source(fresh_db: str) -> str:
    """A database with a table of 10 000 rows to back up."""
    conn = await asyncpg.connect(fresh_db)
    try:
        await conn.execute(
            "CREATE TABLE public.pages AS "
            "SELECT g AS id, md5(g::text) AS title FROM generate_series(1, 10000) g"
        )
    finally:
        await conn.close()
    return fresh_db


@pytest.fixture(scope="session")
def cluster() -> Iterator[embedded.EmbeddedPostgres]:
    """A private PostgreSQL that accepts replication connections, for pg_basebackup.

    Its folder is one the server's own user can reach (as root, pgserver runs it as `pgserver`, and
    pytest's temporary folders are private to root).
    """
    folder = Path(tempfile.mkdtemp(prefix="dy-cluster-"))
    folder.chmod(0o755)
    server = embedded.start(folder)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


MARIADB = ["--host=127.0.0.1", "--port=3306", "--user=root"]


def mariadb_sql(statement: str) -> str:
    """Run `statement` with the mariadb client as root on 127.0.0.1:3306; its batch output."""
    done = subprocess.run(
        ["mariadb", *MARIADB, "--batch", "--skip-column-names", "-e", statement],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return done.stdout.decode()


@pytest.fixture
def mariadb_source() -> Iterator[str]:
    """A MariaDB database with a table of 1 000 rows (skipped only where no MariaDB runs)."""
    if shutil.which("mariadb") is None:
        unavailable("the mariadb client is not installed")
    probe = subprocess.run(
        ["mariadb", *MARIADB, "-e", "SELECT 1"], capture_output=True, timeout=30, check=False
    )
    if probe.returncode != 0:
        unavailable(f"no MariaDB on 127.0.0.1:3306: {probe.stderr.decode().strip()}")
    name = f"dy_m_{uuid.uuid4().hex[:8]}"
    mariadb_sql(
        f"CREATE DATABASE {name}; "
        f"CREATE TABLE {name}.revision (id INT PRIMARY KEY, sha1 CHAR(40)); "
        f"INSERT INTO {name}.revision SELECT seq, sha1(seq) FROM {name}.seq_1_to_1000;"
    )
    try:
        yield f"mariadb://root@127.0.0.1:3306/{name}"
    finally:
        mariadb_sql(f"DROP DATABASE IF EXISTS {name}")
