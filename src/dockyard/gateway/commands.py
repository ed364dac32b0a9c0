"""`dockyard gateway …`: grants, effective rights and the audit log from the command line."""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Annotated, Any

import asyncpg
import orjson
import typer

from dockyard.core.commands import CommandError, print_json, run_on_database
from dockyard.gateway import queries
from dockyard.gateway.rights import Level, is_name, is_pattern
from dockyard.gateway.service import effective_rights
from dockyard.gateway.settings import GatewaySettings

gateway_app = typer.Typer(help="The Lbasedb gateway: grants, rights and the audit log.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: show it (default) or purge old records.")
gateway_app.add_typer(audit_app, name="audit")

LEVELS = [level.label for level in Level if level is not Level.NONE]


def _actor() -> dict[str, Any]:
    return {"user_id": None, "token_id": None, "client": f"cli:{getpass.getuser()}", "request_id": None}


async def _user_id(conn: asyncpg.Connection, user: str) -> int:
    if user.isdigit():
        found = await conn.fetchval("SELECT id FROM accounts.users WHERE id = $1", int(user))
    else:
        found = await conn.fetchval("SELECT id FROM accounts.users WHERE lower(email) = lower($1)", user)
    if found is None:
        raise CommandError(f"no user {user!r} (give an email or an id)")
    return int(found)


async def _group_id(conn: asyncpg.Connection, group: str) -> int:
    found = await conn.fetchval("SELECT id FROM accounts.groups WHERE name = $1", group)
    if found is None:
        raise CommandError(f"no group named {group!r}")
    return int(found)


def _subject(user: str | None, group: str | None) -> None:
    if (user is None) == (group is None):
        raise typer.BadParameter("give exactly one of --user and --group")


UserOption = Annotated[str | None, typer.Option(help="The user: an email or an id.")]
GroupOption = Annotated[str | None, typer.Option(help="The group's name.")]


@gateway_app.command()
def grant(
    feed: Annotated[str, typer.Option(help="An exact feed name, a dotted prefix (sensors.*) or *.")],
    level: Annotated[str, typer.Option(help="read, append, write or admin.")],
    user: UserOption = None,
    group: GroupOption = None,
    columns: Annotated[
        str | None, typer.Option(help="Comma-separated columns the grant is limited to (default: all).")
    ] = None,
) -> None:
    """Give a user or a group LEVEL on FEED (a grant at the same level is updated); prints the grant."""
    _subject(user, group)
    if not is_pattern(feed):
        raise typer.BadParameter("--feed must be a feed name, a dotted prefix like sensors.* or *")
    if level not in LEVELS:
        raise typer.BadParameter(f"--level must be one of {', '.join(LEVELS)}")
    column_list = [name.strip() for name in columns.split(",")] if columns is not None else None
    if column_list is not None and not all(is_name(name) for name in column_list):
        raise typer.BadParameter("--columns must be Lbasedb column names separated by commas")

    async def work(conn: asyncpg.Connection) -> str:
        user_id = await _user_id(conn, user) if user else None
        group_id = await _group_id(conn, group) if group else None
        async with conn.transaction():
            existing = await conn.fetchval(
                "SELECT id FROM gateway.grants WHERE user_id IS NOT DISTINCT FROM $1 "
                "AND group_id IS NOT DISTINCT FROM $2 AND feed = $3 AND level = $4::gateway.level",
                user_id,
                group_id,
                feed,
                level,
            )
            if existing is not None:
                text = await queries.update_grant(
                    conn, existing, actor=_actor(), level=None, set_columns=True, columns=column_list
                )
                assert text is not None
                return text
            return await queries.create_grant(
                conn,
                actor=_actor(),
                user_id=user_id,
                group_id=group_id,
                feed=feed,
                level=level,
                columns=column_list,
            )

    print_json(orjson.loads(run_on_database(work)))


