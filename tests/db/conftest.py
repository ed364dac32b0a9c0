"""Helpers for the db/scripts tests: run a script against a database with its own migrations."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres import ROOT, SCRIPTS, PgServer

REAL_MIGRATIONS = ROOT / "db" / "migrations"
# The advisory lock migrate_db.sh takes (its LOCK_KEY).
MIGRATION_LOCK_KEY = 110373737560420


@dataclass
class Scripts:
    """Runs db/scripts/*.sh against one database and one migrations folder."""

    pg: PgServer
    url: str
    migrations: Path

    def env(self, **extra: str) -> dict[str, str]:
        return self.pg.env(self.url, MIGRATIONS_DIR=str(self.migrations), **extra)

    def run(self, script: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPTS / script), *args],
            env=self.env(**extra),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def popen(self, script: str, *args: str, **extra: str) -> subprocess.Popen[str]:
        """Start a script in its own process group (so a test can kill it and its psql at once)."""
        return subprocess.Popen(
            ["bash", str(SCRIPTS / script), *args],
            env=self.env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def sql(self, query: str) -> str:
        return self.pg.psql(self.url, query)

    def write(self, name: str, sql: str) -> Path:
        path = self.migrations / name
        path.write_text(sql)
        return path

    def applied(self) -> list[str]:
        exists = self.sql("SELECT to_regclass('public.schema_migrations') IS NOT NULL")
        if exists != "t":
            return []
        out = self.sql("SELECT version FROM public.schema_migrations ORDER BY version")
        return out.split() if out else []

    def table_exists(self, name: str) -> bool:
        return self.sql(f"SELECT to_regclass('{name}') IS NOT NULL") == "t"


class Session:
    """A psql session kept open across steps, to hold a lock or a transaction while others run."""

    def __init__(self, pg: PgServer, url: str) -> None:
        psql = str(Path(pg.pg_bin) / "psql") if pg.pg_bin else "psql"
        self.proc = subprocess.Popen(
            [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def run(self, sql: str) -> str:
        """Run `sql` (which must not block) and return its output."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        sql = sql.rstrip()
        self.proc.stdin.write(sql + ("" if sql.endswith(";") else ";") + "\n\\echo dy:end\n")
        self.proc.stdin.flush()
        lines = []
        while (line := self.proc.stdout.readline()) != "dy:end\n":
            if not line:
                assert self.proc.stderr is not None
                raise RuntimeError(f"psql ended: {self.proc.stderr.read().strip()}")
            lines.append(line)
        return "".join(lines).strip()

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            if self.proc.stdin:
                self.proc.stdin.close()
        self.proc.wait(timeout=30)


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    """Poll `condition` until it holds; fail the test with `what` if it never does."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout_s:.0f} s waiting for {what}", pytrace=False)
        time.sleep(0.05)


@pytest.fixture
def session(pg: PgServer, fresh_db: str) -> Iterator[Callable[[], Session]]:
    """Open psql sessions on the test's database (closed at the end of the test)."""
    opened: list[Session] = []

    def open_session() -> Session:
        opened.append(Session(pg, fresh_db))
        return opened[-1]

    yield open_session
    for each in opened:
        each.close()


@pytest.fixture
def scripts(pg: PgServer, fresh_db: str, tmp_path: Path) -> Scripts:
    """Scripts aimed at an empty database and an empty migrations folder."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    return Scripts(pg, fresh_db, folder)


def build_legacy(pg: PgServer, url: str) -> None:
    """Load legacy_ihr_django.sql, a legacy IHR database as Django builds it, into `url`."""
    psql = str(Path(pg.pg_bin) / "psql") if pg.pg_bin else "psql"
    sql = Path(__file__).parent / "legacy_ihr_django.sql"
    done = subprocess.run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(sql)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def adopted_template(pg: PgServer) -> Iterator[str]:
    """Name of a database built by Django, adopted with `migrate_db.sh baseline 202611221200` and migrated."""
    name = f"dy_adopted_{uuid.uuid4().hex[:10]}"
    pg.psql(pg.admin_url, f'CREATE DATABASE "{name}"')
    try:
        build_legacy(pg, pg.url(name))
        for args in (("baseline", "202611221200"), ()):
            done = subprocess.run(
                ["bash", str(SCRIPTS / "migrate_db.sh"), *args],
                env=pg.env(pg.url(name), MIGRATIONS_DIR=str(REAL_MIGRATIONS)),
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stderr
        yield name
    finally:
        pg.psql(pg.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def adopted(pg: PgServer, adopted_template: str) -> Iterator[Scripts]:
    """The project's scripts and migrations aimed at a copy of the adopted legacy database."""
    name = f"dy_adopted_{uuid.uuid4().hex[:10]}"
    pg.psql(pg.admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{adopted_template}"')
    try:
        yield Scripts(pg, pg.url(name), REAL_MIGRATIONS)
    finally:
        pg.psql(pg.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
