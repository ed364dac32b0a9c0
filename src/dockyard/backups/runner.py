"""Take a backup of a PostgreSQL source and record every step of it in the catalog.

The run is written as `ongoing` before the tool starts and committed, so a crash leaves a visible
state; a heartbeat task then updates `heartbeat_at` and `bytes_done` (the bytes in the run's folder)
while the tool runs, and the run ends `finished` (files, objects, total size), `failed` (stage, exit
code, the error lines of stderr) or `interrupted` (the runner was told to stop: SIGTERM, Ctrl-C, a
scheduler shutting down). A failed or interrupted run's folder is removed: no partial backup stays.

The tool runs under `guard.py`, in a session of its own: a stop signals its whole process group, and
a runner killed outright (SIGKILL) takes its tool with it (Linux's parent-death signal), so no orphan
writes a backup the catalog never records; its heartbeat stops, and the run reads as `stalled` once
the grace is over.

- dump: `pg_dump -Fc` into `<dest>/<name>/<section>.dump`, with the size and the exact row count of
  every table, both read in the snapshot pg_dump itself uses (exported by a read-only transaction
  that stays open until pg_dump ends), so the counts describe exactly what the dump holds;
- snapshot: `pg_basebackup -Ft -z` into `<dest>/<name>/` (base.tar.gz, pg_wal.tar.gz);
- a MariaDB source (`mariadb://…`) with `tool="mariadb-dump"`: `mariadb-dump` into `<section>.sql.gz`,
  with sizes and row counts read in a consistent snapshot of their own once the dump is written;
- mydumper (the default for MariaDB dumps) and mariabackup (MariaDB snapshots): tools/runs.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import functools
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from dockyard.backups import guard, mariadb, messages, redaction, slots, store
from dockyard.core.db import Connection

STDERR_TAIL = messages.LIMIT
GUARD = Path(guard.__file__)


@dataclass(frozen=True)
class Job:
    """What to back up, where to, and how to report it."""

    section: str
    type: str  # dump | snapshot
    datacenter: str
    source_url: str
    destination: Path
    source_label: str | None = None  # shown in the catalog (host[:port]); never the URL with secrets
    host: str = socket.gethostname()
    pg_bin: Path | None = None
    heartbeat_s: float = 10.0
    extra_args: tuple[str, ...] = ()
    tool: str | None = None  # default per type and source: tools.runs.choose
    databases: tuple[str, ...] = ()  # MariaDB: these instead of the URL's (none: the whole instance)


def _tool(job: Job, name: str) -> str:
    return str(job.pg_bin / name) if job.pg_bin else name


def _command(job: Job, target: Path) -> tuple[list[str], dict[str, str]]:
    if mariadb.is_mariadb(job.source_url):
        return mariadb.dump_command(job.source_url, target, job.section, job.extra_args)
    return _pg_command(job, target), {**os.environ, "PGCONNECT_TIMEOUT": "10"}


def _pg_command(job: Job, target: Path) -> list[str]:
    if job.type == "dump":
        return [
            _tool(job, "pg_dump"),
            "-Fc",
            "-f",
            str(target / f"{job.section}.dump"),
            *job.extra_args,
            job.source_url,
        ]
    return [
        _tool(job, "pg_basebackup"),
        "-D",
        str(target),
        "-Ft",
        "-z",
        "-X",
        "stream",
        "--checkpoint=fast",
        *job.extra_args,
        "-d",
        job.source_url,
    ]


def folder_size(path: Path) -> int:
    """Bytes in the files under `path`, as the tool writes them (files may come and go meanwhile)."""
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


# Every table of the current database: its size, and how to count its rows. The name to count is
# quoted by the server (format '%I'), never pasted from Python. A table's own rows are counted
# (ONLY: not those of inheriting tables); a partitioned table's are its partitions'. Materialized
# views get a size but no count: a restore rebuilds them from the restored tables. Temporary
# tables belong to other sessions (and are never dumped).
TABLES = """SELECT current_database() AS db, n.nspname || '.' || c.relname AS name,
    pg_total_relation_size(c.oid) AS size,
    CASE c.relkind WHEN 'r' THEN format('SELECT count(*) FROM ONLY %I.%I', n.nspname, c.relname)
                   WHEN 'p' THEN format('SELECT count(*) FROM %I.%I', n.nspname, c.relname) END AS counting
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY n.nspname, c.relname"""

# What connecting to a PostgreSQL source can raise.
SOURCE_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

Inventory = list[tuple[str, str, int, int | None]]  # (database, table, size, rows)


async def table_rows(conn: Connection) -> Inventory:
    """Size and exact row count of every table of `conn`'s database, read in its current snapshot."""
    found: Inventory = []
    async with conn.transaction():  # a savepoint: a failed count leaves the exported snapshot usable
        for table in await conn.fetch(TABLES):
            rows = await conn.fetchval(table["counting"]) if table["counting"] else None
            found.append((table["db"], table["name"], table["size"], rows))
    return found


