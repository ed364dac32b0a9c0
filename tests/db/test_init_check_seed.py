"""init_db.sh, test_db.sh and seed_db.sh against a real PostgreSQL."""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path

from tests.db.conftest import Scripts
from tests.support.postgres import ROOT, PgServer

REAL_MIGRATIONS = ROOT / "db" / "migrations"


def real(scripts: Scripts) -> Scripts:
    """The same database, with the project's own migrations."""
    return Scripts(scripts.pg, scripts.url, REAL_MIGRATIONS)


class TestInit:
    def test_creates_database_then_migrates_and_is_idempotent(self, pg: PgServer, tmp_path: Path) -> None:
        name = f"dy_init_{uuid.uuid4().hex[:8]}"
        scripts = Scripts(pg, pg.url(name), REAL_MIGRATIONS)
        try:
            first = scripts.run("init_db.sh")
            assert first.returncode == 0, first.stderr
            assert f"created database {name}" in first.stderr
            assert scripts.table_exists("core.seed_runs")
            second = scripts.run("init_db.sh")
            assert second.returncode == 0, second.stderr
            assert f"database {name} exists" in second.stderr
            assert "up to date" in second.stderr
        finally:
            pg.psql(pg.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def test_no_migrate_only_creates(self, pg: PgServer) -> None:
        name = f"dy_init_{uuid.uuid4().hex[:8]}"
        scripts = Scripts(pg, pg.url(name), REAL_MIGRATIONS)
        try:
            done = scripts.run("init_db.sh", "--no-migrate")
            assert done.returncode == 0, done.stderr
            assert scripts.applied() == []
            assert "migrations not run" in done.stderr
        finally:
            pg.psql(pg.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def test_admin_url_creates_role_owning_database(self, pg: PgServer) -> None:
        suffix = uuid.uuid4().hex[:8]
        role, name = f"dy_role_{suffix}", f"dy_owned_{suffix}"
        # The app's URL names a role that does not exist yet; the admin creates it and its database.
        app_url = (
            pg.url(name)
            .replace("postgres:@", f"{role}:pw-{suffix}@", 1)
            .replace("//postgres@", f"//{role}:pw-{suffix}@", 1)
        )
        scripts = Scripts(pg, app_url, REAL_MIGRATIONS)
        try:
            done = scripts.run("init_db.sh", "--no-migrate", "--admin-url", pg.admin_url)
            assert done.returncode == 0, done.stderr
            assert f"created role {role}" in done.stderr
            assert f"pw-{suffix}" not in done.stderr
            owner = pg.psql(
                pg.admin_url, f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{name}'"
            )
            assert owner == role
        finally:
            pg.psql(pg.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            pg.psql(pg.admin_url, f'DROP ROLE IF EXISTS "{role}"')

    def test_unreachable_server_exits_3(self, pg: PgServer) -> None:
        scripts = Scripts(pg, "postgresql://postgres@127.0.0.1:1/nowhere", REAL_MIGRATIONS)
        done = scripts.run("init_db.sh")
        assert done.returncode == 3
        assert "cannot connect" in done.stderr


class TestCheck:
    def test_schema_sql_matches_the_migrations(self, scripts: Scripts) -> None:
        project = real(scripts)
        assert project.run("migrate_db.sh").returncode == 0
        done = project.run("test_db.sh")
        assert done.returncode == 0, done.stderr
        assert "schema ok" in done.stderr

    def test_change_outside_migrations_is_a_diff(self, scripts: Scripts) -> None:
        project = real(scripts)
        assert project.run("migrate_db.sh").returncode == 0
        project.sql("CREATE TABLE core.sneaky (id int)")
        done = project.run("test_db.sh")
        assert done.returncode == 6
        assert "+CREATE TABLE core.sneaky (" in done.stderr

    def test_pending_migrations_exit_5(self, scripts: Scripts) -> None:
        done = real(scripts).run("test_db.sh")
        assert done.returncode == 5
        assert "pending" in done.stderr

    def test_update_writes_the_schema_file(self, scripts: Scripts, tmp_path: Path) -> None:
        scripts.write("202601010000_items.sql", "CREATE TABLE items (id int PRIMARY KEY);\n")
        assert scripts.run("migrate_db.sh").returncode == 0
        schema = tmp_path / "schema.sql"
        assert scripts.run("test_db.sh", "--update", "--schema-file", str(schema)).returncode == 0
        text = schema.read_text()
        assert "CREATE TABLE public.items" in text
        assert "SET " not in text
        assert scripts.run("test_db.sh", "--schema-file", str(schema)).returncode == 0

    def test_unreachable_exits_3(self, scripts: Scripts) -> None:
        done = scripts.run("test_db.sh", "--database-url", "postgresql://postgres@127.0.0.1:1/x")
        assert done.returncode == 3


class TestSeed:
    def test_bad_size_is_a_usage_error(self, scripts: Scripts) -> None:
        done = scripts.run("seed_db.sh", "--size", "huge")
        assert done.returncode == 2
        assert "demo or bench" in done.stderr

    def test_refuses_with_pending_migrations(self, scripts: Scripts) -> None:
        done = real(scripts).run("seed_db.sh", DOCKYARD_PYTHON=sys.executable)
        assert done.returncode == 5
        assert "migrations are pending" in done.stderr

    def test_runs_the_seeding_module(self, scripts: Scripts) -> None:
        project = real(scripts)
        assert project.run("migrate_db.sh").returncode == 0
        done = project.run("seed_db.sh", "--size", "demo", DOCKYARD_PYTHON=sys.executable)
        assert done.returncode == 0, done.stderr
        seeded = re.search(r"seeded ([\d,]+) rows in (\d+) service", done.stderr)
        assert seeded is not None, done.stderr
        assert int(seeded.group(1).replace(",", "")) > 0
        again = project.run("seed_db.sh", "--size", "demo", DOCKYARD_PYTHON=sys.executable)
        assert again.returncode == 0, again.stderr
        assert "demo data already loaded" in again.stderr


def test_every_script_has_help_and_rejects_unknown_flags(scripts: Scripts) -> None:
    for script in (
        "init_db.sh",
        "migrate_db.sh",
        "seed_db.sh",
        "backup_db.sh",
        "restore_db.sh",
        "test_db.sh",
        "widen_ids.sh",
    ):
        helped = scripts.run(script, "--help")
        assert helped.returncode == 0, script
        assert "Exit codes" in helped.stdout, script
        assert scripts.run(script, "--no-such-flag").returncode == 2, script
