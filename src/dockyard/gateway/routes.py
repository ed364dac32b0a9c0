"""The gateway's routes: the admin API (/gateway/api/v1, needs `gateway.admin`), data routes, index."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import asyncpg
import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator
from starlette.routing import Route

from dockyard.accounts.auth import Principal
from dockyard.core.db import Conn, ReadConn
from dockyard.core.errors import Conflict, NotFound
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse
from dockyard.core.types import Id
from dockyard.gateway import pages, queries
from dockyard.gateway.auth import Admin
from dockyard.gateway.models import (
    NAME_REGEX,
    PATTERN_REGEX,
    AuditList,
    GrantChange,
    GrantCreate,
    GrantList,
    GrantPublic,
    GroupGrantCreate,
    LevelName,
    RightsPublic,
    UserGrantCreate,
)
from dockyard.gateway.proxy import LbasedbGateway
from dockyard.gateway.service import effective_rights

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["gateway"])

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def _moment(value: dt.datetime) -> dt.datetime:
    """A naive time is UTC; times before 1970 or after 2200 act as those bounds (no record is outside)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return min(max(value, EARLIEST), LATEST)


Moment = Annotated[dt.datetime, AfterValidator(_moment)]
Decision = Literal["allow", "deny"]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
GrantId = Annotated[Id, Path(description="The grant's id.")]


def _actor(request: Request, principal: Principal) -> dict[str, Any]:
    return {
        "user_id": principal.user_id,
        "token_id": principal.api_token_id,
        "client": (request.client.host if request.client else None),
        "request_id": request.state.request_id if hasattr(request.state, "request_id") else None,
    }


@api.get("/grants", summary="List grants", response_model=GrantList)
async def list_grants(
    _: Admin,
    conn: ReadConn,
    user_id: Annotated[Id | None, Query(description="Only this user's own grants.")] = None,
    group_id: Annotated[Id | None, Query(description="Only this group's grants.")] = None,
    feed: Annotated[
        str | None,
        Query(max_length=258, pattern=PATTERN_REGEX, description="Only grants with this exact pattern."),
    ] = None,
    level: LevelName | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RawJSONResponse:
    """Grants by feed pattern, with the total matching the filters."""
    return RawJSONResponse(
        await queries.list_grants(
            conn, user_id=user_id, group_id=group_id, feed=feed, level=level, limit=limit, offset=offset
        )
    )


@api.post(
    "/grants",
    summary="Create a grant",
    status_code=201,
    response_model=GrantPublic,
    responses=errors(404, 409),
)
async def create_grant(grant: GrantCreate, caller: Admin, conn: Conn, request: Request) -> RawJSONResponse:
    """Give a user or a group a level on the feeds a pattern names (recorded in the audit log)."""
    user_id = grant.user_id if isinstance(grant, UserGrantCreate) else None
    group_id = grant.group_id if isinstance(grant, GroupGrantCreate) else None
    await _subject_exists(conn, user_id, group_id)
    try:
        async with conn.transaction():
            text = await queries.create_grant(
                conn,
                actor=_actor(request, caller),
                user_id=user_id,
                group_id=group_id,
                feed=grant.feed,
                level=grant.level,
                columns=grant.columns,
            )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(
            f"That subject already has a `{grant.level}` grant on `{grant.feed}`; "
            "change it with PATCH instead."
        ) from exc
    return RawJSONResponse(text, status_code=201)


async def _subject_exists(conn: Any, user_id: int | None, group_id: int | None) -> None:
    if user_id is not None and await queries.user_superuser(conn, user_id) is None:
        raise NotFound(f"No user has id {user_id}.")
    if group_id is not None and not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM accounts.groups WHERE id = $1)", group_id
    ):
        raise NotFound(f"No group has id {group_id}.")


@api.get("/grants/{grant_id}", summary="Get a grant", response_model=GrantPublic, responses=errors(404))
async def get_grant(grant_id: GrantId, _: Admin, conn: ReadConn) -> RawJSONResponse:
    """One grant."""
    text = await queries.grant_json(conn, grant_id)
    if text is None:
        raise NotFound(f"No grant has id {grant_id}.")
    return RawJSONResponse(text)


@api.patch(
    "/grants/{grant_id}", summary="Change a grant", response_model=GrantPublic, responses=errors(404, 409)
)
async def change_grant(
    grant_id: GrantId, change: GrantChange, caller: Admin, conn: Conn, request: Request
) -> RawJSONResponse:
    """Change a grant's level and/or its columns (recorded in the audit log)."""
    try:
        async with conn.transaction():
            text = await queries.update_grant(
                conn,
                grant_id,
                actor=_actor(request, caller),
                level=change.level,
                set_columns="columns" in change.model_fields_set,
                columns=change.columns,
            )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("That subject already has a grant at this level on this pattern.") from exc
    if text is None:
        raise NotFound(f"No grant has id {grant_id}.")
    return RawJSONResponse(text)


@api.delete("/grants/{grant_id}", summary="Delete a grant", status_code=204, responses=errors(404))
async def delete_grant(grant_id: GrantId, caller: Admin, conn: Conn, request: Request) -> Response:
    """Remove a grant (recorded in the audit log)."""
    if not await queries.delete_grant(conn, grant_id, actor=_actor(request, caller)):
        raise NotFound(f"No grant has id {grant_id}.")
    return Response(status_code=204)


@api.get(
    "/users/{user_id}/rights",
    summary="A user's effective rights",
    response_model=RightsPublic,
    responses=errors(404),
)
async def user_rights(
    user_id: Annotated[Id, Path(description="The user's id.")],
    _: Admin,
    conn: ReadConn,
    feed: Annotated[
        str | None, Query(max_length=256, pattern=NAME_REGEX, description="Resolve the rights on this feed.")
    ] = None,
) -> dict[str, Any]:
    """The user's grants (their own and their groups'), and the level they give on `feed`."""
    superuser = await queries.user_superuser(conn, user_id)
    if superuser is None:
        raise NotFound(f"No user has id {user_id}.")
    sources = orjson.loads(await queries.rights_grants_json(conn, user_id, feed=feed))
    return effective_rights(user_id, superuser, feed, sources)


@api.get("/audit", summary="Read the audit log", response_model=AuditList)
async def audit(
    _: Admin,
    conn: ReadConn,
    user_id: Annotated[Id | None, Query(description="Only this user's requests.")] = None,
    feed: Annotated[
        str | None, Query(max_length=256, pattern=NAME_REGEX, description="Only this feed.")
    ] = None,
    decision: Annotated[Decision | None, Query(description="allow or deny.")] = None,
    since: Annotated[Moment | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[Moment | None, Query(description="Before this time.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RawJSONResponse:
    """Requests and grant changes, newest first, with the total matching the filters."""
    return RawJSONResponse(
        await queries.list_audit(
            conn,
            user_id=user_id,
            feed=feed,
            decision=decision,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
    )


router.include_router(api)
router.add_api_route("/", pages.index, methods=["GET"], response_class=HTMLResponse, include_in_schema=False)
# The data routes: a plain ASGI app, outside the OpenAPI document (docs/gateway.md describes them),
# matched before the router (Service.plain_routes).
DATA_ROUTES = (Route("/lbasedb/{operation}", endpoint=LbasedbGateway(), include_in_schema=False),)