@dataclass(frozen=True)
class Pinned:
    """A read-only transaction on the source whose snapshot pg_dump imports (`--snapshot`)."""

    conn: asyncpg.Connection
    snapshot: str


@contextlib.asynccontextmanager
async def pinned_snapshot(source_url: str) -> AsyncIterator[Pinned]:
    """Open a REPEATABLE READ, READ ONLY transaction on the source and export its snapshot.

    The snapshot can be imported only while this transaction is open: keep the block open until
    pg_dump has ended.
    """
    conn = await asyncpg.connect(source_url, timeout=10)
    try:
        await conn.transaction(isolation="repeatable_read", readonly=True).start()
        snapshot: str = await conn.fetchval("SELECT pg_export_snapshot()")
        yield Pinned(conn, snapshot)
    finally:
        await conn.close()  # ends the transaction; it wrote nothing


def _counted_in_snapshot(job: Job) -> bool:
    return job.type == "dump" and not mariadb.is_mariadb(job.source_url)


async def _mariadb_objects(job: Job) -> Inventory:
    command, env = mariadb.inventory_command(job.source_url)
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(err.decode(errors="replace").strip())
    return mariadb.parse_inventory(out.decode())


async def start(catalog: Connection, job: Job, run_id: int | None = None) -> tuple[int, str]:
    """Record the run as ongoing (a new row, or the scheduled one `run_id`); its id and name.

    A scheduled run is named after its slot, as wmfbackups names snapshots after 19:00 whenever
    they start; an unscheduled one after the moment it starts.
    """
    now = dt.datetime.now(dt.UTC)
    name = f"{job.type}.{job.section}.{now:%Y-%m-%d--%H-%M-%S}"
    if run_id is not None:
        claimed = await catalog.fetchval(
            """UPDATE backups.runs SET status = 'ongoing', started_at = now(), heartbeat_at = now(),
                   name = concat_ws('.', type, section,
                                    to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD--HH24-MI-SS')),
                   source = coalesce($2, source), host = $3
            WHERE id = $1 AND status = 'scheduled' RETURNING name""",
            run_id,
            job.source_label,
            job.host,
        )
        if claimed is None:
            raise LookupError(f"run {run_id} is not a scheduled run (any more)")
        await catalog.execute(
            "UPDATE backups.runs SET location = $2 WHERE id = $1", run_id, str(job.destination / claimed)
        )
        return run_id, claimed
    new_id: int = await catalog.fetchval(
        """INSERT INTO backups.runs (name, section, type, datacenter, source, host, status, started_at,
               heartbeat_at, bytes_done, registered_by, location)
        VALUES ($1, $2, $3, $4, $5, $6, 'ongoing', now(), now(), 0, 'runner', $7) RETURNING id""",
        name,
        job.section,
        job.type,
        job.datacenter,
        job.source_label,
        job.host,
        str(job.destination / name),
    )
    await slots.fulfil(catalog, new_id)
    return new_id, name


