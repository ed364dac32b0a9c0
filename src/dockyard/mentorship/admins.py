"""Programme admins: assign, revoke, list (spec A.2 Admin), in the original's order of checks.

Admin rows are locked while counting, so two admins revoking each other at once cannot leave the
programme without one.
"""

from __future__ import annotations

from typing import Any

from dockyard.core.db import Connection
from dockyard.core.errors import BadInput, Forbidden, NotFound
from dockyard.mentorship import members, messages

ADMINS = """SELECT coalesce(json_agg(json_build_object(
    'id', p.user_id, 'username', p.username, 'name', p.name, 'slack_username', p.slack_username,
    'bio', p.bio, 'location', p.location, 'occupation', p.occupation, 'organization', p.organization,
    'skills', p.skills) ORDER BY p.user_id), '[]')::text
FROM mentorship.profiles p WHERE p.is_admin AND p.deleted_at IS NULL AND p.user_id <> $1"""
SET_ADMIN = "UPDATE mentorship.profiles SET is_admin = $2 WHERE user_id = $1"
ADMINS_LOCKED = "SELECT user_id FROM mentorship.profiles WHERE is_admin AND deleted_at IS NULL FOR UPDATE"


async def assign(conn: Connection, caller_id: int, data: dict[str, Any]) -> str:
    """Make another user an admin; the message to answer."""
    caller = await members.member(conn, caller_id)
    if not caller.is_admin:
        raise Forbidden(messages.ASSIGN_NOT_ADMIN)
    target_id = data["user_id"]
    if target_id == caller_id:
        raise Forbidden(messages.CANNOT_ASSIGN_YOURSELF)
    target = await members.find(conn, target_id, lock=True)
    if target is None:
        raise NotFound(messages.USER_DOES_NOT_EXIST)
    if target.is_admin:
        raise BadInput(messages.ALREADY_ADMIN)
    await conn.execute(SET_ADMIN, target_id, True)
    return messages.NOW_ADMIN


async def revoke(conn: Connection, caller_id: int, data: dict[str, Any]) -> str:
    """Take admin status away from a user (yourself too, unless you are the last admin)."""
    caller = await members.member(conn, caller_id)
    if not caller.is_admin:
        raise Forbidden(messages.REVOKE_NOT_ADMIN)
    admins = await conn.fetch(ADMINS_LOCKED)
    target_id = data["user_id"]
    if target_id == caller_id and len(admins) == 1:
        raise Forbidden(messages.CANNOT_REVOKE_OWN)
    target = await members.find(conn, target_id, lock=True)
    if target is None:
        raise NotFound(messages.USER_DOES_NOT_EXIST)
    if not target.is_admin:
        raise BadInput(messages.NOT_AN_ADMIN)
    await conn.execute(SET_ADMIN, target_id, False)
    return messages.ADMIN_REVOKED


async def list_admins(conn: Connection, caller_id: int) -> str:
    """The other admins as JSON text; 403 for callers who are not admins."""
    caller = await members.member(conn, caller_id)
    if not caller.is_admin:
        raise Forbidden(messages.NOT_AN_ADMIN)
    text: str = await conn.fetchval(ADMINS, caller_id)
    return text
