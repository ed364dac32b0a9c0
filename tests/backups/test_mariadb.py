"""The runner against the machine's real MariaDB (127.0.0.1:3306): a dump, its tables, a failure."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path

import asyncpg

from dockyard.backups import runner


async def test_a_mariadb_dump_is_compressed_and_recorded(
    db: asyncpg.Connection, mariadb_source: str, tmp_path: Path
) -> None:
    section = f"m{uuid.uuid4().hex[:8]}"
    job = runner.Job(
        section, "dump", "eqiad", mariadb_source, tmp_path, source_label="127.0.0.1:3306", tool="mariadb-dump"
    )
    run = await db.fetchrow("SELECT * FROM backups.runs WHERE id = $1", await runner.run(db, job))
    assert run is not None
    assert run["status"] == "finished", run["error_message"]
    dump = tmp_path / run["name"] / f"{section}.sql.gz"
    assert dump.stat().st_size == run["total_size"]
    text = gzip.decompress(dump.read_bytes()).decode()
    assert "CREATE TABLE `revision`" in text
    assert "INSERT INTO `revision`" in text
    assert not (tmp_path / run["name"] / f"{section}.sql").exists(), "only the compressed file stays"
    objects = await db.fetch("SELECT db, name, size, rows FROM backups.objects WHERE run_id = $1", run["id"])
    assert [(o["db"], o["name"]) for o in objects] == [(mariadb_source.rsplit("/", 1)[1], "revision")]
    assert objects[0]["size"] > 0
    assert objects[0]["rows"] == 1000


async def test_a_failing_mariadb_dump_records_the_error(
    db: asyncpg.Connection, mariadb_source: str, tmp_path: Path
) -> None:
    missing = mariadb_source.rsplit("/", 1)[0] + "/dy_no_such_database"
    job = runner.Job("mfail", "dump", "eqiad", missing, tmp_path, tool="mariadb-dump")
    run = await db.fetchrow("SELECT * FROM backups.runs WHERE id = $1", await runner.run(db, job))
    assert run is not None
    assert (run["status"], run["error_stage"]) == ("failed", "backup")
    assert run["error_exit_code"] == 2
    assert "Unknown database" in run["error_message"]


async def test_a_url_without_a_database_fails_at_start(db: asyncpg.Connection, tmp_path: Path) -> None:
    job = runner.Job(
        "mnone", "dump", "eqiad", "mariadb://root@127.0.0.1:3306/", tmp_path, tool="mariadb-dump"
    )
    run = await db.fetchrow("SELECT * FROM backups.runs WHERE id = $1", await runner.run(db, job))
    assert run is not None
    assert (run["status"], run["error_stage"]) == ("failed", "start")
    assert "must name the database" in run["error_message"]
