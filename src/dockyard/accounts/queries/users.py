"""Accounts: the API's view of a user, lookups by address, profile and flag changes, anonymising."""

from __future__ import annotations

from typing import Any

import asyncpg

from dockyard.core.db import Connection

USER_COLUMNS = """
u.id, u.email, u.username, u.display_name, u.is_active, u.is_superuser,
u.email_verified_at IS NOT NULL AS email_verified, u.created_at, u.last_login_at
"""

# A user with its groups and effective permissions (a superuser holds every declared one).
USER_VIEW = f"""
SELECT {USER_COLUMNS},
    ARRAY(SELECT g.name FROM accounts.user_groups ug JOIN accounts.groups g ON g.id = ug.group_id
          WHERE ug.user_id = u.id ORDER BY g.name) AS groups,
    CASE WHEN u.is_superuser THEN ARRAY(SELECT codename FROM accounts.permissions ORDER BY 1)
         ELSE ARRAY(SELECT DISTINCT gp.permission FROM accounts.user_groups ug
                    JOIN accounts.group_permissions gp USING (group_id) WHERE ug.user_id = u.id ORDER BY 1)
    END AS permissions
FROM accounts.users u
"""

USERS_BY_ID = USER_VIEW + " WHERE u.id = ANY($1::bigint[]) ORDER BY array_position($1::bigint[], u.id)"


async def get_users(conn: Any, user_ids: list[int]) -> list[dict[str, Any]]:
    """Users as the API shows them, with groups and effective permissions, in the order given."""
    rows = await conn.fetch(USERS_BY_ID, user_ids)
    return [dict(row) for row in rows]


async def get_user(conn: Any, user_id: int) -> dict[str, Any] | None:
    """One user as the API shows it, or None."""
    rows = await get_users(conn, [user_id])
    return rows[0] if rows else None


# Live accounts matching a search, for the admin list: the page of ids and the total in one statement.
USER_PAGE = """
SELECT u.id, count(*) OVER () AS total
FROM accounts.users u
WHERE ($1::text IS NULL OR u.email ILIKE $1 OR u.username ILIKE $1 OR u.display_name ILIKE $1)
  AND ($2::bool IS NULL OR u.is_active = $2) AND u.deleted_at IS NULL
ORDER BY u.id LIMIT $3 OFFSET $4
"""
USER_COUNT = """
SELECT count(*) FROM accounts.users u
WHERE ($1::text IS NULL OR u.email ILIKE $1 OR u.username ILIKE $1 OR u.display_name ILIKE $1)
  AND ($2::bool IS NULL OR u.is_active = $2) AND u.deleted_at IS NULL
"""


async def user_page(
    conn: Connection, *, pattern: str | None, active: bool | None, limit: int, offset: int
) -> dict[str, Any]:
    """`{count, results}`: one page of live users matching `pattern` (a LIKE pattern) and `active`."""
    rows = await conn.fetch(USER_PAGE, pattern, active, limit, offset)
    # Past the last page no row carries the total: count separately then.
    total = rows[0]["total"] if rows else await conn.fetchval(USER_COUNT, pattern, active)
    return {"count": total, "results": await get_users(conn, [row["id"] for row in rows])}


# Conditions `account_by_email` accepts (never user input).
ACCOUNT_CONDITIONS = {"email_verified_at IS NULL", "is_active", "true"}


async def account_by_email(conn: Any, email: str, condition: str = "true") -> asyncpg.Record | None:
    """The live account with this address (id, email, is_superuser, is_active) meeting `condition`."""
    if condition not in ACCOUNT_CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}")
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, email, is_superuser, is_active FROM accounts.users "
        f"WHERE lower(email) = lower($1) AND deleted_at IS NULL AND {condition}",
        email,
    )
    return row


TAKEN = """
SELECT lower(email) = lower($1) AS email, lower(username) = lower($2) AS username
FROM accounts.users WHERE lower(email) = lower($1) OR lower(username) = lower($2) LIMIT 1
"""


async def taken(conn: Connection, *, email: str, username: str | None) -> str | None:
    """Which of `email` and `username` an account already has ("email", "username"), or None."""
    row = await conn.fetchrow(TAKEN, email, username)
    if row is None:
        return None
    return "email" if row["email"] else "username"


INSERT_USER = f"""
INSERT INTO accounts.users AS u (email, username, display_name, password_hash)
VALUES ($1, $2, $3, $4) RETURNING {USER_COLUMNS}
"""