@gateway_app.command()
def revoke(
    grant_id: Annotated[int | None, typer.Argument(help="The grant's id (or select by the options).")] = None,
    user: UserOption = None,
    group: GroupOption = None,
    feed: Annotated[str | None, typer.Option(help="The grant's exact feed pattern.")] = None,
    level: Annotated[str | None, typer.Option(help="Only the grant at this level.")] = None,
) -> None:
    """Delete a grant by id, or a subject's grants on a feed pattern; prints how many went."""
    if grant_id is None:
        _subject(user, group)
        if feed is None:
            raise typer.BadParameter("give a grant id, or --feed with --user or --group")

    async def work(conn: asyncpg.Connection) -> int:
        async with conn.transaction():
            if grant_id is not None:
                ids = [grant_id]
            else:
                user_id = await _user_id(conn, user) if user else None
                group_id = await _group_id(conn, group) if group else None
                ids = [
                    row["id"]
                    for row in await conn.fetch(
                        "SELECT id FROM gateway.grants WHERE user_id IS NOT DISTINCT FROM $1 "
                        "AND group_id IS NOT DISTINCT FROM $2 AND feed = $3 "
                        "AND ($4::text IS NULL OR level::text = $4)",
                        user_id,
                        group_id,
                        feed,
                        level,
                    )
                ]
            deleted = 0
            for one in ids:
                deleted += await queries.delete_grant(conn, one, actor=_actor())
            return deleted

    deleted = run_on_database(work)
    typer.echo(f"{deleted} grant(s) deleted")
    if deleted == 0:
        raise typer.Exit(1)


@gateway_app.command()
def rights(
    user: Annotated[str, typer.Option(help="The user: an email or an id.")],
    feed: Annotated[str | None, typer.Option(help="Resolve the rights on this feed.")] = None,
) -> None:
    """A user's grants (own and through groups) and, with --feed, the levels they give there (JSON)."""
    if feed is not None and not is_name(feed):
        raise typer.BadParameter("--feed must be an Lbasedb feed name")

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        user_id = await _user_id(conn, user)
        superuser = await queries.user_superuser(conn, user_id)
        sources = orjson.loads(await queries.rights_grants_json(conn, user_id, feed=feed))
        return effective_rights(user_id, bool(superuser), feed, sources)

    print_json(run_on_database(work))


@audit_app.callback(invoke_without_command=True)
def audit(
    ctx: typer.Context,
    user: UserOption = None,
    feed: Annotated[str | None, typer.Option(help="Only this feed.")] = None,
    decision: Annotated[str | None, typer.Option(help="allow or deny.")] = None,
    since: Annotated[dt.datetime | None, typer.Option(help="From this time (UTC unless given).")] = None,
    until: Annotated[dt.datetime | None, typer.Option(help="Before this time.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """Show the audit log, newest first (JSON: `count` matching, `results`)."""
    if ctx.invoked_subcommand is not None:
        return
    if decision not in (None, "allow", "deny"):
        raise typer.BadParameter("--decision must be allow or deny")

    async def work(conn: asyncpg.Connection) -> Any:
        user_id = await _user_id(conn, user) if user else None
        text = await queries.list_audit(
            conn,
            user_id=user_id,
            feed=feed,
            decision=decision,
            since=_utc(since),
            until=_utc(until),
            limit=limit,
            offset=0,
        )
        return orjson.loads(text)

    print_json(run_on_database(work))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


@audit_app.command()
def purge(
    older_than_days: Annotated[
        int | None, typer.Option(min=1, help="Age in days [default: GATEWAY_AUDIT_RETENTION_DAYS].")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would go.")] = False,
) -> None:
    """Delete audit records older than the retention age (run it daily, e.g. from cron)."""
    days = older_than_days or GatewaySettings().audit_retention_days

    async def work(conn: asyncpg.Connection) -> int:
        return await queries.purge_audit(conn, older_than_days=days, dry_run=dry_run)

    count = run_on_database(work)
    verb = "would be deleted" if dry_run else "deleted"
    typer.echo(f"{count} audit record(s) older than {days} day(s) {verb}")