async def _heartbeat(catalog: Connection, run_id: int, target: Path, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        await catalog.execute(
            "UPDATE backups.runs SET heartbeat_at = now(), bytes_done = $2 "
            "WHERE id = $1 AND status = 'ongoing'",
            run_id,
            await asyncio.to_thread(folder_size, target),
        )


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def record_failure(
    catalog: Connection,
    run_id: int,
    stage: str,
    code: int | None,
    message: str,
    *,
    status: str = "failed",
) -> None:
    """Mark the run failed (or `interrupted`) at `stage`, keeping the meaningful part of `message`,
    secrets masked."""
    await catalog.execute(
        """UPDATE backups.runs SET status = $5, ended_at = now(), heartbeat_at = now(),
               error_stage = $2, error_exit_code = $3, error_message = $4
        WHERE id = $1""",
        run_id,
        stage,
        code,
        messages.excerpt(redaction.redact(message)),
        status,
    )


async def _discard(target: Path | None) -> str:
    """Remove a failed run's folder (only one this runner created); what to add to its message."""
    if target is None:
        return ""
    try:
        await asyncio.to_thread(shutil.rmtree, target)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"\n(its partial files could not be removed from {target}: {exc.strerror or exc})"
    return ""


async def _fail(
    catalog: Connection, run_id: int, target: Path | None, stage: str, code: int | None, message: str
) -> int:
    """Remove what the run wrote, then record it failed at `stage`; the run id."""
    message += await _discard(target)
    await record_failure(catalog, run_id, stage, code, message)
    return run_id


async def run(catalog: Connection, job: Job, run_id: int | None = None) -> int:
    """Take the backup described by `job`; the run id (its outcome is in the catalog)."""
    run_id, name = await start(catalog, job, run_id)
    return await execute(catalog, job, run_id, name)


async def execute(catalog: Connection, job: Job, run_id: int, name: str) -> int:
    """Do the work of a run `start` has recorded as ongoing, and record its outcome.

    Cancelled (the runner is told to stop), it stops the tool's process group, removes the run's
    folder, records the run `interrupted` (the cancel message, e.g. `SIGTERM`, says why) and re-raises.
    """
    from dockyard.backups.tools import runs  # imports this module: imported when first needed

    if (taken := await runs.execute(catalog, job, run_id, name)) is not None:
        return taken  # mydumper or mariabackup (or a tool that does not fit, recorded as failed)
    target = job.destination / name
    created: Path | None = None
    stage = "start"
    try:
        try:
            target.mkdir(parents=True, exist_ok=False)
            created = target
            command, env = _command(job, target)
            if shutil.which(command[0]) is None:  # before the source is contacted: a missing tool is `start`
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), command[0])
        except (OSError, ValueError) as exc:
            return await _fail(catalog, run_id, created, "start", None, f"{type(exc).__name__}: {exc}")
        # The folder is ours (mkdir made it): recorded, it is what retention may delete one day.
        await store.record(catalog, run_id, host=job.host, store=job.destination, folder=target)
        stage = "backup"
        return await _take(catalog, job, run_id, target, command, env)
    except asyncio.CancelledError as exc:
        why = str(exc.args[0]) if exc.args and exc.args[0] else "the runner was stopped"
        message = f"interrupted ({why}) before the backup ended; the tool was stopped"
        await _despite_cancel(_interrupted(catalog, run_id, created, stage, message))
        raise


async def _despite_cancel(work: Awaitable[None]) -> None:
    """Await `work` to its end even if cancelled again meanwhile (a second Ctrl-C): it cleans up."""
    task = asyncio.ensure_future(work)
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)
    task.result()


async def _interrupted(
    catalog: Connection, run_id: int, target: Path | None, stage: str, message: str
) -> None:
    message += await _discard(target)
    await record_failure(catalog, run_id, stage, None, message, status="interrupted")


async def _spawn(command: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start `command` under the guard, in a session of its own that dies with this process."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        str(GUARD),
        "--",
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,
        preexec_fn=functools.partial(guard.die_with_parent, os.getpid()),
    )


