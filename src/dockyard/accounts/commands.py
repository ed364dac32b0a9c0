"""`dockyard user …`, `dockyard group …` and `dockyard mail …`: accounts administration.

Options are parsed and results printed here; the work is in `accounts.manage`. Each command acts on
DATABASE_URL, or on the embedded database under DATA_DIR (started, or joined when `make run` has it).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from dockyard.accounts import manage
from dockyard.core.commands import fail, print_json, run_on_database, stdout_console

T = TypeVar("T")
# Results go to standard output, errors (core.scripts.console) to standard error. Piped output is
# not cut at rich's default 80 columns: a table read in a pager or a log keeps every column.

user_app = typer.Typer(help="Accounts: superusers, group membership, listing.", no_args_is_help=True)
group_app = typer.Typer(help="Groups and the permissions they hold.", no_args_is_help=True)
mail_app = typer.Typer(
    help="The mail outbox (where mail waits when SMTP is not configured).", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _when(value: dt.datetime | None) -> str:
    return "—" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _add_row(table: Table, *cells: str) -> None:
    table.add_row(*(Text(cell) for cell in cells))  # Text: stored values are not rich markup


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise fail("--password-stdin was given but standard input is empty")
        return line.rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _checked(check: Callable[[str], T], value: str) -> T:
    try:
        return check(value)
    except manage.ManageError as exc:
        raise fail(str(exc)) from exc


@user_app.command("create-superuser")
def create_superuser(
    email: Annotated[str, typer.Option(help="The account's email address.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of standard input."),
    ] = False,
    display_name: Annotated[str, typer.Option(help="The name shown for the account.")] = "",
    reset_password: Annotated[
        bool, typer.Option("--reset-password", help="For an existing account: replace its password too.")
    ] = False,
) -> None:
    """Create a verified superuser, or promote an existing account (password kept unless --reset-password)."""
    email = _checked(manage.check_email, email)
    if len(display_name) > 200:
        raise fail("--display-name must be at most 200 characters")

    async def work(conn: asyncpg.Connection) -> tuple[int, bool]:
        existing = await manage.find_user(conn, email)
        password = None
        # An existing account is only promoted unless asked otherwise; a piped password for it
        # is still read, so that manage refuses it rather than it being silently ignored.
        if existing is None or reset_password or password_stdin:
            password = _read_password(password_stdin)
            try:
                manage.check_password(password, email=email, display_name=display_name)
            except manage.ManageError as exc:
                raise fail(str(exc)) from exc
        return await manage.create_superuser(
            conn, email=email, password=password, display_name=display_name, reset_password=reset_password
        )

    user_id, created = run_on_database(work)
    what = "created superuser" if created else "made superuser"
    stdout_console().print(
        f"{what} {email} (id {user_id}); it can log in at /accounts/v1/login", highlight=False, markup=False
    )


@user_app.command("deactivate")
def deactivate(email: Annotated[str, typer.Option(help="The account's email address.")]) -> None:
    """Deactivate an account: its sessions end and its API tokens are revoked for good (never the
    last active superuser)."""
    changed = run_on_database(lambda conn: manage.set_active(conn, email=email, active=False))
    stdout_console().print(
        f"{email} {'deactivated' if changed else 'was already inactive'}", highlight=False, markup=False
    )


@user_app.command("activate")
def activate(email: Annotated[str, typer.Option(help="The account's email address.")]) -> None:
    """Reactivate an account (its old sessions and API tokens stay revoked)."""
    changed = run_on_database(lambda conn: manage.set_active(conn, email=email, active=True))
    stdout_console().print(
        f"{email} {'activated' if changed else 'was already active'}", highlight=False, markup=False
    )


@user_app.command("demote")
def demote(email: Annotated[str, typer.Option(help="The account's email address.")]) -> None:
    """Take superuser status away from an account (never from the last active superuser)."""
    changed = run_on_database(lambda conn: manage.demote(conn, email=email))
    stdout_console().print(
        f"{email} {'is no longer a superuser' if changed else 'was not a superuser'}",
        highlight=False,
        markup=False,
    )


@user_app.command("add-to-group")
def add_to_group(
    email: Annotated[str, typer.Option(help="The account's email address.")],
    group: Annotated[str, typer.Option(help="The group's name.")],
) -> None:
    """Add an account to a group (its permissions apply from the next request)."""
    added = run_on_database(lambda conn: manage.add_to_group(conn, email=email, group=group))
    stdout_console().print(
        f"{email} {'added to' if added else 'was already in'} {group}", highlight=False, markup=False
    )


@user_app.command("remove-from-group")
def remove_from_group(
    email: Annotated[str, typer.Option(help="The account's email address.")],
    group: Annotated[str, typer.Option(help="The group's name.")],
) -> None:
    """Take an account out of a group."""
    removed = run_on_database(lambda conn: manage.remove_from_group(conn, email=email, group=group))
    stdout_console().print(
        f"{email} {'removed from' if removed else 'was not in'} {group}", highlight=False, markup=False
    )


@user_app.command("list")
def list_users(
    search: Annotated[str | None, typer.Option(help="Part of the email, username or name.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many accounts.")] = 200,
    as_json: JsonOption = False,
) -> None:
    """Accounts (not deleted ones), oldest first."""
    rows = run_on_database(lambda conn: manage.list_users(conn, search=search, limit=limit))
    if as_json:
        print_json(rows)
        return
    table = Table("id", "email", "name", "active", "superuser", "verified", "groups", "last login")
    # Addresses are what people copy from this table: never cut one short, whatever the width.
    table.columns[1].min_width = min(max((len(row["email"]) for row in rows), default=5), 80)
    for row in rows:
        _add_row(
            table,
            str(row["id"]),
            row["email"],
            row["display_name"],
            _yes(row["is_active"]),
            _yes(row["is_superuser"]),
            _yes(row["verified"]),
            ", ".join(row["groups"]),
            _when(row["last_login_at"]),
        )
    stdout_console().print(table)
    stdout_console().print(f"{len(rows)} account(s)")


@group_app.command("create")
def create_group(
    name: Annotated[str, typer.Argument(help="The group's name.")],
    perm: Annotated[
        list[str] | None,
        typer.Option("--perm", help="A permission codename, e.g. backups.view (repeatable)."),
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the group is for.")] = None,
    update: Annotated[
        bool, typer.Option("--update", help="If the group exists, give it exactly these permissions.")
    ] = False,
) -> None:
    """Create a group holding the given permissions (--update: set them on an existing group)."""
    if description is not None and len(description) > 500:
        raise fail("--description must be at most 500 characters")
    permissions = sorted(set(perm or []))
    created = run_on_database(
        lambda conn: manage.create_group(
            conn, name=name, permissions=permissions, description=description, update=update
        )
    )
    held = ", ".join(permissions) or "no permissions"
    stdout_console().print(
        f"{'created' if created else 'updated'} group {name} with {held}", highlight=False, markup=False
    )


@group_app.command("list")
def list_groups(as_json: JsonOption = False) -> None:
    """Groups with their permissions and member counts."""
    rows = run_on_database(manage.list_groups)
    if as_json:
        print_json(rows)
        return
    table = Table("group", "permissions", "members", "description")
    for row in rows:
        _add_row(table, row["name"], ", ".join(row["permissions"]), str(row["members"]), row["description"])
    stdout_console().print(table)


@mail_app.command("list")
def list_mail(
    to: Annotated[str | None, typer.Option(help="Only mail to this address.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many messages.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Messages in the outbox, newest first, with their bodies (verification and reset links)."""
    rows = run_on_database(lambda conn: manage.list_mail(conn, to=to, limit=limit))
    if as_json:
        print_json(rows)
        return
    if not rows:
        stdout_console().print("no mail" + (f" to {to}" if to else ""), highlight=False)
    for row in rows:
        state = f"sent {_when(row['sent_at'])}" if row["sent_at"] else (row["error"] or "not sent (no SMTP)")
        stdout_console().rule(escape(f"{_when(row['created_at'])} · {row['kind']} · {state}"))
        stdout_console().print(
            f"To: {row['recipient']}\nSubject: {row['subject']}\n", highlight=False, markup=False
        )
        stdout_console().print(row["body"], highlight=False, markup=False, soft_wrap=True)
