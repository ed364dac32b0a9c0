"""Restore tests: restore a finished run's backup into scratch space and check it holds what was saved.

The test is recorded in `backups.restore_tests` as `ongoing` before any work starts, then `passed`
or `failed` with a `detail` that lists every table (rows expected, rows restored), the mismatches,
and on failure the stage and the error. What is restored depends on the backup:

- a PostgreSQL dump (`*.dump`, pg_dump -Fc): pg_restore into a new database on the catalog's server
  (or `target_url`'s), whose row counts must equal those recorded at backup time;
- a snapshot (pg_basebackup -Ft -z): base.tar.gz and pg_wal.tar.gz extracted into a temporary
  folder and a private PostgreSQL started on it, which recovers; its counts are compared with the
  latest earlier dump of the same section and datacenter, or only reported when there is none;
- a MariaDB dump (`*.sql.gz`): loaded into a new database on `target_url`'s MariaDB server;
- a mydumper dump or a mariabackup snapshot: tools/restores.py (myloader into scratch databases on
  `target_url`'s MariaDB; a private mariadbd started on the prepared copy).

Stages, in order: files (sizes, checksums), prepare, restore (or extract, start, recovery), count,
compare, cleanup. Scratch databases, servers and folders go afterwards unless `keep` is set.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from dockyard.backups import mariadb, redaction, runner
from dockyard.backups.scratch import ScratchServer, StageFailed, extract
from dockyard.backups.tools import restores
from dockyard.core.db import Connection
from dockyard.core.dburl import with_database

TARS = ("base.tar.gz", "pg_wal.tar.gz")


class RestoreError(Exception):
    """The test cannot start (unknown run, not finished, files missing…); nothing was recorded."""


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class Options:
    """Where and how to restore; the defaults work on the host that holds the backup."""

    target_url: str | None = None  # the server a dump is restored on (required for MariaDB dumps)
    keep: bool = False  # leave the scratch database (or the stopped snapshot's folder) in place
    pg_bin: Path | None = None  # folder of pg_restore, pg_ctl and postgres
    work_dir: Path | None = None  # where a snapshot is extracted (default: the system's temp folder)
    superuser: str = "postgres"  # the role a restored snapshot is queried as
    run_as: str | None = None  # the system user a snapshot's server runs as when we are root
    timeout_s: float = 3600.0  # the most a snapshot's server may take to start and recover
    progress: Callable[[str], None] = _quiet


@dataclass
class Outcome:
    """A finished restore test: its id, its verdict, where it ran, and the detail recorded."""

    test_id: int
    run_id: int
    passed: bool
    target: str
    detail: dict[str, Any] = field(default_factory=dict)


def server_label(url: str) -> str:
    """`postgresql://user:secret@db1.example:5433/x` → `db1.example:5433`: never the credentials.

    An IPv6 address keeps its brackets (`[2620:0:861::1]:5432`), so its port stays apart.
    """
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def describe(table: dict[str, Any]) -> str:
    """`public.pages: 9990 rows, expected 10000`, or `…: no such table, expected 10000`."""
    restored = "no such table" if table["restored"] is None else f"{table['restored']} rows"
    return f"{table['name']}: {restored}, expected {table['expected']}"


RUN = """SELECT id, name, section, type, datacenter, status, host, location, started_at, tool
FROM backups.runs WHERE id = $1"""


async def restore_test(catalog: Connection, run_id: int, *, catalog_url: str, options: Options) -> Outcome:
    """Restore run `run_id`'s backup, compare its row counts and record the test; the outcome."""
    run = await catalog.fetchrow(RUN, run_id)
    if run is None:
        raise RestoreError(f"there is no run {run_id}")
    if run["status"] != "finished":
        raise RestoreError(f"run {run_id} is {run['status']}: only a finished run can be restore-tested")
    if not run["location"]:
        raise RestoreError(f"run {run_id} has no location: the catalog does not say where its backup lies")
    here = {socket.gethostname(), socket.getfqdn(), "localhost"}
    if run["host"] and run["host"] not in here:
        raise RestoreError(
            f"run {run_id}'s backup lies on {run['host']}, not on this host ({socket.gethostname()}); "
            "run the restore test there"
        )
    location = Path(run["location"])
    files = await catalog.fetch(
        "SELECT path, name, size, checksum FROM backups.files WHERE run_id = $1 ORDER BY path, name", run_id
    )
    missing = await asyncio.to_thread(_missing, location, files)
    if missing:
        raise RestoreError(f"run {run_id}'s backup is incomplete on this host: {missing}")
    test = _Test(catalog, run, location, files, options)
    test.aim(catalog_url)
    return await test.run()


