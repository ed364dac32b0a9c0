"""What administrators may do to users and groups (`/accounts/v1/admin`), each a function on one connection.

The routes call these inside their request transaction (`Conn`), so a refused change leaves nothing
behind.
"""

from __future__ import annotations

import logging
from typing import Any

from dockyard.accounts.auth import Principal
from dockyard.accounts.queries import groups, sessions, users
from dockyard.core.db import Connection
from dockyard.core.errors import BadInput, NotFound
from dockyard.core.logging import NOTICE

logger = logging.getLogger("dockyard.accounts")


async def user_or_404(conn: Connection, user_id: int) -> dict[str, Any]:
    """The user as the API shows it; NotFound when there is none."""
    user = await users.get_user(conn, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    return user


async def set_active(conn: Connection, admin: Principal, user_id: int, active: bool | None) -> dict[str, Any]:
    """Activate or deactivate a user; deactivating ends every session. The user afterwards."""
    await user_or_404(conn, user_id)
    if active is not None:
        if user_id == admin.user_id and not active:
            raise BadInput("You cannot deactivate yourself.")
        await users.set_active(conn, user_id, active)
        if not active:
            await sessions.revoke(conn, "deactivated", user_id=user_id)
            logger.log(NOTICE, "account deactivated", extra={"user_id": user_id, "by": admin.user_id})
    return await user_or_404(conn, user_id)


async def end_sessions(conn: Connection, user_id: int) -> int:
    """End every session of the user; how many were open."""
    await user_or_404(conn, user_id)
    return await sessions.revoke(conn, "revoked by an administrator", user_id=user_id)


async def group_or_404(conn: Connection, group_id: int) -> dict[str, Any]:
    """The group with its permissions and member count; NotFound when there is none."""
    group = await groups.group(conn, group_id)
    if group is None:
        raise NotFound(f"No group {group_id}.")
    return group


async def _set_permissions(conn: Connection, group_id: int, permissions: list[str]) -> None:
    unknown = await groups.unknown_permissions(conn, permissions)
    if unknown:
        raise BadInput(
            f"Unknown permission(s): {', '.join(unknown)}; see GET /accounts/v1/admin/permissions."
        )
    await groups.set_permissions(conn, group_id, permissions)


async def create_group(
    conn: Connection, *, name: str, description: str, permissions: list[str]
) -> dict[str, Any]:
    """Create a group holding `permissions` (declared ones only); the new group."""
    group_id = await groups.insert_group(conn, name=name, description=description)
    await _set_permissions(conn, group_id, permissions)
    return await group_or_404(conn, group_id)


async def update_group(
    conn: Connection, group_id: int, *, description: str | None, permissions: list[str] | None
) -> dict[str, Any]:
    """Change the group's description and/or give it exactly `permissions`; the group afterwards."""
    await group_or_404(conn, group_id)
    if description is not None:
        await groups.set_description(conn, group_id, description)
    if permissions is not None:
        await _set_permissions(conn, group_id, permissions)
    return await group_or_404(conn, group_id)


async def delete_group(conn: Connection, group_id: int) -> None:
    """Delete the group; NotFound when there is none."""
    if not await groups.delete_group(conn, group_id):
        raise NotFound(f"No group {group_id}.")


async def add_member(conn: Connection, *, group_id: int, user_id: int) -> None:
    """Put the user in the group (already there is fine); NotFound for an unknown group or user."""
    await group_or_404(conn, group_id)
    await user_or_404(conn, user_id)
    await groups.add_member(conn, group_id=group_id, user_id=user_id)


async def remove_member(conn: Connection, *, group_id: int, user_id: int) -> None:
    """Take the user out of the group; NotFound when it was not in it."""
    if not await groups.remove_member(conn, group_id=group_id, user_id=user_id):
        raise NotFound(f"User {user_id} is not in group {group_id}.")
