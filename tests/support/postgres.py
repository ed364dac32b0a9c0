"""A PostgreSQL server for the test suite: `DATABASE_URL` when set, otherwise an embedded one.

In CI (`CI=true`) a server that cannot be reached is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.core.dburl import with_database

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "db" / "scripts"


@dataclass(frozen=True)
class PgServer:
    """Where the tests' PostgreSQL lives and which client binaries talk to it."""

    admin_url: str  # a URL to the maintenance database (`postgres`), with rights to create databases
    pg_bin: str | None  # directory of psql/pg_dump matching the server, or None to use PATH

    def url(self, database: str) -> str:
        """The URL of `database` on this server."""
        return with_database(self.admin_url, database)

    def env(self, database_url: str | None = None, **extra: str) -> dict[str, str]:
        """Environment for running a db/scripts/*.sh against `database_url`."""
        env = dict(os.environ)
        env["DATABASE_URL"] = database_url or self.admin_url
        if self.pg_bin:
            env["PG_BIN"] = self.pg_bin
        env.update(extra)
        return env

    def psql(self, database_url: str, sql: str) -> str:
        """Run `sql` with psql and return its unaligned, tuples-only output."""
        psql = str(Path(self.pg_bin) / "psql") if self.pg_bin else "psql"
        done = subprocess.run(
            [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database_url, "-c", sql],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def migrate(self, database_url: str) -> None:
        """Apply the project's migrations with db/scripts/migrate_db.sh; fail the test if it fails."""
        done = subprocess.run(
            ["bash", str(SCRIPTS / "migrate_db.sh")],
            env=self.env(database_url),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"migrate_db.sh failed ({done.returncode}):\n{done.stderr}", pytrace=False)

    @contextmanager
    def fresh_database(self, prefix: str = "dy_t") -> Iterator[str]:
        """Create an empty database, yield its URL, drop it afterwards."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.psql(self.admin_url, f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            self.psql(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def embedded_pg_bin() -> str | None:
    """The bin directory of the PostgreSQL bundled with pgserver, if installed."""
    try:
        import pgserver
    except ImportError:
        return None
    path = Path(pgserver.__file__).parent / "pginstall" / "bin"
    return str(path) if path.is_dir() else None


def client_bin_for(admin_url: str) -> str | None:
    """Pick client binaries: PATH's psql when it is at least as new as the server, else pgserver's."""
    bundled = embedded_pg_bin()
    if shutil.which("psql") is None:
        return bundled
    server = PgServer(admin_url, None).psql(admin_url, "SHOW server_version_num")
    client = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True, check=False).stdout
    client_major = int("".join(ch for ch in client.split()[-1].split(".")[0] if ch.isdigit()) or 0)
    if client_major >= int(server) // 10000:
        return None
    return bundled
