"""The example service's routes: each parses its input, makes one call and returns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from dockyard.accounts.auth import CurrentUser
from dockyard.core.db import ReadConn
from dockyard.core.like import contains_pattern
from dockyard.core.responses import RawJSONResponse
from tests.support.example import queries
from tests.support.example.auth import Viewer
from tests.support.example.models import GreetingPublic, GroupList
from tests.support.example.settings import ExampleConfig

router = APIRouter(prefix="/v1", tags=["example"])


@router.get("/greeting", summary="Greet the caller")
async def greeting(user: CurrentUser, settings: ExampleConfig) -> GreetingPublic:
    """The configured greeting, addressed to the caller."""
    return GreetingPublic(message=f"{settings.greeting}, {user.email}")


@router.get("/groups", summary="List groups", response_model=GroupList)
async def groups(
    _: Viewer,
    conn: ReadConn,
    name: Annotated[str, Query(max_length=100, description="Part of the name.")] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RawJSONResponse:
    """Groups by name, with their member counts; built as JSON by PostgreSQL."""
    return RawJSONResponse(
        await queries.groups_json(conn, pattern=contains_pattern(name), limit=limit, offset=offset)
    )
