"""`dockyard backups run-now` and `dockyard backups thresholds show|set`: what a DBA changes by hand.

They do what the API does (runnow.queue, thresholds.put) on DATABASE_URL, recorded as
`cli:<user>@<host>`, so the history says who changed what whichever way it was changed.
"""

from __future__ import annotations

import getpass
import os
import socket
from typing import Annotated, Any

import asyncpg
import typer
from rich.table import Table

from dockyard.backups import runnow, thresholds
from dockyard.core.commands import CommandError, print_json, run_on_database, stdout_console
from dockyard.core.errors import DockyardError

thresholds_app = typer.Typer(
    help="The check thresholds: show them with their history, or set those of a scope.", no_args_is_help=True
)


def operator() -> str:
    """Who is at the keyboard, as the history records it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"cli:{user}@{socket.gethostname()}"[:200]


def _type(value: str | None) -> str | None:
    if value not in (None, "dump", "snapshot"):
        raise typer.BadParameter(f"must be dump or snapshot, not {value!r}", param_hint="--type")
    return value


def run_now(
    section: Annotated[str, typer.Option(help="The section (e.g. s1).")],
    type_: Annotated[str, typer.Option("--type", help="dump or snapshot.")],
    datacenter: Annotated[str, typer.Option(help="The datacenter (e.g. eqiad).")],
) -> None:
    """Queue a run of a scheduled series, due now: the scheduler takes it on its next round."""
    _type(type_)

    async def work(conn: asyncpg.Connection) -> asyncpg.Record:
        schedule_id = await conn.fetchval(
            "SELECT id FROM backups.schedules WHERE (section, type, datacenter) = ($1, $2, $3)",
            section,
            type_,
            datacenter,
        )
        if schedule_id is None:
            raise CommandError(
                f"no schedule for the {type_} of {section} in {datacenter}; `dockyard backups run` "
                "takes a backup of an unscheduled series"
            )
        try:
            run_id = await runnow.queue(conn, schedule_id, requested_by=operator())
        except DockyardError as exc:
            raise CommandError(exc.detail) from exc
        row = await conn.fetchrow("SELECT id, scheduled_for, host FROM backups.runs WHERE id = $1", run_id)
        assert row is not None
        return row

    row = run_on_database(work)
    where = f" on {row['host']}" if row["host"] else ""
    typer.echo(
        f"run {row['id']} queued for {row['scheduled_for']:%Y-%m-%d %H:%M:%S} UTC: "
        f"the scheduler{where} starts it on its next round"
    )


def _cell(value: Any) -> str:
    if value is None:
        return "·"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _scope(row: dict[str, Any]) -> str:
    return " ".join(row[name] or "*" for name in ("section", "type", "datacenter"))


@thresholds_app.command("show")
def show(
    section: Annotated[str | None, typer.Option(help="This section's rows and the general ones.")] = None,
    history: Annotated[int, typer.Option(min=0, max=1000, help="Also the latest N changes.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every row of thresholds, most general first (· : inherited from a more general row)."""

    async def work(conn: asyncpg.Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        found = await thresholds.rows(conn, section=section)
        changes = await thresholds.history(conn, section=section, limit=history) if history else []
        return found, changes

    rows, changes = run_on_database(work)
    if as_json:
        print_json({"thresholds": rows, "history": changes} if history else rows)
        return
    table = Table("section type datacenter", *thresholds.FIELDS)
    for row in rows:
        table.add_row(_scope(row), *(_cell(row[name]) for name in thresholds.FIELDS))
    stdout_console().print(table)
    for change in changes:
        before, after = change["before"] or {}, change["after"] or {}
        moved = ", ".join(
            f"{name} {_cell(before.get(name))} → {_cell(after.get(name))}"
            for name in thresholds.FIELDS
            if before.get(name) != after.get(name)
        )
        stdout_console().print(
            f"{change['at']} {change['changed_by']} [{_scope(change)}]: {moved}",
            highlight=False,
            markup=False,
        )


@thresholds_app.command("set")
def set_(
    section: Annotated[str | None, typer.Option(help="The section (default: every section).")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="dump or snapshot (default: both).")] = None,
    datacenter: Annotated[str | None, typer.Option(help="The datacenter (default: every one).")] = None,
    freshness_s: Annotated[int | None, typer.Option(min=1, help=thresholds.FIELDS["freshness_s"])] = None,
    min_size: Annotated[int | None, typer.Option(min=0, help=thresholds.FIELDS["min_size"])] = None,
    warn_change_pct: Annotated[
        float | None, typer.Option(min=0, help=thresholds.FIELDS["warn_change_pct"])
    ] = None,
    crit_change_pct: Annotated[
        float | None, typer.Option(min=0, help=thresholds.FIELDS["crit_change_pct"])
    ] = None,
    max_duration_s: Annotated[
        int | None, typer.Option(min=1, help=thresholds.FIELDS["max_duration_s"])
    ] = None,
    heartbeat_grace_s: Annotated[
        int | None, typer.Option(min=1, help=thresholds.FIELDS["heartbeat_grace_s"])
    ] = None,
    schedule_grace_s: Annotated[
        int | None, typer.Option(min=1, help=thresholds.FIELDS["schedule_grace_s"])
    ] = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(help="Unset this threshold of the scope, so it is inherited (repeatable)."),
    ] = None,
) -> None:
    """Change the thresholds of a scope: those given are set, `--clear` ones unset, the others kept."""
    _type(type_)
    given = {
        "freshness_s": freshness_s,
        "min_size": min_size,
        "warn_change_pct": warn_change_pct,
        "crit_change_pct": crit_change_pct,
        "max_duration_s": max_duration_s,
        "heartbeat_grace_s": heartbeat_grace_s,
        "schedule_grace_s": schedule_grace_s,
    }
    unknown = sorted(set(clear or ()) - set(thresholds.FIELDS))
    if unknown:
        raise typer.BadParameter(
            f"{', '.join(unknown)}: not a threshold; use one of {', '.join(thresholds.FIELDS)}",
            param_hint="--clear",
        )
    if not clear and all(value is None for value in given.values()):
        raise typer.BadParameter("give at least one threshold to set (or --clear one)")
    try:
        wanted = thresholds.ThresholdsIn(section=section, type=type_, datacenter=datacenter)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        async with conn.transaction():
            current = await conn.fetchrow(
                f"{thresholds.ROW} WHERE {thresholds.SAME_SCOPE}",
                wanted.section,
                wanted.type,
                wanted.datacenter,
            )
            values = {name: current[name] if current else None for name in thresholds.FIELDS}
            values |= {name: value for name, value in given.items() if value is not None}
            values |= dict.fromkeys(clear or ())
            warn, crit = values["warn_change_pct"], values["crit_change_pct"]
            if warn is not None and crit is not None and warn > crit:
                raise CommandError(f"warn_change_pct ({warn:g}) must not be above crit_change_pct ({crit:g})")
            try:
                return await thresholds.put(
                    conn,
                    section=wanted.section,
                    type=wanted.type,
                    datacenter=wanted.datacenter,
                    values=values,
                    changed_by=operator(),
                )
            except DockyardError as exc:
                raise CommandError(exc.detail) from exc

    row = run_on_database(work)
    settings = ", ".join(f"{name} {_cell(row[name])}" for name in thresholds.FIELDS if row[name] is not None)
    typer.echo(f"thresholds of [{_scope(row)}]: {settings or 'none (the row is removed; all inherited)'}")