def _path(location: Path, row: Any) -> Path:
    return Path(location, row["path"], row["name"]) if row["path"] else Path(location, row["name"])


def _missing(location: Path, files: list[Any]) -> str:
    if not location.is_dir():
        return f"its location {location} does not exist"
    if not files:
        return f"the catalog lists no files in {location}"
    absent = [str(_path(location, row)) for row in files if not _path(location, row).is_file()]
    return f"files missing: {', '.join(absent)}" if absent else ""


def _kind(run: Any, files: list[Any]) -> str:
    """What the backup is: its tool, or by its files pg_basebackup, pg_dump, mariadb_dump, mydumper…"""
    names = {row["name"] for row in files if not row["path"]}
    if run["tool"] in ("mydumper", "mariabackup"):
        return str(run["tool"])
    if "metadata" in names and any(restores.SCHEMA_CREATE in name for name in names):
        return "mydumper"  # registered over the API: mydumper's layout
    if run["type"] == "snapshot" and "xtrabackup_info" in names:
        return "mariabackup"
    if run["type"] == "snapshot":
        if not set(TARS) <= names:
            raise RestoreError(f"run {run['id']} is a snapshot without {' and '.join(TARS)}")
        return "pg_basebackup"
    for suffix, kind in ((".dump", "pg_dump"), (".sql.gz", "mariadb_dump")):
        if any(name.endswith(suffix) for name in names):
            return kind
    raise RestoreError(f"run {run['id']} has no file a restore test can use (a *.dump or *.sql.gz)")


