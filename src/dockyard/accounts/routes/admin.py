"""/accounts/v1/admin: users, groups, memberships and sessions (needs `accounts.admin`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from dockyard.accounts import administration
from dockyard.accounts.auth import Admin
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
from dockyard.accounts.queries import groups, users
from dockyard.core.db import Conn
from dockyard.core.like import contains_pattern
from dockyard.core.openapi import errors
from dockyard.core.types import Id

router = APIRouter(prefix="/v1/admin", tags=["accounts admin"])


@router.get("/users", response_model=UserPage, summary="List or search users")
async def list_users(
    _: Admin,
    conn: Conn,
    q: Annotated[
        str | None, Query(max_length=200, description="Part of the email, username or name.")
    ] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    """Live users by id, with their groups and permissions, and how many match over every page."""
    pattern = None if q is None else contains_pattern(q)
    return await users.user_page(conn, pattern=pattern, active=active, limit=limit, offset=offset)


@router.get("/users/{user_id}", response_model=UserOut, responses=errors(404), summary="One user")
async def get_user(user_id: Id, _: Admin, conn: Conn) -> Any:
    """The user with its groups and effective permissions."""
    return await administration.user_or_404(conn, user_id)


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    responses=errors(400, 404, 409),
    summary="Activate, deactivate, promote or demote a user",
)
async def update_user(user_id: Id, body: UserAdminPatch, admin: Admin, conn: Conn) -> Any:
    """Deactivating ends every session and revokes every API token for good (reactivating revives none).

    Only a superuser acts on a superuser or changes `is_superuser` (403); the last active superuser
    cannot be deactivated or demoted, nor a deleted account reactivated (409); nobody deactivates or
    demotes themselves (400).
    """
    return await administration.update_user(
        conn, admin, user_id, is_active=body.is_active, is_superuser=body.is_superuser
    )


@router.post(
    "/users/{user_id}/revoke-sessions",
    response_model=MessageOut,
    responses=errors(404),
    summary="End a user's sessions",
)
async def revoke_user_sessions(user_id: Id, admin: Admin, conn: Conn) -> MessageOut:
    """End every session of the user on every device (a superuser's: superusers only)."""
    ended = await administration.end_sessions(conn, admin, user_id)
    return MessageOut(message=f"Ended {ended} session(s).")


@router.get("/permissions", response_model=list[PermissionOut], summary="Every permission services declare")
async def list_permissions(_: Admin, conn: Conn) -> Any:
    """Every declared permission with its description."""
    return await groups.permissions(conn)


@router.get("/groups", response_model=list[GroupOut], summary="Groups")
async def list_groups(_: Admin, conn: Conn) -> Any:
    """Every group with its permissions and member count, by name."""
    return await groups.groups(conn)


@router.post(
    "/groups", status_code=201, response_model=GroupOut, responses=errors(400, 409), summary="Create a group"
)
async def create_group(body: GroupIn, _: Admin, conn: Conn) -> Any:
    """A new group holding `permissions` (declared ones; unknown ones are 400); a taken name is 409."""
    return await administration.create_group(
        conn, name=body.name, description=body.description, permissions=body.permissions
    )


@router.patch(
    "/groups/{group_id}",
    response_model=GroupOut,
    responses=errors(400, 404),
    summary="Change a group's description or permissions",
)
async def update_group(group_id: Id, body: GroupPatch, _: Admin, conn: Conn) -> Any:
    """`permissions` replaces the group's whole set; its members gain or lose them at once."""
    return await administration.update_group(
        conn, group_id, description=body.description, permissions=body.permissions
    )


@router.delete("/groups/{group_id}", status_code=204, responses=errors(404), summary="Delete a group")
async def delete_group(group_id: Id, _: Admin, conn: Conn) -> Response:
    """Its members lose its permissions at once."""
    await administration.delete_group(conn, group_id)
    return Response(status_code=204)


@router.put(
    "/groups/{group_id}/members/{user_id}",
    status_code=204,
    responses=errors(404, 409),
    summary="Add a user to a group",
)
async def add_member(group_id: Id, user_id: Id, admin: Admin, conn: Conn) -> Response:
    """Adding a member twice is fine; a superuser's groups are changed by superusers only."""
    await administration.add_member(conn, admin, group_id=group_id, user_id=user_id)
    return Response(status_code=204)


@router.delete(
    "/groups/{group_id}/members/{user_id}",
    status_code=204,
    responses=errors(404),
    summary="Remove a user from a group",
)
async def remove_member(group_id: Id, user_id: Id, admin: Admin, conn: Conn) -> Response:
    """404 when the user is not in the group."""
    await administration.remove_member(conn, admin, group_id=group_id, user_id=user_id)
    return Response(status_code=204)
