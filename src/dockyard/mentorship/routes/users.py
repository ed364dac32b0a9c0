"""The directory, the caller's own profile, home and dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request

from dockyard.accounts.service import change_password as set_password
from dockyard.core.db import Conn, ReadConn
from dockyard.core.errors import BadInput, Forbidden
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse
from dockyard.mentorship import directory, members, messages, notify, overview, payload, profiles, validation
from dockyard.mentorship.auth import Caller
from dockyard.mentorship.models import (
    ChangePasswordRequest,
    Dashboard,
    Export,
    FullUser,
    Home,
    Message,
    PublicUser,
    UpdateUserRequest,
    request_body,
)
from dockyard.mentorship.routes.common import PathId, PoolDep, message

router = APIRouter()
Body = Annotated[Any, Depends(payload.json_body)]

TOTAL: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "X-Total-Count": {
                "schema": {"type": "integer"},
                "description": "Users matching, over every page.",
            }
        }
    }
}


def _search(
    search: Annotated[str, Query(max_length=200, description="Part of the name or username.")] = "",
    page: Annotated[
        str | None, Query(description="Page, from 1 (an integer; anything else means 1).")
    ] = None,
    per_page: Annotated[
        str | None, Query(description="Users per page, at most 50 (an integer; anything else means 10).")
    ] = None,
    skills: Annotated[str | None, Query(max_length=200, description="Part of the skills.")] = None,
    interests: Annotated[str | None, Query(max_length=200, description="Part of the interests.")] = None,
    available: Annotated[bool | None, Query(description="Only users who are (or are not) available.")] = None,
) -> directory.Search:
    return directory.Search(
        search=search,
        skills=skills,
        interests=interests,
        available=available,
        page=directory.int_arg(page, directory.DEFAULT_PAGE),
        per_page=directory.int_arg(per_page, directory.DEFAULT_PER_PAGE),
    )


SearchArgs = Annotated[directory.Search, Depends(_search)]


async def _listing(conn: ReadConn, user: Caller, query: directory.Search) -> RawJSONResponse:
    page, total = await directory.list_users(conn, user.user_id, query)
    return RawJSONResponse(page, headers={"X-Total-Count": str(total)})


@router.get(
    "/users",
    response_model=list[PublicUser],
    summary="List users",
    responses={**errors(400), **TOTAL},
)
async def list_users(user: Caller, conn: ReadConn, query: SearchArgs) -> RawJSONResponse:
    """Users other than the caller, by id, verified or not; `search` matches name or username."""
    return await _listing(conn, user, query)


@router.get(
    "/users/verified",
    response_model=list[PublicUser],
    summary="List verified users",
    responses={**errors(400), **TOTAL},
)
async def list_verified_users(user: Caller, conn: ReadConn, query: SearchArgs) -> RawJSONResponse:
    """As GET /users, verified users only."""
    return await _listing(conn, user, directory.Search(**{**query.__dict__, "verified_only": True}))


@router.get(
    "/users/{user_id:int}",
    response_model=PublicUser,
    summary="One user",
    responses=errors(403, 404),
)
async def get_user(user_id: PathId, _: Caller, conn: ReadConn) -> RawJSONResponse:
    """A user's public profile."""
    return RawJSONResponse(await directory.one_user(conn, user_id))


@router.get("/user", response_model=FullUser, summary="Your profile", responses=errors(403, 404))
async def own_profile(user: Caller, conn: ReadConn) -> RawJSONResponse:
    """Everything in your profile, with email and admin status."""
    return RawJSONResponse(await profiles.own_profile(conn, user.user_id))


@router.put(
    "/user",
    response_model=Message,
    summary="Update your profile",
    responses=errors(400, 403, 404, 413),
    openapi_extra=request_body(UpdateUserRequest),
)
async def update_profile(body: Body, user: Caller, conn: Conn) -> Message:
    """Any of the fields; an empty string clears one, unknown keys are ignored."""
    if error := validation.profile_update_error(body):
        raise BadInput(error)
    await profiles.update_profile(conn, user.user_id, body)
    return message(messages.USER_UPDATED)


@router.delete(
    "/user", response_model=Message, summary="Delete your account", responses=errors(400, 403, 404)
)
async def delete_account(user: Caller, conn: Conn, request: Request, background: BackgroundTasks) -> Message:
    """Your relations in progress are cancelled and your profile and account anonymised."""
    outgoing = await profiles.delete_account(conn, user.user_id)
    notify.send_after_commit(request, background, *outgoing)
    return message(messages.USER_DELETED)


@router.get("/user/export", response_model=Export, summary="Export your data", responses=errors(403, 404))
async def export(user: Caller, conn: ReadConn) -> RawJSONResponse:
    """Your profile, your relations with their tasks, and the comments you wrote."""
    return RawJSONResponse(await profiles.export(conn, user.user_id))


@router.put(
    "/user/change_password",
    status_code=201,
    response_model=Message,
    summary="Change your password",
    responses=errors(400, 403, 404, 413),
    openapi_extra=request_body(ChangePasswordRequest),
)
async def change_password(body: Body, user: Caller, pool: PoolDep) -> Message:
    """Needs the current password; your other sessions end."""
    data = payload.check_model(body, payload.CHANGE_PASSWORD)
    if error := validation.new_password_error(data):
        raise BadInput(error)
    async with pool.acquire() as conn:
        await members.member(conn, user.user_id)
    try:
        await set_password(
            pool, user.user_id, user.session_id, current=data["current_password"], new=data["new_password"]
        )
    except Forbidden as exc:
        raise BadInput(messages.CURRENT_PASSWORD_INCORRECT) from exc
    return message(messages.PASSWORD_UPDATED)


@router.get("/home", response_model=Home, summary="Your statistics", responses=errors(404))
async def home(user: Caller, conn: ReadConn) -> RawJSONResponse:
    """Your relations counted by state, and your three latest achievements."""
    return RawJSONResponse(await overview.home(conn, user.user_id))


@router.get("/dashboard", response_model=Dashboard, summary="Your dashboard", responses=errors(404))
async def dashboard(user: Caller, conn: ReadConn) -> RawJSONResponse:
    """Your relations as mentor and mentee, sent and received, by state; the tasks of the current one."""
    return RawJSONResponse(await overview.dashboard(conn, user.user_id))
