"""`dockyard backups …`: the checks (Nagios exit codes), the runner, the catalog and restore tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from rich.table import Table
from rich.text import Text

from dockyard.backups import (
    alerts,
    checks,
    mariadb,
    messages,
    nagios,
    operations,
    restore,
    retention,
    runner,
    scheduler,
)
from dockyard.backups.api import STATE, State
from dockyard.backups.settings import BackupsSettings
from dockyard.backups.tools import runs
from dockyard.backups.tools.source import Source, check_name
from dockyard.core.commands import (
    CommandError,
    database_failure,
    fail,
    print_json,
    run_on_database,
    run_with_database_url,
    stdout_console,
)
from dockyard.core.config import get_settings
from dockyard.core.scripts import database_target

T = TypeVar("T")
backups_app = typer.Typer(
    help="Database backups: checks, taking a backup, the scheduler, retention, the catalog, restore tests.",
    no_args_is_help=True,
)


def _unknown(message: str) -> typer.Exit:
    """Print `UNKNOWN: message` on standard output (as Icinga reads it); the Exit to raise."""
    typer.echo(f"UNKNOWN: {' '.join(message.split())}")
    return typer.Exit(checks.Status.UNKNOWN)


def _checked(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run `work` on DATABASE_URL; any failure is an UNKNOWN status line, never a traceback."""
    try:
        get_settings.cache_clear()
        settings = get_settings()
        with database_target(settings) as target:

            async def on_connection() -> T:
                # The planner settings of the app's pools: JIT costs more than these queries save.
                options = {"jit": "off", "random_page_cost": str(settings.db_random_page_cost)}
                conn = await asyncpg.connect(target.url, timeout=10, server_settings=options)
                try:
                    return await work(conn)
                finally:
                    await conn.close()

            return asyncio.run(on_connection())
    except CommandError as exc:
        raise _unknown(str(exc)) from exc
    except Exception as exc:
        raise _unknown(database_failure(exc) or f"{type(exc).__name__}: {exc}") from exc


