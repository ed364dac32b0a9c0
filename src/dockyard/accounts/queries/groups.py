"""Groups, the permissions they hold, their members, and the declared permissions."""

from __future__ import annotations

from typing import Any

from dockyard.core.db import Connection

GROUP = """
SELECT g.id, g.name, g.description,
       ARRAY(SELECT permission FROM accounts.group_permissions
             WHERE group_id = g.id ORDER BY 1) AS permissions,
       (SELECT count(*) FROM accounts.user_groups WHERE group_id = g.id) AS members
FROM accounts.groups g
"""
GROUP_BY_ID = GROUP + " WHERE g.id = $1"
GROUP_BY_NAME = GROUP + " WHERE g.name = $1"
GROUPS = GROUP + " ORDER BY g.name"


async def group(conn: Connection, group_id: int) -> dict[str, Any] | None:
    """One group with its permissions and member count, or None."""
    row = await conn.fetchrow(GROUP_BY_ID, group_id)
    return None if row is None else dict(row)


async def groups(conn: Connection) -> list[dict[str, Any]]:
    """Every group with its permissions and member count, by name."""
    return [dict(row) for row in await conn.fetch(GROUPS)]


GROUP_ID = "SELECT id FROM accounts.groups WHERE name = $1"


async def group_id(conn: Connection, name: str) -> int | None:
    """The id of the group named `name`, or None."""
    found: int | None = await conn.fetchval(GROUP_ID, name)
    return found


INSERT_GROUP = "INSERT INTO accounts.groups (name, description) VALUES ($1, $2) RETURNING id"


async def insert_group(conn: Connection, *, name: str, description: str) -> int:
    """Create a group without permissions; its id."""
    new_id: int = await conn.fetchval(INSERT_GROUP, name, description)
    return new_id


SET_DESCRIPTION = "UPDATE accounts.groups SET description = $2 WHERE id = $1"


async def set_description(conn: Connection, group_id: int, description: str) -> None:
    """Change what the group says it is for."""
    await conn.execute(SET_DESCRIPTION, group_id, description)


DELETE_GROUP = "DELETE FROM accounts.groups WHERE id = $1"


async def delete_group(conn: Connection, group_id: int) -> bool:
    """Delete the group (its members lose its permissions); False when there was none."""
    done: str = await conn.execute(DELETE_GROUP, group_id)
    return done.endswith(" 1")


UNKNOWN_PERMISSIONS = """
SELECT coalesce(array_agg(p ORDER BY p), '{}') FROM unnest($1::text[]) p
WHERE p NOT IN (SELECT codename FROM accounts.permissions)
"""


async def unknown_permissions(conn: Connection, codenames: list[str]) -> list[str]:
    """Those of `codenames` no service declared, sorted."""
    unknown: list[str] = await conn.fetchval(UNKNOWN_PERMISSIONS, codenames)
    return unknown


CLEAR_PERMISSIONS = "DELETE FROM accounts.group_permissions WHERE group_id = $1"
ADD_PERMISSIONS = """
INSERT INTO accounts.group_permissions (group_id, permission) SELECT $1, unnest($2::text[])
"""


async def set_permissions(conn: Connection, group_id: int, codenames: list[str]) -> None:
    """Give the group exactly `codenames` (known ones; call inside a transaction)."""
    await conn.execute(CLEAR_PERMISSIONS, group_id)
    await conn.execute(ADD_PERMISSIONS, group_id, sorted(set(codenames)))


PERMISSIONS = "SELECT codename, description FROM accounts.permissions ORDER BY codename"


async def permissions(conn: Connection) -> list[dict[str, Any]]:
    """Every declared permission with its description, by codename."""
    return [dict(row) for row in await conn.fetch(PERMISSIONS)]


CODENAMES = "SELECT coalesce(array_agg(codename ORDER BY codename), '{}') FROM accounts.permissions"


async def codenames(conn: Connection) -> list[str]:
    """Every declared permission's codename, sorted."""
    found: list[str] = await conn.fetchval(CODENAMES)
    return found


ADD_MEMBER = """
INSERT INTO accounts.user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING
"""


async def add_member(conn: Connection, *, group_id: int, user_id: int) -> bool:
    """Put the user in the group; False when it already was."""
    done: str = await conn.execute(ADD_MEMBER, user_id, group_id)
    return done.endswith(" 1")


REMOVE_MEMBER = "DELETE FROM accounts.user_groups WHERE user_id = $1 AND group_id = $2"


async def remove_member(conn: Connection, *, group_id: int, user_id: int) -> bool:
    """Take the user out of the group; False when it was not in it."""
    done: str = await conn.execute(REMOVE_MEMBER, user_id, group_id)
    return done.endswith(" 1")
