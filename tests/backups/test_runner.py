"""The runner against real PostgreSQL servers: dumps and snapshots, failures, and a killed runner."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from dockyard.backups import checks, runner
from dockyard.core import embedded
from tests.support.postgres import PgServer

DOCKYARD = str(Path(sys.executable).parent / "dockyard")


async def row(db: asyncpg.Connection, run_id: int) -> asyncpg.Record:
    found = await db.fetchrow("SELECT * FROM backups.runs WHERE id = $1", run_id)
    assert found is not None
    return found


async def test_a_dump_is_recorded_with_files_and_table_sizes(
    db: asyncpg.Connection, source: str, pg: PgServer, tmp_path: Path, section: str
) -> None:
    job = runner.Job(
        section=section,
        type="dump",
        datacenter="eqiad",
        source_url=source,
        destination=tmp_path,
        source_label="localhost:5432",
        pg_bin=Path(pg.pg_bin) if pg.pg_bin else None,
        heartbeat_s=0.05,
    )
    run_id = await runner.run(db, job)
    run = await row(db, run_id)
    assert run["status"] == "finished", run["error_message"]
    dump = tmp_path / run["name"] / f"{section}.dump"
    assert run["location"] == str(tmp_path / run["name"])
    assert dump.stat().st_size == run["total_size"] == run["bytes_done"] > 0
    files = await db.fetch("SELECT path, name, size FROM backups.files WHERE run_id = $1", run_id)
    assert [(f["path"], f["name"], f["size"]) for f in files] == [("", f"{section}.dump", run["total_size"])]
    objects = {
        o["name"]: (o["size"], o["rows"])
        for o in await db.fetch("SELECT * FROM backups.objects WHERE run_id = $1", run_id)
    }
    assert objects["public.pages"][0] > 100_000
    assert objects["public.pages"][1] == 10_000
    pg_restore = str(Path(pg.pg_bin) / "pg_restore") if pg.pg_bin else "pg_restore"
    listing = await asyncio.to_thread(
        subprocess.run, [pg_restore, "--list", str(dump)], capture_output=True, text=True, check=True
    )
    assert "TABLE DATA public pages" in listing.stdout


async def test_counts_and_pg_dump_share_one_snapshot(source: str, pg: PgServer, tmp_path: Path) -> None:
    """Rows committed after the snapshot was exported are in neither the counts nor the dump."""
    writer = await asyncpg.connect(source)
    try:
        await writer.execute('CREATE TABLE public."Odd name" (id int)')
        await writer.execute('INSERT INTO public."Odd name" SELECT generate_series(1, 7)')
        async with runner.pinned_snapshot(source) as pinned:
            await writer.execute(
                "INSERT INTO public.pages SELECT g, 'late' FROM generate_series(10001, 10500) g"
            )
            await writer.execute('DELETE FROM public."Odd name" WHERE id > 3')
            pg_dump = str(Path(pg.pg_bin) / "pg_dump") if pg.pg_bin else "pg_dump"
            dumped = await asyncio.to_thread(
                subprocess.run,
                [pg_dump, f"--snapshot={pinned.snapshot}", "--data-only", "--table=public.pages", source],
                capture_output=True,
                text=True,
                check=True,
            )
            counted = {name: rows for _, name, _, rows in await runner.table_rows(pinned.conn)}
        assert await writer.fetchval("SELECT count(*) FROM public.pages") == 10_500
    finally:
        await writer.close()
    assert counted == {"public.Odd name": 7, "public.pages": 10_000}
    copied = dumped.stdout.split("FROM stdin;\n", 1)[1].split("\n\\.\n", 1)[0].splitlines()
    assert len(copied) == 10_000


async def test_a_failing_pg_dump_records_stage_exit_code_and_stderr(
    db: asyncpg.Connection, source: str, pg: PgServer, tmp_path: Path, section: str
) -> None:
    job = runner.Job(
        section,
        "dump",
        "eqiad",
        source,
        tmp_path,
        pg_bin=Path(pg.pg_bin) if pg.pg_bin else None,
        extra_args=("--table=no_such_table",),
    )
    run = await row(db, await runner.run(db, job))
    assert run["status"] == "failed"
    assert run["error_stage"] == "backup"
    assert run["error_exit_code"] == 1
    assert "no matching tables" in run["error_message"]
    assert run["ended_at"] is not None
    assert not (tmp_path / run["name"]).exists(), "a failed run leaves no partial files behind"
    (found,) = await checks.check(db, section=section)
    assert found.status is checks.Status.CRITICAL


async def test_an_unreachable_source_fails_before_pg_dump(
    db: asyncpg.Connection, pg: PgServer, tmp_path: Path, section: str
) -> None:
    missing = pg.url(f"dy_missing_{uuid.uuid4().hex[:6]}")
    job = runner.Job(
        section, "dump", "eqiad", missing, tmp_path, pg_bin=Path(pg.pg_bin) if pg.pg_bin else None
    )
    run = await row(db, await runner.run(db, job))
    assert (run["status"], run["error_stage"], run["error_exit_code"]) == ("failed", "backup", None)
    assert "does not exist" in run["error_message"]
    assert sorted(tmp_path.iterdir()) == [], "a failed run leaves no folder behind"  # noqa: ASYNC240


async def test_a_missing_tool_fails_at_start(db: asyncpg.Connection, tmp_path: Path, section: str) -> None:
    job = runner.Job(section, "dump", "eqiad", "postgresql://x/y", tmp_path, pg_bin=tmp_path / "no-such-bin")
    run = await row(db, await runner.run(db, job))
    assert (run["status"], run["error_stage"]) == ("failed", "start")
    assert "No such file" in run["error_message"]


async def test_a_snapshot_with_pg_basebackup(
    db: asyncpg.Connection, cluster: embedded.EmbeddedPostgres, tmp_path: Path, section: str
) -> None:
    job = runner.Job(
        section, "snapshot", "codfw", cluster.url(), tmp_path, pg_bin=cluster.bin_dir, heartbeat_s=0.1
    )
    run = await row(db, await runner.run(db, job))
    assert run["status"] == "finished", run["error_message"]
    names = {f["name"] for f in await db.fetch("SELECT name FROM backups.files WHERE run_id = $1", run["id"])}
    assert {"base.tar.gz", "pg_wal.tar.gz"} <= names
    assert run["total_size"] == sum(p.stat().st_size for p in (tmp_path / run["name"]).iterdir())


async def test_a_killed_runner_leaves_a_run_that_becomes_stalled(
    db: asyncpg.Connection, cluster: embedded.EmbeddedPostgres, migrated_db: str, tmp_path: Path, section: str
) -> None:
    await db.execute("INSERT INTO backups.check_config (section, heartbeat_grace_s) VALUES ($1, 1)", section)
    command = [
        DOCKYARD,
        "backups",
        "run",
        "--section",
        section,
        "--type",
        "snapshot",
        "--datacenter",
        "eqiad",
        "--source-url",
        cluster.url(),
        "--dest",
        str(tmp_path),
        "--heartbeat-s",
        "0.2",
        "--tool-arg=--max-rate=32k",  # slow enough to be caught in the middle
    ]
    env = {**os.environ, "DATABASE_URL": migrated_db, "PG_BIN": str(cluster.bin_dir)}
    # Its own process group: the kill takes the runner and its pg_basebackup at once, like a crash.
    process = await asyncio.to_thread(
        subprocess.Popen, command, env=env, start_new_session=True, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            state = await db.fetchrow(
                "SELECT id, bytes_done FROM backups.runs WHERE section = $1 AND status = 'ongoing'", section
            )
            if state is not None and state["bytes_done"]:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the runner never reported progress")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    await asyncio.sleep(1.5)
    run = await row(db, state["id"])
    assert run["status"] == "ongoing", "nothing is left to record the end"
    (found,) = await checks.check(db, section=section, type="snapshot")
    assert {problem.rule for problem in found.problems} >= {"stalled"}
    assert found.status is checks.Status.CRITICAL


async def test_the_command_reports_success_and_failure(
    migrated_db: str, source: str, pg: PgServer, tmp_path: Path, section: str
) -> None:
    env = {**os.environ, "DATABASE_URL": migrated_db, **({"PG_BIN": pg.pg_bin} if pg.pg_bin else {})}
    base = [
        DOCKYARD,
        "backups",
        "run",
        "--section",
        section,
        "--type",
        "dump",
        "--datacenter",
        "eqiad",
        "--dest",
        str(tmp_path),
    ]
    done = await asyncio.to_thread(
        subprocess.run, [*base, "--source-url", source], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "finished" in done.stdout
    assert "postgres" not in done.stdout.split("finished")[0]
    failed = await asyncio.to_thread(
        subprocess.run,
        [*base, "--source-url", pg.url("dy_nope_nope")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 1
    assert "failed at stage backup: source: " in failed.stderr
    assert "does not exist" in failed.stderr