class _Test:
    """One restore test: the stage it is at, its scratch resources, and what it found."""

    def __init__(self, catalog: Connection, run: Any, location: Path, files: list[Any], options: Options):
        self.catalog, self.run_row, self.location, self.files, self.options = (
            catalog,
            run,
            location,
            files,
            options,
        )
        self.run_id: int = run["id"]
        self.kind = _kind(run, files)
        self.stage = "files"
        self.scratch = f"dockyard_restore_{self.run_id}_{secrets.token_hex(3)}"
        self.detail: dict[str, Any] = {"kind": self.kind, "location": str(location)}
        self.server_url = ""
        self.target = ""

    def aim(self, catalog_url: str) -> None:
        """Check and name where the backup is restored, before anything is recorded."""
        url = self.options.target_url
        if self.kind in ("mariadb_dump", "mydumper"):
            if url is None or not mariadb.is_mariadb(url):
                raise RestoreError(
                    f"run {self.run_id} is a MariaDB dump: name the MariaDB server to restore it on with "
                    "--target-url mariadb://user@host:3306/ (the catalog does not know the source's URL)"
                )
            self.server_url, self.target = url, f"{mariadb.label(url)}/{self.scratch}"
        elif self.kind == "mariabackup":
            self.target = f"a private mariadbd under {self.options.work_dir or tempfile.gettempdir()}"
        elif self.kind == "pg_dump":
            if url is not None and mariadb.is_mariadb(url):
                raise RestoreError(f"run {self.run_id} is a PostgreSQL dump: --target-url must be PostgreSQL")
            self.server_url = url or catalog_url
            self.target = f"{server_label(self.server_url)}/{self.scratch}"
        else:
            self.target = f"a private PostgreSQL under {self.options.work_dir or tempfile.gettempdir()}"
        if self.kind not in ("pg_basebackup", "mariabackup"):
            self.detail["database"] = self.scratch

    def say(self, message: str) -> None:
        self.options.progress(f"run {self.run_id}: {message}")

    async def run(self) -> Outcome:
        test_id: int = await self.catalog.fetchval(
            """INSERT INTO backups.restore_tests (run_id, result, target, detail)
            VALUES ($1, 'ongoing', $2, $3::jsonb) RETURNING id""",
            self.run_id,
            self.target,
            json.dumps(self.detail),
        )
        self.say(f"restore test {test_id} of a {self.kind} into {self.target}")
        passed = False
        try:
            await self._check_files()
            work: dict[str, Callable[[], Awaitable[None]]] = {
                "pg_dump": self._pg_dump,
                "pg_basebackup": self._snapshot,
                "mariadb_dump": self._mariadb,
                "mydumper": functools.partial(restores.restore_mydumper, self),
                "mariabackup": functools.partial(restores.restore_mariabackup, self),
            }
            await work[self.kind]()
            passed = not self.detail["mismatches"]
            if not passed:
                differ = "; ".join(describe(table) for table in self.detail["mismatches"])
                count = len(self.detail["mismatches"])
                self.detail.update(
                    stage="compare", error=f"{count} table(s) differ: {differ}"[: runner.STDERR_TAIL]
                )
        except StageFailed as exc:
            self.detail.update(stage=exc.stage, error=exc.message[-runner.STDERR_TAIL :])
        except Exception as exc:  # anything else also ends the test, recorded as failed where it was
            self.detail.update(stage=self.stage, error=f"{type(exc).__name__}: {exc}"[-runner.STDERR_TAIL :])
        except BaseException:  # interrupted (Ctrl-C, cancelled): record that, then let it go on
            self.detail.update(stage=self.stage, error="interrupted before the restore test ended")
            await asyncio.shield(self._finish(test_id, passed=False))
            raise
        await self._finish(test_id, passed=passed)
        return Outcome(test_id, self.run_id, passed, self.target, self.detail)

    async def _finish(self, test_id: int, *, passed: bool) -> None:
        for key in ("error", "cleanup_error"):  # a tool's stderr may echo a URL with its password
            if isinstance(self.detail.get(key), str):
                self.detail[key] = redaction.redact(self.detail[key])
        await self.catalog.execute(
            """UPDATE backups.restore_tests SET result = $2, ended_at = now(), detail = $3::jsonb
            WHERE id = $1""",
            test_id,
            "passed" if passed else "failed",
            json.dumps(self.detail, default=str),
        )

    async def _check_files(self) -> None:
        """Every file must have the size, and the checksum when one was recorded, it had when saved."""
        for row in self.files:
            path = _path(self.location, row)
            size = path.stat().st_size
            if size != row["size"]:
                raise StageFailed("files", f"{path} is {size} bytes; it was {row['size']} when backed up")
            if row["checksum"] and len(row["checksum"]) == 64:  # a sha256, as backup_db.sh records
                self.say(f"checking the sha256 of {path.name}")
                actual = await asyncio.to_thread(_sha256, path)
                if actual != row["checksum"]:
                    raise StageFailed("files", f"{path} has sha256 {actual}; it was {row['checksum']}")

    async def _tool(self, command: list[str], *, stage: str, **options: Any) -> str:
        """Run a tool for `stage`; its stdout, or StageFailed with its stderr."""
        self.stage = stage
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, **options
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            message = err.decode(errors="replace").strip() or f"exited with status {process.returncode}"
            raise StageFailed(stage, f"{Path(command[0]).name} (exit {process.returncode}): {message}")
        return out.decode(errors="replace")

    def _compare(self, expected: list[Any], restored: runner.Inventory, *, by_db: bool) -> None:
        """Record every table's rows, expected and restored, and the tables that differ.

        A dump is restored under another database name, so its tables are matched by name alone
        (`by_db` false); a snapshot keeps the names of its databases.
        """
        self.stage = "compare"
        wanted = {(row["db"] if by_db else "", row["name"]): row for row in expected}
        found = {(db if by_db else "", name): (db, rows) for db, name, _, rows in restored}
        tables = []
        for key in sorted(wanted.keys() | found.keys()):
            want, got = wanted.get(key), found.get(key)
            tables.append(
                {
                    "db": want["db"] if want else got[0] if got else None,
                    "name": key[1],
                    "expected": want["rows"] if want else None,
                    "restored": got[1] if got else None,
                }
            )
        self.detail["tables"] = tables
        self.detail["mismatches"] = [
            table
            for table in tables
            if table["expected"] is not None and table["restored"] != table["expected"]
        ]
        if not any(row["rows"] is not None for row in expected):
            self.detail["note"] = "no row counts were recorded at backup time: restored counts only"
        self.say(f"{len(tables)} table(s) compared, {len(self.detail['mismatches'])} differ")

    async def _expected(self, run_id: int) -> list[Any]:
        return list(
            await self.catalog.fetch(
                "SELECT db, name, rows FROM backups.objects WHERE run_id = $1 ORDER BY db, name", run_id
            )
        )

    def _file(self, suffix: str) -> Path:
        return next(
            _path(self.location, f) for f in self.files if not f["path"] and f["name"].endswith(suffix)
        )

    # A PostgreSQL dump ---------------------------------------------------------------------------

    async def _pg_dump(self) -> None:
        dump = self._file(".dump")
        self.stage = "prepare"
        admin = await asyncpg.connect(self.server_url, timeout=10)
        try:
            await admin.execute(
                await admin.fetchval("SELECT format('CREATE DATABASE %I', $1::text)", self.scratch)
            )
            self.say(f"created database {self.scratch}; pg_restore of {dump.name}")
            try:
                url, env = _libpq(with_database(self.server_url, self.scratch))
                pg_restore = str(self.options.pg_bin / "pg_restore") if self.options.pg_bin else "pg_restore"
                command = [
                    pg_restore,
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "-d",
                    url,
                    str(dump),
                ]
                await self._tool(command, stage="restore", env=env)
                self.say("restored; counting rows")
                self.stage = "count"
                conn = await asyncpg.connect(with_database(self.server_url, self.scratch), timeout=10)
                try:
                    restored = await runner.table_rows(conn)
                finally:
                    await conn.close()
                self._compare(await self._expected(self.run_id), restored, by_db=False)
            finally:
                await self._cleanup(functools.partial(self._drop_pg, admin))
        finally:
            await admin.close()

    async def _drop_pg(self, admin: asyncpg.Connection) -> None:
        drop = await admin.fetchval(
            "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', $1::text)", self.scratch
        )
        await admin.execute(drop)

    async def _cleanup(self, drop: Callable[[], Awaitable[Any]]) -> None:
        """Drop the scratch database or folder unless --keep; a failure's own stage stays recorded."""
        if self.options.keep:
            self.detail["kept"] = True
            self.say(f"kept {self.detail.get('database') or self.detail.get('folder')} (--keep)")
            return
        stage, self.stage = self.stage, "cleanup"
        await drop()
        self.detail["kept"] = False
        self.stage = stage

    # A MariaDB dump ------------------------------------------------------------------------------

    async def _mariadb(self) -> None:
        dump = self._file(".sql.gz")
        # The scratch name is ours ([a-z0-9_]); backquoted all the same.
        command, env = mariadb.client_command(
            self.server_url, f"CREATE DATABASE `{self.scratch}`", database=""
        )
        await self._tool(command, stage="prepare", env=env)
        try:
            self.say(f"created database {self.scratch}; loading {dump.name}")
            await self._load_mariadb(dump)
            self.say("restored; counting rows")
            command, env = mariadb.inventory_command(self.server_url, database=self.scratch)
            restored = mariadb.parse_inventory(await self._tool(command, stage="count", env=env))
            self._compare(await self._expected(self.run_id), restored, by_db=False)
        finally:
            drop = f"DROP DATABASE IF EXISTS `{self.scratch}`"
            command, env = mariadb.client_command(self.server_url, drop, database="")
            await self._cleanup(functools.partial(self._tool, command, stage="cleanup", env=env))

    async def _load_mariadb(self, dump: Path) -> None:
        """`gzip -dc dump | mariadb --database=scratch`: two processes joined by a pipe, no shell."""
        self.stage = "restore"
        options, env = mariadb.server(self.server_url)
        read_end, write_end = os.pipe()
        try:
            unzip = await asyncio.create_subprocess_exec(
                "gzip", "-dc", str(dump), stdout=write_end, stderr=asyncio.subprocess.PIPE
            )
            load = await asyncio.create_subprocess_exec(
                "mariadb", *options, f"--database={self.scratch}", stdin=read_end,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
            )  # fmt: skip
        finally:
            os.close(read_end)
            os.close(write_end)
        (_, unzip_err), (_, load_err) = await asyncio.gather(unzip.communicate(), load.communicate())
        for name, process, err in (("gzip", unzip, unzip_err), ("mariadb", load, load_err)):
            if process.returncode != 0:
                message = err.decode(errors="replace").strip()
                raise StageFailed("restore", f"{name} (exit {process.returncode}): {message}")

    # A snapshot ----------------------------------------------------------------------------------

    async def _snapshot(self) -> None:
        work = Path(tempfile.mkdtemp(prefix=f"dockyard-restore-{self.run_id}-", dir=self.options.work_dir))
        sockets = Path(tempfile.mkdtemp(prefix="dy-sock-"))  # short: a socket path holds ~100 bytes
        self.detail["folder"] = str(work)
        server: ScratchServer | None = None
        try:
            self.stage = "extract"
            self.say(f"extracting {' and '.join(TARS)} into {work}")
            await asyncio.to_thread(extract, self.location / "base.tar.gz", work / "data")
            await asyncio.to_thread(extract, self.location / "pg_wal.tar.gz", work / "data" / "pg_wal")
            others = sorted(p.name for p in self.location.glob("*.tar.gz") if p.name not in TARS)
            if others:
                raise StageFailed("extract", f"tablespaces ({', '.join(others)}) are not supported")
            self.stage = "start"
            server = ScratchServer(work, sockets, self.options)
            self.detail["postgresql"] = server.major
            self.say(f"starting PostgreSQL {server.major} (port {server.port}); waiting for recovery")
            await server.start(self._tool)
            self.stage = "recovery"
            await server.wait_for_recovery()
            self.stage = "count"
            restored: runner.Inventory = []
            for database in await server.databases():
                self.say(f"counting rows in {database}")
                restored.extend(await server.table_rows(database))
            await self._compare_snapshot(restored)
        finally:
            if server is not None and server.started:
                stage = self.stage
                try:
                    await server.stop(self._tool)
                except StageFailed as exc:  # noted; the test's own outcome (or failure) stays what it was
                    self.detail["cleanup_error"] = exc.message[-runner.STDERR_TAIL :]
                self.stage = stage
            shutil.rmtree(sockets, ignore_errors=True)
            await self._cleanup(functools.partial(asyncio.to_thread, shutil.rmtree, work, True))

    async def _compare_snapshot(self, restored: runner.Inventory) -> None:
        dump_id = await self.catalog.fetchval(
            """SELECT r.id FROM backups.runs r
            WHERE r.section = $1 AND r.datacenter = $2 AND r.type = 'dump' AND r.status = 'finished'
              AND r.started_at <= $3
              AND EXISTS (SELECT 1 FROM backups.objects o WHERE o.run_id = r.id AND o.rows IS NOT NULL)
            ORDER BY r.started_at DESC, r.id DESC LIMIT 1""",
            self.run_row["section"],
            self.run_row["datacenter"],
            self.run_row["started_at"],
        )
        self.detail["compared_with_run"] = dump_id
        if dump_id is not None:
            self._compare(await self._expected(dump_id), restored, by_db=True)
            return
        self.stage = "compare"
        self.detail["tables"] = [
            {"db": db, "name": name, "expected": None, "restored": rows} for db, name, _, rows in restored
        ]
        self.detail["mismatches"] = []
        self.detail["note"] = "no earlier dump of this section and datacenter records row counts: counts only"
        self.say(f"{len(restored)} table(s) counted; no earlier dump to compare them with")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """`url` without its password, and an environment that carries it (never a command line)."""
    parts = urlsplit(url)
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if parts.password is None:
        return url, env
    env["PGPASSWORD"] = unquote(parts.password)
    netloc = parts.netloc.replace(":" + parts.password + "@", "@", 1)
    return urlunsplit(parts._replace(netloc=netloc)), env
