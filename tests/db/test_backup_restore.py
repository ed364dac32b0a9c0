"""backup_db.sh and restore_db.sh: manifest, round trip, verification, refusals."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dockyard.core.dburl import database_name
from tests.db.conftest import Scripts
from tests.support.postgres import PgServer

DATA = """
CREATE SCHEMA shop;
CREATE TABLE shop.orders (id bigint PRIMARY KEY, placed timestamptz NOT NULL, total numeric(10,2), note text);
INSERT INTO shop.orders
SELECT n, timestamptz '2026-01-01' + n * interval '1 minute', n * 1.25,
       CASE WHEN n % 7 = 0 THEN NULL ELSE 'order ' || n END
FROM generate_series(1, 5000) AS n;
CREATE TABLE public.empty_one (id int);
"""

CHECKSUM = "SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {table} AS t"


def fingerprint(pg: PgServer, url: str) -> dict[str, tuple[str, str]]:
    """Row count and content checksum of every user table."""
    tables = pg.psql(
        url,
        "SELECT string_agg(format('%I.%I', schemaname, tablename), ' ') FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    ).split()
    return {
        table: (pg.psql(url, f"SELECT count(*) FROM {table}"), pg.psql(url, CHECKSUM.format(table=table)))
        for table in tables
    }


@pytest.fixture
def filled(scripts: Scripts, tmp_path: Path) -> Scripts:
    scripts.write("202601010000_base.sql", "CREATE TABLE base (id int);\nINSERT INTO base VALUES (1);\n")
    assert scripts.run("migrate_db.sh").returncode == 0
    scripts.sql(DATA)
    return scripts


def backup(scripts: Scripts, folder: Path) -> Path:
    done = scripts.run("backup_db.sh", "--output-dir", str(folder))
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def test_backup_writes_dump_and_manifest(filled: Scripts, tmp_path: Path) -> None:
    dump = backup(filled, tmp_path / "backups")
    assert dump.is_file()
    assert dump.suffix == ".dump"
    assert not list(dump.parent.glob("*.partial*"))
    manifest = json.loads(Path(f"{dump}.manifest.json").read_text())
    assert manifest["file"] == dump.name
    assert manifest["size_bytes"] == dump.stat().st_size
    assert manifest["sha256"] == hashlib.sha256(dump.read_bytes()).hexdigest()
    assert manifest["tables"]["shop.orders"] == 5000
    assert manifest["tables"]["public.empty_one"] == 0
    assert manifest["tables"]["public.schema_migrations"] == 1
    assert manifest["duration_ms"] >= 0
    assert manifest["server_version"]
    assert manifest["pg_dump_version"].startswith("pg_dump (PostgreSQL)")
    assert dump.read_bytes()[:5] == b"PGDMP"  # custom format


def test_two_backups_in_one_second_do_not_collide(filled: Scripts, tmp_path: Path) -> None:
    first = backup(filled, tmp_path)
    second = backup(filled, tmp_path)
    assert first != second
    assert first.is_file()
    assert second.is_file()


def test_round_trip_identical(filled: Scripts, pg: PgServer, tmp_path: Path) -> None:
    dump = backup(filled, tmp_path)
    with pg.fresh_database("dy_restore") as target_url:
        target = database_name(target_url)
        done = filled.run("restore_db.sh", str(dump), target)
        assert done.returncode == 0, done.stderr
        assert "checksum ok" in done.stderr
        assert "verified: 4 table(s)" in done.stderr
        assert fingerprint(pg, target_url) == fingerprint(pg, filled.url)


def test_damaged_dump_refused(filled: Scripts, pg: PgServer, tmp_path: Path) -> None:
    dump = backup(filled, tmp_path)
    with dump.open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00garbage\x00")
    with pg.fresh_database("dy_restore") as target_url:
        target = database_name(target_url)
        done = filled.run("restore_db.sh", str(dump), target)
        assert done.returncode == 6
        assert "does not match its manifest" in done.stderr
        assert pg.psql(target_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'shop'") == "0"


def test_row_count_mismatch_fails_verification(filled: Scripts, pg: PgServer, tmp_path: Path) -> None:
    dump = backup(filled, tmp_path)
    manifest_path = Path(f"{dump}.manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest["tables"]["shop.orders"] = 4999
    manifest_path.write_text(json.dumps(manifest, indent=4))
    with pg.fresh_database("dy_restore") as target_url:
        target = database_name(target_url)
        done = filled.run("restore_db.sh", str(dump), target)
    assert done.returncode == 6
    assert "shop.orders: 5000 rows, expected 4999" in done.stderr


def test_non_empty_target_refused_unless_forced(filled: Scripts, pg: PgServer, tmp_path: Path) -> None:
    dump = backup(filled, tmp_path)
    filled.sql("DELETE FROM shop.orders WHERE id > 10")
    refused = filled.run("restore_db.sh", str(dump))
    assert refused.returncode == 5
    assert "pass --force" in refused.stderr
    assert filled.sql("SELECT count(*) FROM shop.orders") == "10"
    forced = filled.run("restore_db.sh", str(dump), "--force")
    assert forced.returncode == 0, forced.stderr
    assert filled.sql("SELECT count(*) FROM shop.orders") == "5000"


def test_restore_creates_missing_target(filled: Scripts, pg: PgServer, tmp_path: Path) -> None:
    dump = backup(filled, tmp_path)
    target = f"dy_new_{tmp_path.name[-8:].replace('-', '_').lower()}"
    try:
        done = filled.run("restore_db.sh", str(dump), target)
        assert done.returncode == 0, done.stderr
        assert "created database" in done.stderr
        assert pg.psql(pg.url(target), "SELECT count(*) FROM shop.orders") == "5000"
    finally:
        pg.psql(pg.admin_url, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def test_usage_errors(scripts: Scripts, tmp_path: Path) -> None:
    assert scripts.run("restore_db.sh").returncode == 2
    missing = scripts.run("restore_db.sh", str(tmp_path / "none.dump"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    assert scripts.run("backup_db.sh", "--bogus").returncode == 2
    assert scripts.run("restore_db.sh", "--help").returncode == 0
    assert "--force" in scripts.run("restore_db.sh", "--help").stdout