async def insert_user(
    conn: Connection, *, email: str, username: str | None, display_name: str, password_hash: str
) -> dict[str, Any]:
    """Create an unverified account; the new row as the API shows it (without groups)."""
    row = await conn.fetchrow(INSERT_USER, email, username, display_name, password_hash)
    assert row is not None  # INSERT ... RETURNING always yields the row
    return dict(row)


MARK_VERIFIED = (
    "UPDATE accounts.users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1"
)


async def mark_verified(conn: Connection, user_id: int) -> None:
    """Record that the account's address is proven (kept if it already was)."""
    await conn.execute(MARK_VERIFIED, user_id)


LOGIN_ACCOUNT = """
SELECT id, password_hash, is_active, email_verified_at FROM accounts.users
WHERE lower(email) = lower($1) AND deleted_at IS NULL
"""


async def login_account(conn: Any, email: str) -> asyncpg.Record | None:
    """What a login checks of the live account with this address, or None."""
    row: asyncpg.Record | None = await conn.fetchrow(LOGIN_ACCOUNT, email)
    return row


PASSWORD_HASH = "SELECT password_hash FROM accounts.users WHERE id = $1"


async def password_hash(conn: Any, user_id: int) -> str | None:
    """The stored password hash of the user (None when it has none)."""
    stored: str | None = await conn.fetchval(PASSWORD_HASH, user_id)
    return stored


SET_PASSWORD = "UPDATE accounts.users SET password_hash = $2 WHERE id = $1"


async def set_password(conn: Connection, user_id: int, new_hash: str) -> None:
    """Store a new password hash."""
    await conn.execute(SET_PASSWORD, user_id, new_hash)


RESET_PASSWORD = """
UPDATE accounts.users SET password_hash = $2, email_verified_at = coalesce(email_verified_at, now())
WHERE id = $1
"""


async def reset_password(conn: Connection, user_id: int, new_hash: str) -> None:
    """Store the password chosen with a mailed token; receiving the mail proves the address too."""
    await conn.execute(RESET_PASSWORD, user_id, new_hash)


RECORD_LOGIN = "UPDATE accounts.users SET last_login_at = now() WHERE id = $1"


async def record_login(conn: Connection, user_id: int) -> None:
    """Remember when the user last logged in."""
    await conn.execute(RECORD_LOGIN, user_id)


SET_DISPLAY_NAME = "UPDATE accounts.users SET display_name = $2 WHERE id = $1"
SET_USERNAME = "UPDATE accounts.users SET username = $2 WHERE id = $1"


async def update_profile(conn: Connection, user_id: int, changes: dict[str, Any]) -> None:
    """Apply a profile change: `display_name` (a null leaves it) and `username` (a null clears it)."""
    if changes.get("display_name") is not None:
        await conn.execute(SET_DISPLAY_NAME, user_id, changes["display_name"])
    if "username" in changes:
        await conn.execute(SET_USERNAME, user_id, changes["username"])


SET_ACTIVE = "UPDATE accounts.users SET is_active = $2 WHERE id = $1"


async def set_active(conn: Connection, user_id: int, active: bool) -> None:
    """Activate or deactivate the account."""
    await conn.execute(SET_ACTIVE, user_id, active)


# The address goes with the rest of the identity; the row stays for other services' references.
ANONYMISE = """
UPDATE accounts.users u SET email = 'deleted-' || u.id || '@deleted.invalid', username = NULL,
       display_name = '', password_hash = NULL, is_active = false, is_superuser = false,
       email_verified_at = NULL, deleted_at = now()
FROM accounts.users old WHERE old.id = u.id AND u.id = $1 RETURNING old.email
"""
# Fixed table names: what belongs to the account and goes with it.
FORGET = tuple(
    f"DELETE FROM accounts.{table} WHERE user_id = $1"
    for table in ("sessions", "api_tokens", "email_tokens", "user_groups")
)
FORGET_MAIL = "DELETE FROM accounts.outbox WHERE lower(recipient) = lower($1)"


async def anonymise(conn: Connection, user_id: int) -> None:
    """Replace the identity, drop credentials, memberships and the user's mail (in a transaction)."""
    old_email = await conn.fetchval(ANONYMISE, user_id)
    for statement in FORGET:
        await conn.execute(statement, user_id)
    await conn.execute(FORGET_MAIL, old_email)


