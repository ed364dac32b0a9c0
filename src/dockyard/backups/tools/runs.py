"""Runs taken with mydumper (dumps) and mariabackup (snapshots) of MariaDB sources.

`runner.execute` hands every run to `execute` first: it records which tool takes the backup, and
does the work for mydumper and mariabackup (None: the runner's own pg_dump, pg_basebackup and
mariadb-dump do it). The run's life is the runner's: ongoing before the work, a heartbeat with the
bytes written, then finished (files, objects, total size, binary log coordinates) or failed with
the stage, the exit code and the tool's stderr. A failed run's folder is removed.

Stages: start (tool missing, bad URL or database name), backup (listing the databases, mydumper,
mariabackup --backup), metadata (mydumper's metadata file, table sizes and rows), prepare
(mariabackup --prepare), compress (the tarball).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shutil
from pathlib import Path
from typing import Any

from dockyard.backups import mariadb, runner, store
from dockyard.backups.tools import inventory, mariabackup, mydumper
from dockyard.backups.tools.source import NAME, Source, option_file
from dockyard.core.db import Connection

# The tools that can take each type of backup of each kind of source; the first is the default.
# A dump of MariaDB defaults to mydumper whether or not it is installed (a missing tool fails the
# run at `start`): the format of a backup, and how it is restored, must not depend on the host.
TOOLS: dict[str, dict[str, tuple[str, ...]]] = {
    "dump": {"mariadb": ("mydumper", "mariadb-dump"), "postgresql": ("pg_dump",)},
    "snapshot": {"mariadb": ("mariabackup",), "postgresql": ("pg_basebackup",)},
}
NAMES = ("mydumper", "mariabackup", "mariadb-dump", "pg_dump", "pg_basebackup")


def choose(source_url: str, type_: str, tool: str | None) -> str:
    """The tool that takes a `type_` backup of `source_url`: `tool`, or the default; ValueError if unfit."""
    kind = "mariadb" if mariadb.is_mariadb(source_url) else "postgresql"
    allowed = TOOLS[type_][kind]
    if tool is None:
        return allowed[0]
    if tool not in allowed:
        fits = " or ".join(allowed)
        raise ValueError(f"{tool} cannot take a {type_} of a {kind} source: use {fits} (--tool)")
    return tool


class Failed(Exception):
    """A stage of the work failed; the run is recorded failed with these."""

    def __init__(self, stage: str, code: int | None, message: str) -> None:
        super().__init__(message)
        self.stage, self.code, self.message = stage, code, message


async def tool_output(command: list[str], *, stage: str, guarded: bool = False) -> tuple[str, str]:
    """Run a tool to its end; (stdout, stderr), or Failed with its exit code and stderr.

    `guarded`: a backup tool, started under the runner's guard in a process group of its own that
    dies with the runner (its stdout is not kept). Cancelled (the runner is stopped), the tool is
    stopped before the cancellation goes on: it must not outlive the run that recorded it.
    """
    try:
        if guarded:
            process = await runner._spawn(command, dict(os.environ))
        else:
            process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
    except OSError as exc:
        raise Failed(stage, None, f"{Path(command[0]).name}: {type(exc).__name__}: {exc}") from exc
    try:
        out, err = await process.communicate()
    except asyncio.CancelledError:
        if guarded:
            await asyncio.shield(runner.stop_tool(process))
        else:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.shield(process.wait())
        raise
    stdout, stderr = (out or b"").decode(errors="replace"), err.decode(errors="replace")
    if process.returncode != 0:
        message = stderr.strip() or f"exited with status {process.returncode}"
        raise Failed(stage, process.returncode, f"{Path(command[0]).name}: {message}")
    return stdout, stderr


class _Work:
    """The steps of one mydumper or mariabackup run, with the source's option file at hand."""

    def __init__(self, job: runner.Job, source: Source, defaults: Path | None, target: Path) -> None:
        self.job, self.source, self.defaults, self.target = job, source, defaults, target

    async def _query(self, sql: str, *, stage: str) -> str:
        command = inventory.client_command(self.source, sql, defaults=self.defaults)
        out, _ = await tool_output(command, stage=stage)
        return out

    async def databases(self, wanted: tuple[str, ...] | None) -> tuple[str, ...]:
        """The databases to back up: `wanted` (each must exist), or all but the system ones."""
        listed = await self._query(inventory.databases_sql(), stage="backup")
        present = [name for name in listed.split("\n") if name]
        where = self.source.label()
        if wanted is not None:
            missing = [name for name in wanted if name not in present]
            if missing:
                raise Failed("backup", None, f"Unknown database(s) on {where}: {', '.join(missing)}")
            return wanted
        odd = [name for name in present if not NAME.match(name)]
        if odd:
            raise Failed(
                "backup", None,
                f"database name(s) {', '.join(map(repr, odd))} on {where} cannot be backed up "
                "(letters, digits, _, $ and - only): choose the databases with --database",
            )  # fmt: skip
        if not present:
            raise Failed("backup", None, f"{where} holds no database besides the system ones")
        return tuple(present)

    async def objects(self, databases: tuple[str, ...]) -> runner.Inventory:
        """Size and exact row count of every table of `databases`, read right after the backup."""
        out = await self._query(inventory.table_rows_sql(databases), stage="metadata")
        return mariadb.parse_inventory(out)

    async def mydumper(self, databases: tuple[str, ...]) -> dict[str, Any]:
        """Dump `databases` into the run's folder; the binary log coordinates of its metadata file."""
        command = mydumper.dump_command(
            self.source, self.target, databases, defaults=self.defaults, extra=self.job.extra_args
        )
        _, stderr = await tool_output(command, stage="backup", guarded=True)
        if mydumper.failed(stderr):
            raise Failed("backup", 0, f"mydumper reported errors: {stderr.strip()}")
        metadata = self.target / "metadata"
        text = metadata.read_text(errors="replace") if metadata.is_file() else ""
        if mydumper.FINISHED not in text:
            raise Failed("metadata", None, f"mydumper's metadata file lacks {mydumper.FINISHED!r}: {text!r}")
        return mydumper.parse_metadata(text)

    async def mariabackup(self) -> dict[str, Any]:
        """Copy, prepare and compress the instance; the binary log coordinates of the copy."""
        folder = self.target / f"{self.job.section}.datadir"
        command = mariabackup.backup_command(
            self.source, folder, defaults=self.defaults, extra=self.job.extra_args
        )
        await tool_output(command, stage="backup", guarded=True)
        _, stderr = await tool_output(mariabackup.prepare_command(folder), stage="prepare", guarded=True)
        if mariabackup.COMPLETED not in stderr:
            raise Failed("prepare", 0, f"mariabackup --prepare did not complete: {stderr.strip()}")
        coordinates = await asyncio.to_thread(mariabackup.coordinates, folder)
        for name in mariabackup.DESCRIPTIONS:
            if (folder / name).is_file():
                shutil.copy2(folder / name, self.target / name)
        tarball = self.target / f"{self.job.section}.tar.gz"
        await tool_output(mariabackup.tar_command(folder, tarball), stage="compress", guarded=True)
        await asyncio.to_thread(shutil.rmtree, folder)
        return coordinates


