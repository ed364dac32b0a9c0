"""backup_db.sh and restore_db.sh: manifest, round trip, verification, refusals."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.backups.restore import server_label
from dockyard.core.dburl import database_name
from tests.db.conftest import Scripts
from tests.support.postgres import SCRIPTS, PgServer

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


# Recording into the backups catalog (the database's own `backups` schema, when it has one).

SHOP = "CREATE SCHEMA shop; CREATE TABLE shop.orders AS SELECT g AS id FROM generate_series(1, 5000) g;"
RECORDING_PG_DUMP = """#!/bin/sh
# What the catalog says at the moment pg_dump starts, then the real pg_dump.
if [ "$1" != "--version" ]; then
    "@REAL@/psql" -X -A -t -d "$DATABASE_URL" >"@SEEN@" \\
        -c "SELECT status FROM backups.runs ORDER BY id DESC LIMIT 1"
fi
exec "@REAL@/pg_dump" "$@"
"""
FAILING_PG_DUMP = """#!/bin/sh
[ "$1" = "--version" ] && exec "@REAL@/pg_dump" --version
echo "pg_dump: error: simulated failure" >&2
exit 1
"""
SLOW_PG_DUMP = """#!/bin/sh
[ "$1" = "--version" ] && exec "@REAL@/pg_dump" --version
exec sleep 60
"""


@pytest.fixture
def catalog_scripts(pg: PgServer) -> Iterator[Scripts]:
    """Scripts aimed at a database migrated with Dockyard's migrations (so with the catalog), with data."""
    with pg.fresh_database("dy_cat") as url:
        pg.migrate(url)
        pg.psql(url, SHOP)
        yield Scripts(pg, url, SCRIPTS.parent / "migrations")


def fake_bin(pg: PgServer, folder: Path, pg_dump: str) -> Path:
    """A PG_BIN whose pg_dump is `pg_dump` (a script); psql and pg_restore are the real ones."""
    real = Path(pg.pg_bin) if pg.pg_bin else Path(str(shutil.which("pg_dump"))).parent
    folder.mkdir()
    for name in ("psql", "pg_restore"):
        (folder / name).symlink_to(real / name)
    script = folder / "pg_dump"
    script.write_text(pg_dump.replace("@REAL@", str(real)).replace("@SEEN@", str(folder / "seen")))
    script.chmod(0o755)
    return folder


def last_run(scripts: Scripts) -> dict[str, str]:
    fields = "id, name, section, type, datacenter, source, host, status, location, registered_by, total_size"
    row = scripts.sql(
        f"SELECT row_to_json(r) FROM (SELECT {fields}, error_stage, error_exit_code, error_message "
        "FROM backups.runs ORDER BY id DESC LIMIT 1) r"
    )
    found: dict[str, str] = json.loads(row)
    return found


def test_backup_records_ongoing_then_finished_with_files_and_objects(
    catalog_scripts: Scripts, pg: PgServer, tmp_path: Path
) -> None:
    tools = fake_bin(pg, tmp_path / "bin", RECORDING_PG_DUMP)
    out = tmp_path / "out"
    done = catalog_scripts.run(
        "backup_db.sh", "--output-dir", str(out), PG_BIN=str(tools), BACKUPS_DATACENTER="eqiad"
    )
    assert done.returncode == 0, done.stderr
    dump = Path(done.stdout.strip().splitlines()[-1])
    manifest = Path(f"{dump}.manifest.json")
    assert (tools / "seen").read_text().strip() == "ongoing", "recorded before pg_dump started"

    run = last_run(catalog_scripts)
    assert run["status"] == "finished"
    assert (run["name"], run["section"], run["type"], run["datacenter"]) == (
        dump.stem,
        database_name(catalog_scripts.url),
        "dump",
        "eqiad",
    )
    assert run["source"] == server_label(catalog_scripts.url)  # host[:port], never credentials
    assert run["host"]
    assert (run["location"], run["registered_by"]) == (str(out.resolve()), "backup_db.sh")
    assert run["total_size"] == dump.stat().st_size + manifest.stat().st_size

    files = catalog_scripts.sql(
        f"SELECT string_agg(concat_ws(' ', nullif(path, ''), name, size, checksum), '|' ORDER BY name) "
        f"FROM backups.files WHERE run_id = {run['id']}"
    )
    digest = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in (dump, manifest)}
    assert files.split("|") == [f"{p.name} {p.stat().st_size} {digest[p]}" for p in (dump, manifest)]
    counts = json.loads(manifest.read_text())["tables"]
    objects = json.loads(
        catalog_scripts.sql(
            f"SELECT json_object_agg(name, rows) FROM backups.objects WHERE run_id = {run['id']}"
        )
    )
    assert objects["shop.orders"] == counts["shop.orders"] == 5000
    assert len(objects) == len(counts)

    # restore_db.sh finds the run by the dump's checksum and records its restore test there.
    with pg.fresh_database("dy_restore") as target_url:
        restored = catalog_scripts.run("restore_db.sh", str(dump), database_name(target_url))
        assert restored.returncode == 0, restored.stderr
        assert "recording restore test" in restored.stderr
        assert pg.psql(target_url, f"SELECT status FROM backups.runs WHERE id = {run['id']}") == "ongoing", (
            "the dump holds the run as it was while the dump was taken"
        )
    test = json.loads(
        catalog_scripts.sql(
            "SELECT row_to_json(t) FROM (SELECT run_id, result, target, ended_at IS NOT NULL AS ended, "
            "detail FROM backups.restore_tests ORDER BY id DESC LIMIT 1) t"
        )
    )
    assert (test["run_id"], test["result"], test["ended"]) == (run["id"], "passed", True)
    assert test["target"].endswith(f"/{database_name(target_url)}")
    assert {"name": "shop.orders", "expected": 5000, "restored": 5000} in test["detail"]["tables"]
    assert test["detail"]["mismatches"] == []