# The command line's listing: flat rows, group names only.
USER_LIST = """
SELECT u.id, u.email, u.username, u.display_name, u.is_active, u.is_superuser,
       u.email_verified_at IS NOT NULL AS verified, u.created_at, u.last_login_at,
       ARRAY(SELECT g.name FROM accounts.user_groups ug JOIN accounts.groups g ON g.id = ug.group_id
             WHERE ug.user_id = u.id ORDER BY g.name) AS groups
FROM accounts.users u
WHERE u.deleted_at IS NULL
  AND ($1::text IS NULL OR u.email ILIKE $1 OR u.username ILIKE $1 OR u.display_name ILIKE $1)
ORDER BY u.id LIMIT $2
"""


async def user_list(conn: Connection, *, pattern: str | None, limit: int) -> list[dict[str, Any]]:
    """Live accounts matching `pattern` (a LIKE pattern) in email, username or name, oldest first."""
    return [dict(row) for row in await conn.fetch(USER_LIST, pattern, limit)]


INSERT_SUPERUSER = """
INSERT INTO accounts.users (email, display_name, password_hash, is_superuser, email_verified_at)
VALUES ($1, $2, $3, true, now()) RETURNING id
"""


async def insert_superuser(conn: Connection, *, email: str, display_name: str, password_hash: str) -> int:
    """Create a verified, active superuser; its id."""
    new_id: int = await conn.fetchval(INSERT_SUPERUSER, email, display_name, password_hash)
    return new_id


PROMOTE = """
UPDATE accounts.users SET is_superuser = true, is_active = true,
       email_verified_at = coalesce(email_verified_at, now()),
       password_hash = coalesce($2, password_hash),
       display_name = CASE WHEN $3 = '' THEN display_name ELSE $3 END
WHERE id = $1
"""


async def promote(conn: Connection, user_id: int, *, password_hash: str | None, display_name: str) -> None:
    """Make the account an active, verified superuser; a hash or a name given replaces the stored one."""
    await conn.execute(PROMOTE, user_id, password_hash, display_name)


PROFILE = "SELECT email, display_name, username, password_hash FROM accounts.users WHERE id = $1"


async def profile(conn: Any, user_id: int) -> asyncpg.Record | None:
    """What a password is checked against: email, display_name, username and the stored hash."""
    row: asyncpg.Record | None = await conn.fetchrow(PROFILE, user_id)
    return row


USERNAME_TAKEN = "SELECT EXISTS (SELECT 1 FROM accounts.users WHERE lower(username) = lower($1))"


async def username_taken(conn: Connection, username: str) -> bool:
    """True when an account already has this username (regardless of case)."""
    found: bool = await conn.fetchval(USERNAME_TAKEN, username)
    return found


INSERT_NEW_USER = f"""
INSERT INTO accounts.users AS u (email, username, display_name, password_hash)
VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING {USER_COLUMNS}
"""


async def insert_new_user(
    conn: Connection, *, email: str, username: str | None, display_name: str, password_hash: str
) -> dict[str, Any] | None:
    """Create an unverified account, or None when its address or username was taken meanwhile."""
    row = await conn.fetchrow(INSERT_NEW_USER, email, username, display_name, password_hash)
    return None if row is None else dict(row)


STATE = """
SELECT id, is_superuser, is_active, deleted_at IS NOT NULL AS deleted FROM accounts.users WHERE id = $1
"""


async def state(conn: Connection, user_id: int) -> asyncpg.Record | None:
    """The flags administration rules look at (is_superuser, is_active, deleted), or None."""
    row: asyncpg.Record | None = await conn.fetchrow(STATE, user_id)
    return row


# Locked in id order, so rules counting them (never fewer than one) take turns: two superusers
# deactivating each other at once cannot both succeed.
LOCK_ACTIVE_SUPERUSERS = """
SELECT id FROM accounts.users WHERE is_superuser AND is_active AND deleted_at IS NULL ORDER BY id FOR UPDATE
"""


async def lock_active_superusers(conn: Connection) -> list[int]:
    """The ids of the active superusers, their rows locked until the transaction ends."""
    return [row["id"] for row in await conn.fetch(LOCK_ACTIVE_SUPERUSERS)]


SET_SUPERUSER = "UPDATE accounts.users SET is_superuser = $2 WHERE id = $1"


async def set_superuser(conn: Connection, user_id: int, superuser: bool) -> None:
    """Grant or take away superuser status."""
    await conn.execute(SET_SUPERUSER, user_id, superuser)