@backups_app.command("check")
def check(
    section: Annotated[str | None, typer.Option(help="Only this section (e.g. s1).")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="dump or snapshot.")] = None,
    datacenter: Annotated[str | None, typer.Option(help="Only this datacenter (e.g. eqiad).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    perfdata: Annotated[
        bool, typer.Option("--perfdata", help="Add age, size and duration performance data after a |.")
    ] = False,
    respect_acks: Annotated[
        bool,
        typer.Option(
            "--respect-acks",
            help="Acknowledged and silenced alerts no longer raise the exit code (they are still listed).",
        ),
    ] = False,
) -> None:
    """Check the backups as a Nagios/Icinga plugin: a status line with the worst problem, then every
    problem (long output). Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
    if type_ not in (None, "dump", "snapshot"):
        raise _unknown(f"--type must be dump or snapshot, not {type_!r}")

    async def work(conn: asyncpg.Connection) -> tuple[list[checks.Result], alerts.Handled]:
        results = await checks.check(conn, section=section, type=type_, datacenter=datacenter)
        if not results:
            what = " ".join(part for part in (type_, section, datacenter) if part) or "any series"
            raise CommandError(f"no backups are scheduled, configured or recorded for {what}")
        if not respect_acks:
            return results, {}
        return results, await alerts.handled(conn, section=section, type=type_, datacenter=datacenter)

    results, handled = _checked(work)
    results.sort(key=lambda result: -result.status)
    done = nagios.report(results, handled=handled, perfdata=perfdata)
    if as_json:
        found = [result.as_json() for result in results]
        for result, shown in zip(results, found, strict=True):
            for problem in shown["problems"]:
                key = (result.section, result.type, result.datacenter, problem["rule"])
                problem["handled"] = handled.get(key)
        print_json(found)
    else:
        typer.echo(done.text)
    raise typer.Exit(done.status)


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

    Exit 0 finished, 1 failed; SIGTERM or Ctrl-C stop the tool and record the run interrupted (exit
    128 + the signal: 143, 130).
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

    stopped_by: list[signal.Signals] = []

    async def work(conn: asyncpg.Connection) -> asyncpg.Record:
        # SIGTERM or Ctrl-C: stop the tool's process group, record the run `interrupted`, exit non-zero.
        loop = asyncio.get_running_loop()
        try:
            started = await runner.start(conn, job, run_id)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        taking = asyncio.ensure_future(runner.execute(conn, job, *started))

        def stop(signum: signal.Signals) -> None:
            if not stopped_by:
                stopped_by.append(signum)
                taking.cancel(signum.name)

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop, signum)
        try:
            await taking
        except asyncio.CancelledError:
            if not stopped_by:
                raise
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        row = await conn.fetchrow(
            "SELECT id, name, status, total_size, error_stage, error_exit_code, error_message "
            "FROM backups.runs WHERE id = $1",
            started[0],
        )
        assert row is not None
        return row

    row = run_on_database(work)
    if row["status"] == "finished":
        typer.echo(f"run {row['id']} finished: {row['name']} ({checks.human_size(row['total_size'] or 0)})")
        return
    code = f" (exit {row['error_exit_code']})" if row["error_exit_code"] is not None else ""
    said = messages.headline(row["error_message"])
    typer.echo(f"run {row['id']} {row['status']} at stage {row['error_stage']}{code}: {said}", err=True)
    raise typer.Exit(128 + stopped_by[0] if stopped_by else 1)


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


RECENT_DAYS = 7  # what `backups list` shows by default


@backups_app.command("list")
def list_runs(
    section: Annotated[list[str] | None, typer.Option(help="Only this section (repeatable).")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="dump or snapshot.")] = None,
    datacenter: Annotated[str | None, typer.Option(help="Only this datacenter.")] = None,
    status: Annotated[
        list[State] | None, typer.Option(help="Only runs in this state, stored or derived (repeatable).")
    ] = None,
    since: Annotated[
        dt.datetime | None,
        typer.Option(help=f"Started (or scheduled) at or after (UTC) [default: {RECENT_DAYS} days ago]."),
    ] = None,
    until: Annotated[dt.datetime | None, typer.Option(help="Started (or scheduled) before (UTC).")] = None,
    every: Annotated[bool, typer.Option("--all", help="Runs of any age (no default --since).")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many runs.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The recent runs of the catalog (the last 7 days unless --since or --all), newest first, with
    their state (stalled and missed included)."""
    if type_ not in (None, "dump", "snapshot"):
        raise fail(f"--type must be dump or snapshot, not {type_!r}", 2)
    if every and since is not None:
        raise fail("--all and --since contradict each other; give one", 2)
    if since is None and not every:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=RECENT_DAYS)
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
        shown = f"{since:%Y-%m-%d %H:%M} UTC" if since else None
        filters |= {"status": ", ".join(states or []), "since": shown, "until": until}
        said = "; ".join(f"{name} {value}" for name, value in filters.items() if value)
        hint = "" if every else " (--all for older runs)"
        typer.echo(f"No runs match {said}{hint}." if said else "The catalog holds no runs.")
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
    stdout_console().print(table)
    window = "" if every or since is None else f" since {since:%Y-%m-%d %H:%M} UTC"
    stdout_console().print(f"{len(rows)} run(s){window}, newest first", highlight=False)


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
                f" at stage {run['error_stage']}: {run['error_message']}"
                if run["status"] in ("failed", "interrupted")
                else ""
            )
            typer.echo(f"run {run['id']} {run['name']}: {run['status']}{failure}")
        if any(run["status"] in ("failed", "interrupted") for run in runs):
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


backups_app.command("run-now")(operations.run_now)
backups_app.add_typer(operations.thresholds_app, name="thresholds")