def test_a_failing_pg_dump_records_the_run_failed(
    catalog_scripts: Scripts, pg: PgServer, tmp_path: Path
) -> None:
    tools = fake_bin(pg, tmp_path / "bin", FAILING_PG_DUMP)
    done = catalog_scripts.run("backup_db.sh", "--output-dir", str(tmp_path / "out"), PG_BIN=str(tools))
    assert done.returncode == 1
    assert "simulated failure" in done.stderr
    run = last_run(catalog_scripts)
    assert (run["status"], run["error_stage"], run["error_exit_code"]) == ("failed", "backup", 1)
    assert "pg_dump failed (exit 1)" in run["error_message"]
    assert "pg_dump: error: simulated failure" in run["error_message"]
    assert catalog_scripts.sql(f"SELECT count(*) FROM backups.files WHERE run_id = {run['id']}") == "0"
    assert not list((tmp_path / "out").iterdir())


def test_an_interrupted_backup_is_recorded_failed(
    catalog_scripts: Scripts, pg: PgServer, tmp_path: Path
) -> None:
    tools = fake_bin(pg, tmp_path / "bin", SLOW_PG_DUMP)
    process = subprocess.Popen(
        ["bash", str(SCRIPTS / "backup_db.sh"), "--output-dir", str(tmp_path / "out")],
        env=catalog_scripts.env(PG_BIN=str(tools), BACKUP_HEARTBEAT_S="0.2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            beating = catalog_scripts.sql(
                "SELECT heartbeat_at > started_at FROM backups.runs WHERE status = 'ongoing' "
                "AND registered_by = 'backup_db.sh'"
            )
            if beating == "t":
                break
            time.sleep(0.1)
        else:
            pytest.fail("no heartbeat while pg_dump ran")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143, stderr
    run = last_run(catalog_scripts)
    assert (run["status"], run["error_stage"], run["error_message"]) == (
        "failed",
        "backup",
        "interrupted by SIGTERM",
    )
    assert not list((tmp_path / "out").iterdir()), "no partial file is left"


def test_without_a_catalog_one_line_says_so(filled: Scripts, tmp_path: Path) -> None:
    done = filled.run("backup_db.sh", "--output-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "has no backups catalog (backups.runs): the run is not recorded" in done.stderr
    restored = filled.run("restore_db.sh", done.stdout.strip().splitlines()[-1], "--force")
    assert restored.returncode == 0, restored.stderr
    assert "restoring into the catalog's own database: the restore test is not recorded" in restored.stderr


def test_a_damaged_dump_records_a_failed_restore_test(
    catalog_scripts: Scripts, pg: PgServer, tmp_path: Path
) -> None:
    dump = backup(catalog_scripts, tmp_path)
    run_id = last_run(catalog_scripts)["id"]
    with dump.open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00garbage\x00")
    with pg.fresh_database("dy_restore") as target_url:
        done = catalog_scripts.run("restore_db.sh", str(dump), database_name(target_url))
    assert done.returncode == 6
    test = json.loads(
        catalog_scripts.sql(
            "SELECT row_to_json(t) FROM (SELECT run_id, result, detail FROM backups.restore_tests "
            "ORDER BY id DESC LIMIT 1) t"
        )
    )
    assert (test["run_id"], test["result"], test["detail"]["stage"]) == (run_id, "failed", "checksum")
    assert "does not match its manifest" in test["detail"]["error"]
    other = tmp_path / "other.dump"
    other.write_bytes(b"PGDMP not a dump any run lists")
    with pg.fresh_database("dy_restore") as target_url:
        unknown = catalog_scripts.run("restore_db.sh", str(other), database_name(target_url))
    assert "no run in the catalog lists this dump" in unknown.stderr
    assert unknown.returncode == 1, "pg_restore refuses it; nothing is recorded"