async def _failed(catalog: Connection, run_id: int, target: Path, failure: Failed) -> None:
    """Remove the run's folder (this run created it), then record the run failed."""
    await runner._fail(catalog, run_id, target, failure.stage, failure.code, failure.message)


async def _interrupted(catalog: Connection, run_id: int, target: Path, why: str) -> None:
    """Remove the run's folder, then record that the runner was stopped before the backup ended."""
    message = f"interrupted ({why}) before the backup ended; the tool was stopped"
    await runner._interrupted(catalog, run_id, target, "backup", message)


async def execute(catalog: Connection, job: runner.Job, run_id: int, name: str) -> int | None:
    """Record the tool of the run, and take it if it is mydumper's or mariabackup's; else None."""
    try:
        tool = choose(job.source_url, job.type, job.tool)
        if tool == "mariadb-dump" and job.databases:
            raise ValueError(
                "mariadb-dump takes the one database of the URL; use --tool mydumper for --database"
            )
    except ValueError as exc:
        await runner.record_failure(catalog, run_id, "start", None, f"ValueError: {exc}")
        return run_id
    await catalog.execute("UPDATE backups.runs SET tool = $2 WHERE id = $1", run_id, tool)
    if tool not in ("mydumper", "mariabackup"):
        return None
    target = job.destination / name
    try:
        source = Source.parse(job.source_url)
        wanted = source.wanted(job.databases)
        if shutil.which(tool) is None:  # before the source is contacted: a missing tool is `start`
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), tool)
        target.mkdir(parents=True, exist_ok=False)
    except (OSError, ValueError) as exc:
        await runner.record_failure(catalog, run_id, "start", None, f"{type(exc).__name__}: {exc}")
        return run_id
    # The folder is ours (mkdir made it): recorded, it is what retention may delete one day.
    await store.record(catalog, run_id, host=job.host, store=job.destination, folder=target)
    beating = asyncio.create_task(runner._heartbeat(catalog, run_id, target, job.heartbeat_s))
    try:
        with option_file(source) as defaults:
            work = _Work(job, source, defaults, target)
            databases = await work.databases(wanted)
            coordinates = await (work.mydumper(databases) if tool == "mydumper" else work.mariabackup())
            objects = await work.objects(databases)
    except (Failed, OSError) as exc:
        await runner._stop(beating)
        failure = exc if isinstance(exc, Failed) else Failed("backup", None, f"{type(exc).__name__}: {exc}")
        await _failed(catalog, run_id, target, failure)
        return run_id
    except asyncio.CancelledError as exc:
        await runner._stop(beating)
        why = str(exc.args[0]) if exc.args and exc.args[0] else "the runner was stopped"
        await runner._despite_cancel(_interrupted(catalog, run_id, target, why))
        raise
    finally:
        await runner._stop(beating)
    await catalog.execute(
        "UPDATE backups.runs SET binlog = $2::jsonb WHERE id = $1", run_id, json.dumps(coordinates)
    )
    await runner._record_success(catalog, run_id, target, objects)
    return run_id
