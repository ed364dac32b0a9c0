"""Programme admins: assign, revoke, list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from dockyard.core.db import Conn, ReadConn
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse
from dockyard.mentorship import admins, payload
from dockyard.mentorship.auth import Caller
from dockyard.mentorship.models import AdminTargetRequest, AdminUser, Message, request_body
from dockyard.mentorship.routes.common import message

router = APIRouter()
Body = Annotated[Any, Depends(payload.json_body)]


@router.post(
    "/admin/new",
    response_model=Message,
    summary="Make a user an admin",
    responses=errors(400, 403, 404, 413),
    openapi_extra=request_body(AdminTargetRequest),
)
async def assign(body: Body, user: Caller, conn: Conn) -> Message:
    """Admins only."""
    data = payload.check_model(body, payload.ADMIN_TARGET)
    return message(await admins.assign(conn, user.user_id, data))


@router.post(
    "/admin/remove",
    response_model=Message,
    summary="Revoke a user's admin status",
    responses=errors(400, 403, 404, 413),
    openapi_extra=request_body(AdminTargetRequest),
)
async def revoke(body: Body, user: Caller, conn: Conn) -> Message:
    """Admins only; the last admin cannot revoke themselves."""
    data = payload.check_model(body, payload.ADMIN_TARGET)
    return message(await admins.revoke(conn, user.user_id, data))


@router.get(
    "/admins", response_model=list[AdminUser], summary="List the other admins", responses=errors(403, 404)
)
async def list_admins(user: Caller, conn: ReadConn) -> RawJSONResponse:
    """Admins only."""
    return RawJSONResponse(await admins.list_admins(conn, user.user_id))
