"""Restore tests of mydumper dumps and mariabackup snapshots (the rest of the test is restore.py's).

- mydumper: each database of the dump is loaded by myloader into a scratch database of its own on
  `--target-url`'s MariaDB (`dockyard_restore_<run>_<random>_<n>`), and every table's rows are
  compared with those recorded at backup time;
- mariabackup: the tarball is extracted into a temporary folder, prepared again (a no-op on a
  prepared copy, an error on a damaged one), and a private mariadbd (tools/server.py) started on
  it; its tables' rows are compared with those recorded at backup time.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.backups import mariadb
from dockyard.backups.scratch import StageFailed, extract
from dockyard.backups.tools import inventory, mariabackup, mydumper
from dockyard.backups.tools.server import PrivateServer, ServerError
from dockyard.backups.tools.source import Source, option_file

if TYPE_CHECKING:
    from dockyard.backups.restore import _Test

SCHEMA_CREATE = "-schema-create.sql"


def dumped_databases(test: _Test) -> list[str]:
    """The databases a mydumper dump holds (one `<db>-schema-create.sql[.gz]` file each)."""
    found = {
        row["name"].split(SCHEMA_CREATE)[0]
        for row in test.files
        if not row["path"] and SCHEMA_CREATE in row["name"]
    }
    return sorted(found)


async def restore_mydumper(test: _Test) -> None:
    """myloader every database of the dump into a scratch database, count, compare."""
    source = Source.parse(test.server_url)
    databases = dumped_databases(test)
    if not databases:
        raise StageFailed("files", "the dump holds no <db>-schema-create.sql file: no database to restore")
    scratch = {db: f"{test.scratch}_{n}" for n, db in enumerate(databases, 1)}
    test.detail["databases"] = scratch
    with option_file(source) as defaults:

        async def sql(statement: str, *, stage: str) -> str:
            return await test._tool(
                inventory.client_command(source, statement, defaults=defaults), stage=stage
            )

        created: list[str] = []
        try:
            for name in scratch.values():  # our names ([a-z0-9_]), backquoted all the same
                await sql(f"CREATE DATABASE `{name}`", stage="prepare")
                created.append(name)
            for db, name in scratch.items():
                test.say(f"myloader {db} into {name}")
                await test._tool(
                    mydumper.load_command(source, test.location, db, name, defaults=defaults), stage="restore"
                )
            test.say("restored; counting rows")
            out = await sql(inventory.table_rows_sql(tuple(scratch.values())), stage="count")
            original = {name: db for db, name in scratch.items()}
            restored = [
                (original[db], table, size, rows) for db, table, size, rows in mariadb.parse_inventory(out)
            ]
            test._compare(await test._expected(test.run_id), restored, by_db=True)
        finally:
            if created:
                drop = "; ".join(f"DROP DATABASE IF EXISTS `{name}`" for name in created)
                await test._cleanup(functools.partial(sql, drop, stage="cleanup"))


async def restore_mariabackup(test: _Test) -> None:
    """Extract and prepare the snapshot, start a private mariadbd on it, count, compare."""
    tarball = test._file(".tar.gz")
    # Short: a socket path holds ~100 bytes. As root, the server's user is given the folder.
    work = Path(
        await asyncio.to_thread(tempfile.mkdtemp, prefix=f"dy-mdb-{test.run_id}-", dir=test.options.work_dir)
    )
    test.detail["folder"] = str(work)
    server: PrivateServer | None = None
    try:
        test.stage = "extract"
        test.say(f"extracting {tarball.name} into {work}")
        await asyncio.to_thread(extract, tarball, work / "data")
        await test._tool(mariabackup.prepare_command(work / "data"), stage="prepare")
        test.stage = "start"
        try:
            server = PrivateServer(work / "data", work, user=test.options.run_as)
            test.say(f"starting mariadbd on {work / 'data'} (socket {server.socket})")
            await server.start(timeout_s=test.options.timeout_s)
        except ServerError as exc:
            raise StageFailed("start", str(exc)) from exc
        local = Source("localhost", 3306, None, None, str(server.socket), None)
        expected = await test._expected(test.run_id)
        databases = tuple(sorted({row["db"] for row in expected}))
        if not databases:
            listed = await test._tool(
                inventory.client_command(local, inventory.databases_sql(), defaults=None), stage="count"
            )
            databases = tuple(name for name in listed.split("\n") if name)
        test.stage = "count"
        restored: list[tuple[str, str, int, int | None]] = []
        if databases:
            counting = inventory.client_command(local, inventory.table_rows_sql(databases), defaults=None)
            restored = mariadb.parse_inventory(await test._tool(counting, stage="count"))
        test._compare(expected, restored, by_db=True)
    finally:
        if server is not None:
            await server.stop()
        await test._cleanup(functools.partial(asyncio.to_thread, shutil.rmtree, work, True))
