"""A runner that is stopped (SIGTERM, Ctrl-C) or killed (SIGKILL) ends its tool, and says so.

Real `dockyard backups run` processes, real pg_dump and pg_basebackup, real signals.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import psutil
import pytest

from dockyard.backups import checks, messages
from dockyard.core import embedded
from tests.support.postgres import PgServer

DOCKYARD = str(Path(sys.executable).parent / "dockyard")


def run_command(section: str, type_: str, source_url: str, dest: Path, *extra: str) -> list[str]:
    return [
        DOCKYARD,
        "backups",
        "run",
        "--section",
        section,
        "--type",
        type_,
        "--datacenter",
        "eqiad",
        "--source-url",
        source_url,
        "--dest",
        str(dest),
        "--heartbeat-s",
        "0.2",
        *extra,
    ]


def tools(runner_pid: int, name: str) -> list[psutil.Process]:
    """The processes named `name` the runner started (through its guard)."""
    try:
        children = psutil.Process(runner_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if child.name() == name:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of `processes` still running, after giving them time to end (zombies count as ended)."""
    _, still = psutil.wait_procs(processes, timeout=30)
    return [p for p in still if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


async def wait_for_tool(
    db: asyncpg.Connection, process: subprocess.Popen[str], section: str, name: str, count: int
) -> tuple[int, list[psutil.Process]]:
    """Wait until the run is ongoing with bytes written and `count` `name` processes run; the run id."""
    for _ in range(300):
        assert process.poll() is None, process.communicate()
        state = await db.fetchrow(
            "SELECT id, bytes_done FROM backups.runs WHERE section = $1 AND status = 'ongoing'", section
        )
        found = tools(process.pid, name)
        if state is not None and len(found) >= count:
            return state["id"], found
        await asyncio.sleep(0.1)
    pytest.fail(f"the runner never had {count} {name} running")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_stopped_runner_stops_pg_basebackup_and_its_wal_child_and_records_interrupted(
    db: asyncpg.Connection,
    cluster: embedded.EmbeddedPostgres,
    migrated_db: str,
    tmp_path: Path,
    section: str,
    signum: signal.Signals,
) -> None:
    command = run_command(section, "snapshot", cluster.url(), tmp_path, "--tool-arg=--max-rate=32k")
    env = {**os.environ, "DATABASE_URL": migrated_db, "PG_BIN": str(cluster.bin_dir)}
    process = await asyncio.to_thread(
        subprocess.Popen, command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        # pg_basebackup and the child it forks to stream the WAL.
        run_id, basebackups = await wait_for_tool(db, process, section, "pg_basebackup", 2)
        process.send_signal(signum)  # to the runner alone, as a supervisor or Ctrl-C would
        _, stderr = await asyncio.to_thread(process.communicate, timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 128 + signum
    assert "Traceback" not in stderr
    assert f"run {run_id} interrupted at stage backup" in stderr
    assert alive(basebackups) == [], "the whole tool group stops"
    run = await db.fetchrow("SELECT * FROM backups.runs WHERE id = $1", run_id)
    assert run is not None
    assert (run["status"], run["error_stage"]) == ("interrupted", "backup")
    assert signum.name in run["error_message"]
    assert run["ended_at"] is not None
    assert not (tmp_path / run["name"]).exists(), "an interrupted run leaves no partial files"
    (found,) = await checks.check(db, section=section, type="snapshot")
    assert "interrupted" in {problem.rule for problem in found.problems}
    listed = await asyncio.to_thread(
        subprocess.run,
        [DOCKYARD, "backups", "list", "--section", section, "--status", "interrupted"],
        env={**env, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "interrupted" in listed.stdout
    assert run["name"] in listed.stdout


async def test_kill_9_of_the_runner_takes_pg_dump_with_it(
    db: asyncpg.Connection, source: str, pg: PgServer, migrated_db: str, tmp_path: Path, section: str
) -> None:
    await db.execute("INSERT INTO backups.check_config (section, heartbeat_grace_s) VALUES ($1, 1)", section)
    env = {**os.environ, "DATABASE_URL": migrated_db, **({"PG_BIN": pg.pg_bin} if pg.pg_bin else {})}
    blocker = await asyncpg.connect(source)
    try:
        # pg_dump waits for this lock: it is caught in the middle of its dump, every time.
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE public.pages IN ACCESS EXCLUSIVE MODE")
        command = run_command(section, "dump", source, tmp_path)
        process = await asyncio.to_thread(
            subprocess.Popen,
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            run_id, dumps = await wait_for_tool(db, process, section, "pg_dump", 1)
        finally:
            process.kill()  # SIGKILL, to the runner alone: nothing of it runs any more
            await asyncio.to_thread(process.wait)
        assert alive(dumps) == [], "pg_dump dies with the runner"
        await transaction.rollback()  # an orphaned pg_dump would now write a whole dump
    finally:
        await blocker.close()
    await asyncio.sleep(1.5)
    run = await db.fetchrow("SELECT * FROM backups.runs WHERE id = $1", run_id)
    assert run is not None
    assert run["status"] == "ongoing", "nothing was left to record the end"
    dump = tmp_path / run["name"] / f"{section}.dump"
    assert not dump.exists() or dump.stat().st_size == run["bytes_done"], "no dump is written after the kill"
    (found,) = await checks.check(db, section=section, type="dump")
    assert {problem.rule for problem in found.problems} >= {"stalled"}


async def test_a_killed_runner_does_not_keep_the_embedded_server_up(server_dir: Path) -> None:
    """`make run`'s Ctrl-C stops the embedded PostgreSQL even after a runner on it was killed."""
    server = embedded.start(server_dir)
    postmaster = psutil.Process(int((server.data_dir / "postmaster.pid").read_text().split()[0]))
    try:
        pg = PgServer(server.admin_url, str(server.bin_dir) if server.bin_dir else None)
        pg.psql(server.admin_url, f'CREATE DATABASE "{embedded.DEFAULT_DATABASE}"')
        pg.migrate(server.url())
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env |= {"DATA_DIR": str(server_dir), "PG_BIN": str(server.bin_dir)}
        command = run_command(
            "s1", "snapshot", server.url("postgres"), server_dir / "store", "--tool-arg=--max-rate=32k"
        )
        process = await asyncio.to_thread(
            subprocess.Popen,
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        catalog = await asyncpg.connect(server.url())
        try:
            _, basebackups = await wait_for_tool(catalog, process, "s1", "pg_basebackup", 2)
        finally:
            await catalog.close()
            process.kill()  # the runner, a handle on the embedded server, dies without letting go
            await asyncio.to_thread(process.wait)
        assert alive(basebackups) == []
    finally:
        await asyncio.to_thread(server.stop)  # what `dockyard serve` does when Ctrl-C ends it
    assert alive([postmaster]) == [], "the last live handle stops the server"


async def test_the_error_line_and_an_ipv6_source_are_kept_whole(
    db: asyncpg.Connection, migrated_db: str, tmp_path: Path, section: str
) -> None:
    """pg_basebackup prints its error, then a hint: the error is what the CLI and the checks show."""
    command = run_command(section, "snapshot", "postgresql://postgres@[::1]:1/postgres", tmp_path)
    done = await asyncio.to_thread(
        subprocess.run,
        command,
        env={**os.environ, "DATABASE_URL": migrated_db},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "failed at stage backup (exit 1): pg_basebackup: error: connection to server" in done.stderr
    assert "Connection refused" in done.stderr
    run = await db.fetchrow("SELECT * FROM backups.runs WHERE section = $1", section)
    assert run is not None
    assert run["source"] == "[::1]:1"
    assert "Is the server running" in run["error_message"], "the whole stderr is kept when it is short"
    (found,) = await checks.check(db, section=section)
    (failed,) = [problem for problem in found.problems if problem.rule == "failed"]
    assert "([::1])" in failed.message, "the address whole, without the port, as host names are shown"
    assert "Connection refused" in failed.message


async def test_an_ipv4_source_is_not_shortened_in_the_checks(db: asyncpg.Connection, section: str) -> None:
    await db.execute(
        """INSERT INTO backups.runs (name, section, type, datacenter, source, status, started_at, ended_at,
               error_stage, error_message)
        VALUES ('x', $1, 'dump', 'eqiad', '10.64.0.12:3306', 'failed', now(), now(), 'backup', 'boom')""",
        section,
    )
    (found,) = await checks.check(db, section=section)
    (failed,) = [problem for problem in found.problems if problem.rule == "failed"]
    assert "(10.64.0.12)" in failed.message, "the address whole, without the port, as host names are shown"


def test_a_long_stderr_keeps_its_error_lines_within_the_bound() -> None:
    noise = [f"pg_dump: reading table {n}" for n in range(5000)]
    said = "\n".join(
        [*noise[:2500], "pg_dump: error: query failed: ERROR:  permission denied", *noise[2500:]]
    )
    kept = messages.excerpt(said)
    assert len(kept) <= messages.LIMIT
    assert kept.startswith("pg_dump: error: query failed: ERROR:  permission denied")
    assert kept.endswith(noise[-1])
    assert messages.headline(said) == "pg_dump: error: query failed: ERROR:  permission denied"
