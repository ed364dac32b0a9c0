"""`dockyard backups …`: the checks (Nagios exit codes), the runner, the catalog and restore tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dockyard.backups import checks, mariadb, restore, retention, runner, scheduler
from dockyard.backups.api import STATE, State
from dockyard.backups.settings import BackupsSettings
from dockyard.backups.tools import runs
from dockyard.backups.tools.source import Source, check_name
from dockyard.core.commands import CommandError, fail, print_json, run_on_database, run_with_database_url
from dockyard.core.config import get_settings

T = TypeVar("T")
backups_app = typer.Typer(
    help="Database backups: checks, taking a backup, the scheduler, retention, the catalog, restore tests.",
    no_args_is_help=True,
)
# Tables go to standard output; piped output is not cut at rich's default 80 columns.
out = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)


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
    type_: Annotated[str, typer.Option("--type", help="dump (logical) or snapshot (physical).")],
    datacenter: Annotated[str, typer.Option(help="The datacenter the backup belongs to.")],
    source_url: Annotated[
        str,
        typer.Option(
            envvar="BACKUPS_SOURCE_URL",
            help="What to back up: postgresql://…/db, or mariadb://user@host:3306/[db] (no database: the "
            "whole instance but the system databases; ?socket=/path for a socket); env BACKUPS_SOURCE_URL.",
        ),
    ],
    source_label: Annotated[
        str | None,
        typer.Option(help="How the catalog names the source (host[:port]); default: from the URL."),
    ] = None,
    dest: Annotated[
        Path | None,
        typer.Option(help="Where backups are written [default: BACKUPS_STORE, else DATA_DIR/backup-store]."),
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
        typer.Option("--tool-arg", help="An extra argument for the tool, e.g. --max-rate=50M, --threads=8."),
    ] = None,
    tool: Annotated[
        str | None,
        typer.Option(
            help="mydumper (default for MariaDB dumps), mariadb-dump, mariabackup (MariaDB snapshots); "
            "PostgreSQL: pg_dump, pg_basebackup."
        ),
    ] = None,
    database: Annotated[
        list[str] | None,
        typer.Option(help="MariaDB: back up this database (repeatable) instead of the URL's or all."),
    ] = None,
) -> None:
    """Back up a PostgreSQL or MariaDB source now, recording the run in the catalog.

    Exit 0 finished, 1 failed.
    """
    if type_ not in ("dump", "snapshot"):
        raise fail(f"--type must be dump or snapshot, not {type_!r}")
    if tool is not None and tool not in runs.NAMES:
        raise fail(f"--tool must be one of {', '.join(runs.NAMES)}, not {tool!r}")
    try:
        chosen = runs.choose(source_url, type_, tool)
        if database and not mariadb.is_mariadb(source_url):
            raise ValueError("--database is for MariaDB sources; a PostgreSQL URL names its database")
        if database and chosen == "mariadb-dump":
            raise ValueError(
                "mariadb-dump takes the one database of the URL; use --tool mydumper for --database"
            )
        label = Source.parse(source_url).label() if mariadb.is_mariadb(source_url) else None
        for name in database or ():
            check_name(name)
    except ValueError as exc:
        raise fail(str(exc)) from None
    get_settings.cache_clear()
    destination = dest or scheduler.options_from(get_settings(), BackupsSettings()).destination
    job = runner.Job(
        section=section,
        type=type_,
        datacenter=datacenter,
        source_url=source_url,
        destination=destination.resolve(),
        source_label=source_label or label or restore.server_label(source_url),
        pg_bin=pg_bin,
        heartbeat_s=heartbeat_s,
        extra_args=tuple(tool_arg or ()),
        tool=chosen,
        databases=tuple(database or ()),
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
    code = f" (exit {row['error_exit_code']})" if row["error_exit_code"] is not None else ""
    typer.echo(f"run {row['id']} failed at stage {row['error_stage']}{code}: {last[0]}", err=True)
    raise typer.Exit(1)


LIST = f"""SELECT * FROM (
    SELECT r.id, r.name, r.section, r.type, r.datacenter, r.source, r.host, r.status, {STATE} AS state,
           r.scheduled_for, r.started_at, r.ended_at,
           extract(epoch FROM coalesce(r.ended_at, now()) - r.started_at)::float8 AS duration_s,
           r.total_size, r.error_stage, r.error_exit_code, r.error_message, r.location
    FROM backups.runs r
    WHERE ($1::text[] IS NULL OR r.section = ANY($1)) AND ($2::text IS NULL OR r.type = $2)
      AND ($3::text IS NULL OR r.datacenter = $3)
      AND ($4::timestamptz IS NULL OR coalesce(r.started_at, r.scheduled_for) >= $4)
      AND ($5::timestamptz IS NULL OR coalesce(r.started_at, r.scheduled_for) < $5)
) runs
WHERE $6::text[] IS NULL OR state = ANY($6)
ORDER BY coalesce(started_at, scheduled_for) DESC, id DESC
LIMIT $7"""


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A date typed without a zone is UTC, as every time in the catalog."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _duration(row: dict[str, Any]) -> str:
    seconds = row["duration_s"]
    if seconds is None:
        return ""
    text = f"{seconds:.0f} s" if seconds < 120 else checks.human_duration(seconds)
    return text if row["ended_at"] else f"{text} so far"


@backups_app.command("list")
def list_runs(
    section: Annotated[list[str] | None, typer.Option(help="Only this section (repeatable).")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="dump or snapshot.")] = None,
    datacenter: Annotated[str | None, typer.Option(help="Only this datacenter.")] = None,
    status: Annotated[
        list[State] | None, typer.Option(help="Only runs in this state, stored or derived (repeatable).")
    ] = None,
    since: Annotated[
        dt.datetime | None, typer.Option(help="Started (or scheduled) at or after (UTC).")
    ] = None,
    until: Annotated[dt.datetime | None, typer.Option(help="Started (or scheduled) before (UTC).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many runs.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The runs of the catalog, newest first, with their state (stalled and missed included)."""
    if type_ not in (None, "dump", "snapshot"):
        raise fail(f"--type must be dump or snapshot, not {type_!r}", 2)
    states = [item.value for item in status] if status else None

    async def work(conn: asyncpg.Connection) -> list[dict[str, Any]]:
        found = await conn.fetch(LIST, section, type_, datacenter, _utc(since), _utc(until), states, limit)
        return [dict(row) for row in found]

    rows = run_on_database(work)
    if as_json:
        print_json(rows)
        return
    if not rows:
        filters: dict[str, Any] = {
            "section": ", ".join(section or []),
            "type": type_,
            "datacenter": datacenter,
        }
        filters |= {"status": ", ".join(states or []), "since": since, "until": until}
        said = "; ".join(f"{name} {value}" for name, value in filters.items() if value)
        typer.echo(f"No runs match {said}." if said else "The catalog holds no runs.")
        return
    table = Table("id", "name", "state", "started", "duration", "size", "error stage")
    for row in rows:
        started = row["started_at"] or row["scheduled_for"]
        size = row["total_size"]
        cells = (
            str(row["id"]),
            row["name"] or f"{row['type']}.{row['section']}",
            row["state"],
            started.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if started else "",
            _duration(row),
            checks.human_size(size) if size is not None else "",
            row["error_stage"] or "",
        )
        table.add_row(*(Text(cell) for cell in cells))  # Text: stored values are not rich markup
    out.print(table)
    out.print(f"{len(rows)} run(s), newest first", highlight=False)


