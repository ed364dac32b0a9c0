"""What administrators may do to users and groups (`/accounts/v1/admin`), each a function on one connection.

The routes call these inside their request transaction (`Conn`), so a refused change leaves nothing
behind. The boundaries:

- only a superuser acts on a superuser (changes it, ends its sessions, changes its groups), and
  only a superuser grants or takes superuser status;
- nobody deactivates or demotes the last active superuser (the rows are locked while counting, so
  two superusers removing each other at once cannot both succeed), nor themselves;
- deactivating ends every session and revokes every API token for good — reactivating revives
  none of them; a deleted (anonymised) account cannot be reactivated or promoted.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from dockyard.accounts.auth import Principal
from dockyard.accounts.queries import groups, sessions, tokens, users
from dockyard.accounts.service import LAST_SUPERUSER, Revoked
from dockyard.core.db import Connection
from dockyard.core.errors import BadInput, Conflict, Forbidden, NotFound
from dockyard.core.logging import NOTICE

logger = logging.getLogger("dockyard.accounts")


async def user_or_404(conn: Connection, user_id: int) -> dict[str, Any]:
    """The user as the API shows it; NotFound when there is none."""
    user = await users.get_user(conn, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    return user


async def _target(conn: Connection, actor: Principal, user_id: int) -> asyncpg.Record:
    """The user an administrator acts on; NotFound, or Forbidden when it is a superuser and they are not."""
    target = await users.state(conn, user_id)
    if target is None:
        raise NotFound(f"No user {user_id}.")
    if target["is_superuser"] and not actor.is_superuser:
        raise Forbidden(f"User {user_id} is a superuser; only a superuser can act on a superuser.")
    return target


async def keep_a_superuser(conn: Connection, user_id: int) -> None:
    """Conflict when `user_id` is the last active superuser (locks the superusers' rows until commit)."""
    if await users.lock_active_superusers(conn) == [user_id]:
        raise Conflict(LAST_SUPERUSER)


async def deactivate(conn: Connection, user_id: int, *, by: int | None) -> Revoked:
    """Deactivate the account: every session ends and every API token is revoked for good."""
    await users.set_active(conn, user_id, False)
    revoked = Revoked(
        sessions=await sessions.revoke(conn, "deactivated", user_id=user_id),
        api_tokens=await tokens.revoke_api_tokens_of(conn, user_id=user_id, why="account deactivated"),
    )
    logger.log(NOTICE, "account deactivated", extra={"user_id": user_id, "by": by})
    return revoked


async def update_user(
    conn: Connection, actor: Principal, user_id: int, *, is_active: bool | None, is_superuser: bool | None
) -> dict[str, Any]:
    """Activate, deactivate, promote or demote a user within the boundaries above; the user afterwards."""
    target = await _target(conn, actor, user_id)
    if is_superuser is not None and is_superuser != target["is_superuser"] and not actor.is_superuser:
        raise Forbidden("Only a superuser can grant or take away superuser status.")
    if target["deleted"] and (is_active or is_superuser):
        raise Conflict(f"User {user_id} was deleted (anonymised); it cannot be reactivated or promoted.")
    deactivating = is_active is False and target["is_active"]
    demoting = is_superuser is False and target["is_superuser"]
    if user_id == actor.user_id and deactivating:
        raise BadInput("You cannot deactivate yourself.")
    if user_id == actor.user_id and demoting:
        raise BadInput("You cannot demote yourself; another superuser can.")
    if target["is_superuser"] and (deactivating or demoting):
        await keep_a_superuser(conn, user_id)
    if deactivating:
        await deactivate(conn, user_id, by=actor.user_id)
    elif is_active and not target["is_active"]:
        await users.set_active(conn, user_id, True)
    if is_superuser is not None and is_superuser != target["is_superuser"]:
        await users.set_superuser(conn, user_id, is_superuser)
        logger.log(NOTICE, "superuser status changed", extra={"user_id": user_id, "superuser": is_superuser})
    return await user_or_404(conn, user_id)


async def end_sessions(conn: Connection, actor: Principal, user_id: int) -> int:
    """End every session of the user; how many were open."""
    await _target(conn, actor, user_id)
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


async def add_member(conn: Connection, actor: Principal, *, group_id: int, user_id: int) -> None:
    """Put the user in the group (already there is fine); NotFound for an unknown group or user."""
    await group_or_404(conn, group_id)
    target = await _target(conn, actor, user_id)
    if target["deleted"]:
        raise Conflict(f"User {user_id} was deleted (anonymised); it cannot join a group.")
    await groups.add_member(conn, group_id=group_id, user_id=user_id)


async def remove_member(conn: Connection, actor: Principal, *, group_id: int, user_id: int) -> None:
    """Take the user out of the group; NotFound when it was not in it."""
    await _target(conn, actor, user_id)
    if not await groups.remove_member(conn, group_id=group_id, user_id=user_id):
        raise NotFound(f"User {user_id} is not in group {group_id}.")
