"""/accounts/v1/admin: users, groups, memberships and sessions (needs `accounts.admin`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from dockyard.accounts import service
from dockyard.accounts.auth import Principal, require
from dockyard.accounts.models import (
    GroupIn,
    GroupOut,
    GroupPatch,
    MessageOut,
    PermissionOut,
    UserAdminPatch,
    UserOut,
    UserPage,
)
from dockyard.accounts.permissions import ACCOUNTS_ADMIN
from dockyard.core.db import Conn
from dockyard.core.errors import BadInput, NotFound
from dockyard.core.like import contains_pattern
from dockyard.core.types import Id

Admin = Annotated[Principal, Depends(require(ACCOUNTS_ADMIN.codename))]
router = APIRouter(prefix="/v1/admin", tags=["accounts admin"])

GROUP = """
SELECT g.id, g.name, g.description,
       ARRAY(SELECT permission FROM accounts.group_permissions
             WHERE group_id = g.id ORDER BY 1) AS permissions,
       (SELECT count(*) FROM accounts.user_groups WHERE group_id = g.id) AS members
FROM accounts.groups g
"""


@router.get("/users", response_model=UserPage, summary="List or search users")
async def list_users(
    _: Admin,
    conn: Conn,
    q: Annotated[
        str | None, Query(max_length=200, description="Part of the email, username or name.")
    ] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    pattern = None if q is None else contains_pattern(q)
    where = """($1::text IS NULL OR u.email ILIKE $1 OR u.username ILIKE $1 OR u.display_name ILIKE $1)
               AND ($2::bool IS NULL OR u.is_active = $2) AND u.deleted_at IS NULL"""
    total = await conn.fetchval(f"SELECT count(*) FROM accounts.users u WHERE {where}", pattern, active)
    ids = await conn.fetch(
        f"SELECT id FROM accounts.users u WHERE {where} ORDER BY id LIMIT $3 OFFSET $4",
        pattern,
        active,
        limit,
        offset,
    )
    return {"count": total, "results": await service.get_users(conn, [row["id"] for row in ids])}


async def _user_or_404(conn: Any, user_id: int) -> dict[str, Any]:
    user = await service.get_user(conn, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    return user


@router.get("/users/{user_id}", response_model=UserOut, summary="One user")
async def get_user(user_id: Id, _: Admin, conn: Conn) -> Any:
    return await _user_or_404(conn, user_id)


@router.patch("/users/{user_id}", response_model=UserOut, summary="Activate or deactivate a user")
async def update_user(user_id: Id, body: UserAdminPatch, admin: Admin, conn: Conn) -> Any:
    """Deactivating ends every session and stops the user's API tokens."""
    await _user_or_404(conn, user_id)
    if body.is_active is not None:
        if user_id == admin.user_id and not body.is_active:
            raise BadInput("You cannot deactivate yourself.")
        await conn.execute("UPDATE accounts.users SET is_active = $2 WHERE id = $1", user_id, body.is_active)
        if not body.is_active:
            await conn.execute(
                "UPDATE accounts.sessions SET revoked_at = now(), revoked_why = 'deactivated' "
                "WHERE user_id = $1 AND revoked_at IS NULL",
                user_id,
            )
    return await service.get_user(conn, user_id)


@router.post("/users/{user_id}/revoke-sessions", response_model=MessageOut, summary="End a user's sessions")
async def revoke_user_sessions(user_id: Id, _: Admin, conn: Conn) -> MessageOut:
    await _user_or_404(conn, user_id)
    done = await conn.execute(
        "UPDATE accounts.sessions SET revoked_at = now(), revoked_why = 'revoked by an administrator' "
        "WHERE user_id = $1 AND revoked_at IS NULL",
        user_id,
    )
    return MessageOut(message=f"Ended {done.split()[-1]} session(s).")


@router.get("/permissions", response_model=list[PermissionOut], summary="Every permission services declare")
async def list_permissions(_: Admin, conn: Conn) -> Any:
    rows = await conn.fetch("SELECT codename, description FROM accounts.permissions ORDER BY codename")
    return [dict(row) for row in rows]


@router.get("/groups", response_model=list[GroupOut], summary="Groups")
async def list_groups(_: Admin, conn: Conn) -> Any:
    return [dict(row) for row in await conn.fetch(GROUP + " ORDER BY g.name")]


async def _set_permissions(conn: Any, group_id: int, permissions: list[str]) -> None:
    unknown = await conn.fetchval(
        "SELECT array_agg(p ORDER BY p) FROM unnest($1::text[]) p "
        "WHERE p NOT IN (SELECT codename FROM accounts.permissions)",
        permissions,
    )
    if unknown:
        raise BadInput(
            f"Unknown permission(s): {', '.join(unknown)}; see GET /accounts/v1/admin/permissions."
        )
    await conn.execute("DELETE FROM accounts.group_permissions WHERE group_id = $1", group_id)
    await conn.execute(
        "INSERT INTO accounts.group_permissions (group_id, permission) SELECT $1, unnest($2::text[])",
        group_id,
        sorted(set(permissions)),
    )


async def _group_or_404(conn: Any, group_id: int) -> dict[str, Any]:
    group = await conn.fetchrow(GROUP + " WHERE g.id = $1", group_id)
    if group is None:
        raise NotFound(f"No group {group_id}.")
    return dict(group)


@router.post("/groups", status_code=201, response_model=GroupOut, summary="Create a group")
async def create_group(body: GroupIn, _: Admin, conn: Conn) -> Any:
    group_id = await conn.fetchval(
        "INSERT INTO accounts.groups (name, description) VALUES ($1, $2) RETURNING id",
        body.name,
        body.description,
    )
    await _set_permissions(conn, group_id, body.permissions)
    return await _group_or_404(conn, group_id)


@router.patch(
    "/groups/{group_id}", response_model=GroupOut, summary="Change a group's description or permissions"
)
async def update_group(group_id: Id, body: GroupPatch, _: Admin, conn: Conn) -> Any:
    await _group_or_404(conn, group_id)
    if body.description is not None:
        await conn.execute(
            "UPDATE accounts.groups SET description = $2 WHERE id = $1", group_id, body.description
        )
    if body.permissions is not None:
        await _set_permissions(conn, group_id, body.permissions)
    return await _group_or_404(conn, group_id)


@router.delete("/groups/{group_id}", status_code=204, summary="Delete a group")
async def delete_group(group_id: Id, _: Admin, conn: Conn) -> Response:
    await _group_or_404(conn, group_id)
    await conn.execute("DELETE FROM accounts.groups WHERE id = $1", group_id)
    return Response(status_code=204)


@router.put("/groups/{group_id}/members/{user_id}", status_code=204, summary="Add a user to a group")
async def add_member(group_id: Id, user_id: Id, _: Admin, conn: Conn) -> Response:
    await _group_or_404(conn, group_id)
    await _user_or_404(conn, user_id)
    await conn.execute(
        "INSERT INTO accounts.user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        user_id,
        group_id,
    )
    return Response(status_code=204)


@router.delete("/groups/{group_id}/members/{user_id}", status_code=204, summary="Remove a user from a group")
async def remove_member(group_id: Id, user_id: Id, _: Admin, conn: Conn) -> Response:
    done = await conn.execute(
        "DELETE FROM accounts.user_groups WHERE user_id = $1 AND group_id = $2", user_id, group_id
    )
    if done.endswith(" 0"):
        raise NotFound(f"User {user_id} is not in group {group_id}.")
    return Response(status_code=204)
