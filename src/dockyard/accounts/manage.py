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

from dockyard.accounts import permissions as permission_store
from dockyard.accounts.models import GROUP_NAME
from dockyard.accounts.passwords import check_policy, hash_password
from dockyard.accounts.service import normalise_email
from dockyard.core.commands import CommandError
from dockyard.core.errors import BadInput
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


def check_password(password: str) -> None:
    """ManageError when the password breaks the policy (8 to 128 characters)."""
    try:
        check_policy(password)
    except BadInput as exc:
        raise ManageError(exc.detail) from exc


async def find_user(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    """The live (not deleted) account with this address, regardless of case."""
    return await conn.fetchrow(
        "SELECT id, email, is_superuser, is_active FROM accounts.users "
        "WHERE lower(email) = lower($1) AND deleted_at IS NULL",
        check_email(email),
    )


async def _user_id(conn: asyncpg.Connection, email: str) -> int:
    user = await find_user(conn, email)
    if user is None:
        raise ManageError(f"No account with the email {email}; see `dockyard user list`.")
    return int(user["id"])


async def _group_id(conn: asyncpg.Connection, name: str) -> int:
    group_id = await conn.fetchval("SELECT id FROM accounts.groups WHERE name = $1", name)
    if group_id is None:
        raise ManageError(f"No group named {name!r}; create it with `dockyard group create {name} --perm …`.")
    return int(group_id)


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
        check_password(password)
    password_hash = None if password is None else await hash_password(password)
    async with conn.transaction():
        existing = await find_user(conn, email)
        if existing is None:
            if password_hash is None:
                raise ManageError("A new account needs a password (prompted, or --password-stdin).")
            user_id = await conn.fetchval(
                """INSERT INTO accounts.users
                    (email, display_name, password_hash, is_superuser, email_verified_at)
                VALUES ($1, $2, $3, true, now()) RETURNING id""",
                email,
                display_name,
                password_hash,
            )
            return int(user_id), True
        if password_hash is not None and not reset_password:
            raise ManageError(
                f"{existing['email']} already has an account and keeps its password; "
                "add --reset-password to replace it."
            )
        await conn.execute(
            """UPDATE accounts.users SET is_superuser = true, is_active = true,
                   email_verified_at = coalesce(email_verified_at, now()),
                   password_hash = coalesce($2, password_hash),
                   display_name = CASE WHEN $3 = '' THEN display_name ELSE $3 END
            WHERE id = $1""",
            existing["id"],
            password_hash,
            display_name,
        )
        if password_hash is not None:
            # A password set by an administrator ends the sessions opened with the old one.
            await conn.execute(
                "UPDATE accounts.sessions SET revoked_at = now(), "
                "revoked_why = 'password reset by an administrator' "
                "WHERE user_id = $1 AND revoked_at IS NULL",
                existing["id"],
            )
        return int(existing["id"]), False


async def add_to_group(conn: asyncpg.Connection, *, email: str, group: str) -> bool:
    """Put the account in the group; False when it already was."""
    user_id, group_id = await _user_id(conn, email), await _group_id(conn, group)
    done = await conn.execute(
        "INSERT INTO accounts.user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        user_id,
        group_id,
    )
    return done.endswith(" 1")


async def remove_from_group(conn: asyncpg.Connection, *, email: str, group: str) -> bool:
    """Take the account out of the group; False when it was not in it."""
    user_id, group_id = await _user_id(conn, email), await _group_id(conn, group)
    done = await conn.execute(
        "DELETE FROM accounts.user_groups WHERE user_id = $1 AND group_id = $2", user_id, group_id
    )
    return done.endswith(" 1")


async def list_users(
    conn: asyncpg.Connection, *, search: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Live accounts (optionally matching `search` in email, username or name), oldest first."""
    rows = await conn.fetch(
        """SELECT u.id, u.email, u.username, u.display_name, u.is_active, u.is_superuser,
                  u.email_verified_at IS NOT NULL AS verified, u.created_at, u.last_login_at,
                  ARRAY(SELECT g.name FROM accounts.user_groups ug
                        JOIN accounts.groups g ON g.id = ug.group_id
                        WHERE ug.user_id = u.id ORDER BY g.name) AS groups
        FROM accounts.users u
        WHERE u.deleted_at IS NULL
          AND ($1::text IS NULL OR u.email ILIKE $1 OR u.username ILIKE $1 OR u.display_name ILIKE $1)
        ORDER BY u.id LIMIT $2""",
        None if search is None else contains_pattern(search),
        limit,
    )
    return [dict(row) for row in rows]


async def sync_declared_permissions(conn: asyncpg.Connection) -> list[str]:
    """Store what every known service declares (as the app does at startup); all known codenames."""
    services = load_services(list(KNOWN_SERVICES))
    declared = [permission for service in services for permission in service.permissions]
    await permission_store.sync(conn, declared)
    codenames: list[str] = await conn.fetchval(
        "SELECT coalesce(array_agg(codename ORDER BY codename), '{}') FROM accounts.permissions"
    )
    return codenames


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
        group_id = await conn.fetchval("SELECT id FROM accounts.groups WHERE name = $1", name)
        created = group_id is None
        if created:
            group_id = await conn.fetchval(
                "INSERT INTO accounts.groups (name, description) VALUES ($1, $2) RETURNING id",
                name,
                description or "",
            )
        elif not update:
            raise ManageError(f"The group {name!r} already exists; add --update to set its permissions.")
        elif description is not None:
            await conn.execute(
                "UPDATE accounts.groups SET description = $2 WHERE id = $1", group_id, description
            )
        await conn.execute("DELETE FROM accounts.group_permissions WHERE group_id = $1", group_id)
        await conn.execute(
            "INSERT INTO accounts.group_permissions (group_id, permission) SELECT $1, unnest($2::text[])",
            group_id,
            sorted(set(permissions)),
        )
    return created


async def list_groups(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every group with its permissions and member count, by name."""
    rows = await conn.fetch(
        """SELECT g.name, g.description,
                  ARRAY(SELECT permission FROM accounts.group_permissions WHERE group_id = g.id ORDER BY 1)
                      AS permissions,
                  (SELECT count(*) FROM accounts.user_groups WHERE group_id = g.id) AS members
        FROM accounts.groups g ORDER BY g.name"""
    )
    return [dict(row) for row in rows]


async def list_mail(
    conn: asyncpg.Connection, *, to: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest messages of the outbox (to one address, regardless of case), newest first."""
    rows = await conn.fetch(
        """SELECT id, recipient, subject, body, kind, created_at, sent_at, error
        FROM accounts.outbox WHERE $1::text IS NULL OR lower(recipient) = lower($1)
        ORDER BY created_at DESC, id DESC LIMIT $2""",
        to,
        limit,
    )
    return [dict(row) for row in rows]
