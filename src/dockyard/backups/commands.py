"""`dockyard backups …`: the checks from the command line, with Nagios exit codes."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import typer

from dockyard.backups import checks
from dockyard.core.commands import CommandError, print_json, run_on_database

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