async def stop_tool(process: asyncio.subprocess.Process) -> None:
    """Ask the guard to stop the tool's group (it kills it after its grace), and wait for the end."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), guard.GRACE_S + 10)
    except TimeoutError:  # the guard itself is stuck: end its session's group, then it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def _take(
    catalog: Connection, job: Job, run_id: int, target: Path, command: list[str], env: dict[str, str]
) -> int:
    async with contextlib.AsyncExitStack() as stack:
        pinned: Pinned | None = None
        if _counted_in_snapshot(job):
            try:
                pinned = await stack.enter_async_context(pinned_snapshot(job.source_url))
            except SOURCE_ERRORS as exc:
                return await _fail(catalog, run_id, target, "backup", None, f"source: {exc}")
            command.insert(2, f"--snapshot={pinned.snapshot}")
        try:
            process = await _spawn(command, env)
        except OSError as exc:
            return await _fail(catalog, run_id, target, "start", None, f"{type(exc).__name__}: {exc}")
        # The counts run in the exported snapshot while pg_dump copies the same data.
        counting = asyncio.create_task(table_rows(pinned.conn)) if pinned else None
        beating = asyncio.create_task(_heartbeat(catalog, run_id, target, job.heartbeat_s))
        try:
            _, stderr = await process.communicate()
        except asyncio.CancelledError:
            # Stopped from outside: the tool's whole group goes first, then the caller records why.
            await _despite_cancel(stop_tool(process))
            if counting:
                await _despite_cancel(_abandon(counting))
            raise
        finally:
            await _stop(beating)
        if process.returncode != 0:
            if counting:
                await _abandon(counting)
            said = stderr.decode(errors="replace").strip()
            message = said or f"exited with status {process.returncode}"
            return await _fail(catalog, run_id, target, "backup", process.returncode, message)
        if mariadb.is_mariadb(job.source_url):
            try:
                await asyncio.to_thread(mariadb.compress, target, job.section)
            except OSError as exc:
                return await _fail(catalog, run_id, target, "compress", None, f"{type(exc).__name__}: {exc}")
        try:
            objects = await _objects(job, counting)
        except (*SOURCE_ERRORS, RuntimeError) as exc:
            message = f"table sizes and rows: {exc}"
            return await _fail(catalog, run_id, target, "metadata", None, message)
    await _record_success(catalog, run_id, target, objects)
    return run_id


async def _abandon(counting: asyncio.Task[Inventory]) -> None:
    """Stop counting rows for a backup that failed; whatever the counts met no longer matters."""
    counting.cancel()
    with contextlib.suppress(asyncio.CancelledError, *SOURCE_ERRORS):
        await counting


async def _objects(job: Job, counting: asyncio.Task[Inventory] | None) -> Inventory:
    if counting is not None:
        return await counting
    if job.type == "dump" and mariadb.is_mariadb(job.source_url):
        return await _mariadb_objects(job)
    return []


def _inventory(run_id: int, target: Path) -> list[tuple[int, str, str, int, dt.datetime]]:
    """(run, directory relative to the backup root, name, size, mtime) of every file written."""
    found = []
    for entry in sorted(target.rglob("*")):
        if entry.is_file():
            stat = entry.stat()
            folder = "" if entry.parent == target else str(entry.parent.relative_to(target))
            found.append(
                (run_id, folder, entry.name, stat.st_size, dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC))
            )
    return found


async def _record_success(catalog: Connection, run_id: int, target: Path, objects: Inventory) -> None:
    files = await asyncio.to_thread(_inventory, run_id, target)
    async with catalog.transaction():
        if files:
            await catalog.copy_records_to_table(
                "files",
                schema_name="backups",
                columns=["run_id", "path", "name", "size", "modified_at"],
                records=files,
            )
        if objects:
            await catalog.copy_records_to_table(
                "objects",
                schema_name="backups",
                columns=["run_id", "db", "name", "size", "rows"],
                records=[(run_id, *item) for item in objects],
            )
        total = sum(item[3] for item in files)
        await catalog.execute(
            """UPDATE backups.runs SET status = 'finished', ended_at = now(), heartbeat_at = now(),
                   total_size = $2, bytes_done = $2
            WHERE id = $1""",
            run_id,
            total,
        )
