"""Administration from the command line: superusers, groups, memberships, the mail outbox.

What `dockyard user …`, `dockyard group …` and `dockyard mail …` do, on one connection each; the
CLI only parses options and prints. Every failure a person can fix raises `ManageError` with a
message saying how.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import asyncpg
from pydantic import EmailStr, TypeAdapter, ValidationError

from dockyard.accounts import administration, mail
from dockyard.accounts import permissions as permission_store
from dockyard.accounts.models import GROUP_NAME
from dockyard.accounts.passwords import check_policy, hash_password
from dockyard.accounts.queries import groups, sessions, users
from dockyard.accounts.service import normalise_email
from dockyard.core.commands import CommandError
from dockyard.core.errors import BadInput, Conflict
from dockyard.core.like import contains_pattern
from dockyard.core.services import KNOWN_SERVICES, load_services

_email: TypeAdapter[str] = TypeAdapter(EmailStr)


class ManageError(CommandError):
    """An accounts command could not do what was asked; the message says why and what to do."""


def check_email(email: str) -> str:
    """The address, normalised; ManageError when it is not an email address."""
    try:
        return normalise_email(_email.validate_python(email))
    except ValidationError as exc:
        raise ManageError(f"{email!r} is not an email address.") from exc


def check_password(password: str, *, email: str | None = None, display_name: str = "") -> None:
    """ManageError when the password breaks the policy (accounts.passwords), saying which rule."""
    try:
        check_policy(password, email=email, names=(display_name,))
    except BadInput as exc:
        raise ManageError(exc.detail) from exc


async def find_user(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    """The live (not deleted) account with this address, regardless of case."""
    return await users.account_by_email(conn, check_email(email))


async def _user_id(conn: asyncpg.Connection, email: str) -> int:
    user = await find_user(conn, email)
    if user is None:
        raise ManageError(f"No account with the email {email}; see `dockyard user list`.")
    return int(user["id"])


async def _group_id(conn: asyncpg.Connection, name: str) -> int:
    group_id = await groups.group_id(conn, name)
    if group_id is None:
        raise ManageError(f"No group named {name!r}; create it with `dockyard group create {name} --perm …`.")
    return group_id


async def create_superuser(
    conn: asyncpg.Connection,
    *,
    email: str,
    password: str | None,
    display_name: str = "",
    reset_password: bool = False,
) -> tuple[int, bool]:
    """Create a verified, active superuser, or promote the existing account: (user id, created).

    An existing account keeps its password unless `reset_password` is set (then `password` is
    required); a new account always needs `password`.
    """
    email = check_email(email)
    if password is not None:
        check_password(password, email=email, display_name=display_name)
    password_hash = None if password is None else await hash_password(password)
    async with conn.transaction():
        existing = await find_user(conn, email)
        if existing is None:
            if password_hash is None:
                raise ManageError("A new account needs a password (prompted, or --password-stdin).")
            user_id = await users.insert_superuser(
                conn, email=email, display_name=display_name, password_hash=password_hash
            )
            return user_id, True
        if password_hash is not None and not reset_password:
            raise ManageError(
                f"{existing['email']} already has an account and keeps its password; "
                "add --reset-password to replace it."
            )
        await users.promote(conn, existing["id"], password_hash=password_hash, display_name=display_name)
        if password_hash is not None:
            # A password set by an administrator ends the sessions opened with the old one.
            await sessions.revoke(conn, "password reset by an administrator", user_id=existing["id"])
        return int(existing["id"]), False


async def _live_user(conn: asyncpg.Connection, email: str) -> asyncpg.Record:
    user = await find_user(conn, email)
    if user is None:
        raise ManageError(f"No account with the email {email}; see `dockyard user list`.")
    return user


async def _keep_a_superuser(conn: asyncpg.Connection, user_id: int) -> None:
    try:
        await administration.keep_a_superuser(conn, user_id)
    except Conflict as exc:
        raise ManageError(exc.detail) from exc


async def set_active(conn: asyncpg.Connection, *, email: str, active: bool) -> bool:
    """Activate or deactivate the account; False when it already was. Deactivating ends every session
    and revokes every API token for good; the last active superuser cannot be deactivated."""
    async with conn.transaction():
        user = await _live_user(conn, email)
        if user["is_active"] == active:
            return False
        if active:
            await users.set_active(conn, user["id"], True)
            return True
        if user["is_superuser"]:
            await _keep_a_superuser(conn, user["id"])
        await administration.deactivate(conn, user["id"], by=None)
        return True


async def demote(conn: asyncpg.Connection, *, email: str) -> bool:
    """Take superuser status away from the account; False when it had none. Never the last active one."""
    async with conn.transaction():
        user = await _live_user(conn, email)
        if not user["is_superuser"]:
            return False
        if user["is_active"]:
            await _keep_a_superuser(conn, user["id"])
        await users.set_superuser(conn, user["id"], False)
        return True


async def add_to_group(conn: asyncpg.Connection, *, email: str, group: str) -> bool:
    """Put the account in the group; False when it already was."""
    user_id, group_id = await _user_id(conn, email), await _group_id(conn, group)
    return await groups.add_member(conn, group_id=group_id, user_id=user_id)


async def remove_from_group(conn: asyncpg.Connection, *, email: str, group: str) -> bool:
    """Take the account out of the group; False when it was not in it."""
    user_id, group_id = await _user_id(conn, email), await _group_id(conn, group)
    return await groups.remove_member(conn, group_id=group_id, user_id=user_id)


async def list_users(
    conn: asyncpg.Connection, *, search: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Live accounts (optionally matching `search` in email, username or name), oldest first."""
    return await users.user_list(
        conn, pattern=None if search is None else contains_pattern(search), limit=limit
    )


async def sync_declared_permissions(conn: asyncpg.Connection) -> list[str]:
    """Store what every known service declares (as the app does at startup); all known codenames."""
    services = load_services(list(KNOWN_SERVICES))
    declared = [permission for service in services for permission in service.permissions]
    await permission_store.sync(conn, declared)
    return await groups.codenames(conn)


async def create_group(
    conn: asyncpg.Connection,
    *,
    name: str,
    permissions: Sequence[str],
    description: str | None = None,
    update: bool = False,
) -> bool:
    """Create the group with exactly `permissions`; with `update`, an existing group gets them instead.

    True when the group was created. Unknown permissions are refused, listing the known ones.
    """
    if not re.fullmatch(GROUP_NAME, name):
        raise ManageError(f"{name!r} is not a valid group name: 1 to 80 of A-Z a-z 0-9 _ . - and spaces.")
    async with conn.transaction():
        known = await sync_declared_permissions(conn)
        unknown = sorted(set(permissions) - set(known))
        if unknown:
            raise ManageError(
                f"Unknown permission(s): {', '.join(unknown)}. "
                f"Known permissions: {', '.join(known) or 'none'}."
            )
        group_id = await groups.group_id(conn, name)
        created = group_id is None
        if group_id is None:
            group_id = await groups.insert_group(conn, name=name, description=description or "")
        elif not update:
            raise ManageError(f"The group {name!r} already exists; add --update to set its permissions.")
        elif description is not None:
            await groups.set_description(conn, group_id, description)
        await groups.set_permissions(conn, group_id, list(permissions))
    return created


async def list_groups(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every group with its permissions and member count, by name."""
    return await groups.groups(conn)


async def list_mail(
    conn: asyncpg.Connection, *, to: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest messages of the outbox (to one address, regardless of case), newest first."""
    return await mail.outbox(conn, to=to, limit=limit)
