"""Helpers for the db/scripts tests: run a script against a database with its own migrations."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres import SCRIPTS, PgServer


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

    def popen(self, script: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["bash", str(SCRIPTS / script), *args],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
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


@pytest.fixture
def scripts(pg: PgServer, fresh_db: str, tmp_path: Path) -> Scripts:
    """Scripts aimed at an empty database and an empty migrations folder."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    return Scripts(pg, fresh_db, folder)
