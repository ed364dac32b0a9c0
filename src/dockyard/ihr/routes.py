"""Routes of the IHR service: the 18 public lists (with their slash-less redirects), the IHR
document, and the user routes. Each handler makes one call."""

from __future__ import annotations

from typing import Annotated

import orjson
import yaml
from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from dockyard.core.db import Conn
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse
from dockyard.ihr import openapi, queries
from dockyard.ihr.auth import Member
from dockyard.ihr.endpoint import Endpoint
from dockyard.ihr.endpoints import ENDPOINTS
from dockyard.ihr.models import (
    MAX_CHANNELS,
    MAX_MONITORED_ASNS,
    ChannelIn,
    ChannelOut,
    MonitoredAsnIn,
    MonitoredAsnOut,
)
from dockyard.ihr.response import CONTENT_TYPE, answer

router = APIRouter()

# --- the public lists ------------------------------------------------------------------------------

lists = APIRouter(prefix="/api", tags=["ihr"])
# The same list routes as plain routes (Service.plain_routes), which is what serves them: each
# takes only the request, so FastAPI's routing (most of an uncached window's Python) adds nothing.
# The API routes above stay for the OpenAPI document.
PLAIN_ROUTES: list[Route] = []


def _add(endpoint: Endpoint) -> None:
    async def list_rows(request: Request) -> Response:
        return await answer(request, endpoint)

    async def add_slash(request: Request) -> Response:
        query = request.url.query
        return RedirectResponse(request.url.path + "/" + (f"?{query}" if query else ""), status_code=301)

    list_rows.__name__ = f"ihr_{endpoint.name}"
    lists.add_api_route(
        f"/{endpoint.path}",
        list_rows,
        methods=["GET"],
        summary=endpoint.summary,
        description=openapi.description(endpoint),
        openapi_extra=openapi.operation_extra(endpoint),
        responses=openapi.ERRORS,
        response_class=Response,
        name=f"ihr_{endpoint.name}",
    )
    lists.add_api_route(f"/{endpoint.path.rstrip('/')}", add_slash, methods=["GET"], include_in_schema=False)
    PLAIN_ROUTES.append(Route(f"/api/{endpoint.path}", list_rows, methods=["GET"], name=list_rows.__name__))


for _endpoint in ENDPOINTS:
    _add(_endpoint)


@lists.get("/swagger.json", include_in_schema=False)
@lists.get("/openapi.json", include_in_schema=False)
async def ihr_document_json(request: Request) -> Response:
    """The IHR document as JSON (`openapi.json` is what the IHR website's API page loads)."""
    return Response(orjson.dumps(openapi.ihr_document(request)), media_type=CONTENT_TYPE)


@lists.get("/swagger.yaml", include_in_schema=False)
async def ihr_document_yaml(request: Request) -> Response:
    """The IHR document as YAML."""
    text = yaml.safe_dump(openapi.ihr_document(request), sort_keys=False, allow_unicode=True)
    return Response(text, media_type="application/yaml")


# --- the user routes -------------------------------------------------------------------------------

user = APIRouter(prefix="/api/user", tags=["ihr user"])

# Reads use the primary too (Conn): a user reading back what they just saved must see it, which a
# lagging replica would not guarantee.


@user.get("/monitored_asns", response_model=list[MonitoredAsnOut], summary="Your monitored ASes")
async def get_monitored_asns(member: Member, conn: Conn) -> RawJSONResponse:
    """The ASes you monitor with their notification level, ordered by asn."""
    return RawJSONResponse(await queries.monitored_asns(conn, user_id=member.user_id))


@user.put(
    "/monitored_asns",
    response_model=list[MonitoredAsnOut],
    summary="Replace your monitored ASes",
    responses=errors(400),
)
async def put_monitored_asns(
    entries: Annotated[list[MonitoredAsnIn], Body(max_length=MAX_MONITORED_ASNS)],
    member: Member,
    conn: Conn,
) -> RawJSONResponse:
    """Replace the whole list (at most 1000 ASes, each once); `[]` clears it. Answers with the new list."""
    return RawJSONResponse(
        await queries.replace_monitored_asns(conn, user_id=member.user_id, entries=entries)
    )


@user.get("/channels", response_model=list[ChannelOut], summary="Your notification channels")
async def get_channels(member: Member, conn: Conn) -> RawJSONResponse:
    """The channels notifications are sent through, with their frequency."""
    return RawJSONResponse(await queries.channels(conn, user_id=member.user_id))


@user.put(
    "/channels",
    response_model=list[ChannelOut],
    summary="Replace your notification channels",
    responses=errors(400),
)
async def put_channels(
    entries: Annotated[list[ChannelIn], Body(max_length=MAX_CHANNELS)],
    member: Member,
    conn: Conn,
) -> RawJSONResponse:
    """Replace the whole list (each channel once); `[]` turns notifications off. Answers with the new list."""
    return RawJSONResponse(await queries.replace_channels(conn, user_id=member.user_id, entries=entries))


router.include_router(user)
router.include_router(lists)
