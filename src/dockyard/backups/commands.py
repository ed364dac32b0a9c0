"""`dockyard backups …`: the checks from the command line, with Nagios exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import asyncpg
import typer

from dockyard.backups import checks, mariadb, runner
from dockyard.core.commands import CommandError, fail, print_json, run_on_database
from dockyard.core.config import get_settings

backups_app = typer.Typer(
    help="Database backups: checks (runner and catalog commands to follow).", no_args_is_help=True
)


@backups_app.command("check")
def check(
    section: Annotated[str | None, typer.Option(help="Only this section (e.g. s1).")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="dump or snapshot.")] = None,
    datacenter: Annotated[str | None, typer.Option(help="Only this datacenter (e.g. eqiad).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Check the backups; one line per series, worst first. Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
    if type_ not in (None, "dump", "snapshot"):
        typer.echo(f"UNKNOWN: --type must be dump or snapshot, not {type_!r}")
        raise typer.Exit(checks.Status.UNKNOWN)

    async def work(conn: asyncpg.Connection) -> list[checks.Result]:
        results = await checks.check(conn, section=section, type=type_, datacenter=datacenter)
        if not results:
            what = " ".join(part for part in (type_, section, datacenter) if part) or "any series"
            raise CommandError(f"no backups are scheduled, configured or recorded for {what}")
        return results

    results = run_on_database(work, fail_code=checks.Status.UNKNOWN)
    results.sort(key=lambda result: -result.status)
    if as_json:
        print_json([result.as_json() for result in results])
    else:
        for result in results:
            typer.echo(result.nagios_line())
    raise typer.Exit(max(result.status for result in results))


@backups_app.command("run")
def run_backup(
    section: Annotated[str, typer.Option(help="The section (what is backed up, e.g. s1).")],
    type_: Annotated[str, typer.Option("--type", help="dump (pg_dump -Fc) or snapshot (pg_basebackup).")],
    datacenter: Annotated[str, typer.Option(help="The datacenter the backup belongs to.")],
    source_url: Annotated[
        str,
        typer.Option(
            envvar="BACKUPS_SOURCE_URL", help="The PostgreSQL to back up (a URL; env BACKUPS_SOURCE_URL)."
        ),
    ],
    source_label: Annotated[
        str | None,
        typer.Option(help="How the catalog names the source (host[:port]); default: from the URL."),
    ] = None,
    dest: Annotated[
        Path | None, typer.Option(help="Where backups are written [default: DATA_DIR/backup-store].")
    ] = None,
    pg_bin: Annotated[
        Path | None, typer.Option(envvar="PG_BIN", help="Folder of pg_dump/pg_basebackup.")
    ] = None,
    run_id: Annotated[
        int | None, typer.Option(help="Execute this scheduled run instead of a new one.")
    ] = None,
    heartbeat_s: Annotated[float, typer.Option(min=0.05, help="Seconds between heartbeats.")] = 10.0,
    tool_arg: Annotated[
        list[str] | None,
        typer.Option("--tool-arg", help="An extra argument for pg_dump/pg_basebackup, e.g. --max-rate=50M."),
    ] = None,
) -> None:
    """Back up a PostgreSQL source now, recording the run in the catalog. Exit 0 finished, 1 failed."""
    if type_ not in ("dump", "snapshot"):
        raise fail(f"--type must be dump or snapshot, not {type_!r}")
    if type_ == "snapshot" and mariadb.is_mariadb(source_url):
        raise fail(
            "MariaDB sources are backed up with --type dump (mariadb-dump); snapshots are PostgreSQL only"
        )
    get_settings.cache_clear()
    destination = dest or get_settings().data_dir / "backup-store"
    job = runner.Job(
        section=section,
        type=type_,
        datacenter=datacenter,
        source_url=source_url,
        destination=destination.resolve(),
        source_label=source_label or _label(source_url),
        pg_bin=pg_bin,
        heartbeat_s=heartbeat_s,
        extra_args=tuple(tool_arg or ()),
    )

    async def work(conn: asyncpg.Connection) -> asyncpg.Record:
        try:
            done = await runner.run(conn, job, run_id)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        row = await conn.fetchrow(
            "SELECT id, name, status, total_size, error_stage, error_exit_code, error_message "
            "FROM backups.runs WHERE id = $1",
            done,
        )
        assert row is not None
        return row

    row = run_on_database(work)
    if row["status"] == "finished":
        typer.echo(f"run {row['id']} finished: {row['name']} ({checks.human_size(row['total_size'] or 0)})")
        return
    last = (row["error_message"] or "").strip().splitlines()[-1:] or [""]
    typer.echo(
        f"run {row['id']} failed at stage {row['error_stage']} (exit {row['error_exit_code']}): {last[0]}",
        err=True,
    )
    raise typer.Exit(1)


def _label(url: str) -> str:
    """`postgresql://user:secret@db1.example:5433/x` → `db1.example:5433`: never the credentials."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{host}:{parts.port}" if parts.port else host