def _on_catalog(work: Callable[[asyncpg.Connection, str], Awaitable[T]], *, fail_code: int) -> T:
    """`run_on_database`, with the catalog's URL too: restore tests default to its server."""

    async def on_catalog(url: str) -> T:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            return await work(conn, url)
        finally:
            await conn.close()

    return run_with_database_url(on_catalog, fail_code=fail_code)


def _progress(message: str) -> None:
    typer.echo(f"{dt.datetime.now(dt.UTC):%H:%M:%S} {message}", err=True)


@backups_app.command("restore-test")
def restore_test(
    run_id: Annotated[int, typer.Argument(min=1, help="The finished run whose backup to restore.")],
    target_url: Annotated[
        str | None,
        typer.Option(
            help="The server to restore a dump on (default: the catalog's); a MariaDB dump needs "
            "mariadb://user@host:3306/."
        ),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the scratch database (or snapshot folder) afterwards.")
    ] = False,
    pg_bin: Annotated[
        Path | None, typer.Option(envvar="PG_BIN", help="Folder of pg_restore, pg_ctl and postgres.")
    ] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="Where a snapshot is extracted (default: the temp folder).")
    ] = None,
    superuser: Annotated[str, typer.Option(help="A superuser of the snapshot's server.")] = "postgres",
    run_as: Annotated[
        str | None,
        typer.Option(
            help="The system user a snapshot's server runs as when run by root "
            "[default: postgres, or mysql for a mariabackup snapshot]."
        ),
    ] = None,
    timeout_s: Annotated[
        float, typer.Option(min=1, help="Seconds a snapshot's server may take to recover.")
    ] = 3600.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Restore a run's backup into scratch space and compare its row counts with those recorded.

    Exit 0 passed, 1 failed (the stage and the differences are recorded), 2 it could not start.
    """
    options = restore.Options(
        target_url=target_url,
        keep=keep,
        pg_bin=pg_bin,
        work_dir=work_dir,
        superuser=superuser,
        run_as=run_as,
        timeout_s=timeout_s,
        progress=_progress,
    )

    async def work(conn: asyncpg.Connection, catalog_url: str) -> restore.Outcome:
        try:
            return await restore.restore_test(conn, run_id, catalog_url=catalog_url, options=options)
        except restore.RestoreError as exc:
            raise CommandError(str(exc)) from exc

    outcome = _on_catalog(work, fail_code=2)
    if as_json:
        print_json({"id": outcome.test_id, "run_id": run_id, "passed": outcome.passed, **outcome.detail})
    else:
        typer.echo(_verdict(outcome))
    raise typer.Exit(0 if outcome.passed else 1)


def _verdict(outcome: restore.Outcome) -> str:
    what = f"restore test {outcome.test_id} of run {outcome.run_id}"
    detail = outcome.detail
    tables = len(detail.get("tables", []))
    if detail.get("mismatches"):
        differ = "; ".join(restore.describe(table) for table in detail["mismatches"][:10])
        return f"{what} failed: {len(detail['mismatches'])} of {tables} table(s) differ: {differ}"
    if "stage" in detail:
        last = (detail.get("error") or "").strip().splitlines()[-1:] or [""]
        return f"{what} failed at stage {detail['stage']}: {last[0]}"
    if detail.get("note"):
        return f"{what} passed: {tables} table(s) restored ({detail['note']})"
    return f"{what} passed: {tables} table(s) restored with the row counts recorded ({outcome.target})"


@backups_app.command("scheduler")
def run_scheduler(
    once: Annotated[
        bool, typer.Option(help="One round (plan, start due runs, housekeeping), then exit.")
    ] = False,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Backups at once [default: BACKUPS_CONCURRENCY, 2].")
    ] = None,
) -> None:
    """Plan the schedules and execute the due runs until stopped (Ctrl-C or SIGTERM stop cleanly).

    With --once: one round, waiting for the runs it started; exit 1 if one of them failed.
    """
    get_settings.cache_clear()
    settings = get_settings()
    options = scheduler.options_from(
        settings, BackupsSettings(), **({"concurrency": concurrency} if concurrency else {})
    )

    async def serve(url: str) -> list[asyncpg.Record]:
        async with asyncpg.create_pool(url, min_size=1, max_size=options.concurrency + 1) as pool:
            worker = scheduler.Scheduler(pool, options)
            if once:
                await worker.tick()
                run_ids = await asyncio.gather(*worker.running)
                return await pool.fetch(
                    "SELECT id, name, status, error_stage, error_message FROM backups.runs "
                    "WHERE id = ANY($1::bigint[]) ORDER BY id",
                    run_ids,
                )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            typer.echo(
                f"scheduler on {options.host}: every {options.interval_s:g} s, up to {options.concurrency} "
                f"backup(s) at once into {options.destination}",
                err=True,
            )
            await worker.serve(stop)
            return []

    runs = run_with_database_url(serve)
    if once:
        typer.echo(f"one round: schedules planned, {len(runs)} due run(s) executed")
        for run in runs:
            failure = (
                f" at stage {run['error_stage']}: {run['error_message']}" if run["status"] == "failed" else ""
            )
            typer.echo(f"run {run['id']} {run['name']}: {run['status']}{failure}")
        if any(run["status"] == "failed" for run in runs):
            raise typer.Exit(1)


@backups_app.command("purge")
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would expire.")] = False,
) -> None:
    """Apply retention now: expire the runs past the policy and delete their files from BACKUPS_STORE."""
    get_settings.cache_clear()
    options = scheduler.options_from(get_settings(), BackupsSettings())

    async def work(conn: asyncpg.Connection) -> list[retention.Expired] | list[int]:
        if dry_run:
            return await retention.due(conn)
        return await retention.apply(conn, host=options.host, store=options.destination)

    found = run_on_database(work)
    if not found:
        typer.echo("nothing to expire: every run is within its retention policy")
        return
    for item in found:
        if isinstance(item, int):
            typer.echo(f"run {item} would expire")
        else:
            typer.echo(
                f"run {item.run_id} expired ({item.series}, {item.name or 'unnamed'}): files {item.files}"
            )
