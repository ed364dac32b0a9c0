"""Mentorship relations: the request, its transitions and the caller's lists."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import JSONResponse

from dockyard.core.db import Conn, ReadConn
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse
from dockyard.mentorship import messages, notify, payload, relations
from dockyard.mentorship.auth import Caller
from dockyard.mentorship.models import Message, Relation, SendRequestBody, request_body
from dockyard.mentorship.routes.common import PathId, message

router = APIRouter()
Body = Annotated[Any, Depends(payload.json_body)]


@router.post(
    "/mentorship_relation/send_request",
    status_code=201,
    response_model=Message,
    summary="Send a mentorship request",
    responses=errors(400, 404, 413),
    openapi_extra=request_body(SendRequestBody),
)
async def send_request(
    body: Body, user: Caller, conn: Conn, request: Request, background: BackgroundTasks
) -> Message:
    """You are the mentor or the mentee; the other person is mailed. Lasts 4 to 24 weeks."""
    outgoing = await relations.send_request(conn, user.user_id, payload.as_object(body))
    notify.send_after_commit(request, background, outgoing)
    return message(messages.RELATION_SENT)


@router.get(
    "/mentorship_relations",
    response_model=list[Relation],
    summary="Your relations",
    responses=errors(400, 403, 404),
)
async def list_relations(
    user: Caller,
    conn: ReadConn,
    relation_state: Annotated[
        str | None,
        Query(max_length=20, description="PENDING, ACCEPTED, REJECTED, CANCELLED or COMPLETED (any case)."),
    ] = None,
) -> Any:
    """All of them, or those in one state; an unknown state is a 400 with an empty list, as before."""
    text = await relations.list_relations(conn, user.user_id, relation_state)
    if text is None:
        return JSONResponse([], status_code=400)
    return RawJSONResponse(text)


@router.put(
    "/mentorship_relation/{request_id:int}/accept",
    response_model=Message,
    summary="Accept a request",
    responses=errors(400, 403, 404),
)
async def accept(
    request_id: PathId, user: Caller, conn: Conn, request: Request, background: BackgroundTasks
) -> Message:
    """By the person who received it, while neither of you is in an accepted relation."""
    outgoing = await relations.accept(conn, user.user_id, request_id)
    notify.send_after_commit(request, background, outgoing)
    return message(messages.RELATION_ACCEPTED)


@router.put(
    "/mentorship_relation/{request_id:int}/reject",
    response_model=Message,
    summary="Reject a request",
    responses=errors(403, 404),
)
async def reject(request_id: PathId, user: Caller, conn: Conn) -> Message:
    """By the person who received it."""
    await relations.reject(conn, user.user_id, request_id)
    return message(messages.RELATION_REJECTED)


@router.put(
    "/mentorship_relation/{request_id:int}/cancel",
    response_model=Message,
    summary="Cancel a relation",
    responses=errors(403, 404),
)
async def cancel(request_id: PathId, user: Caller, conn: Conn) -> Message:
    """An accepted relation, by either person."""
    await relations.cancel(conn, user.user_id, request_id)
    return message(messages.RELATION_CANCELLED)


@router.delete(
    "/mentorship_relation/{request_id:int}",
    response_model=Message,
    summary="Delete a request",
    responses=errors(403, 404),
)
async def delete(request_id: PathId, user: Caller, conn: Conn) -> Message:
    """A pending request, by the person who sent it."""
    await relations.delete(conn, user.user_id, request_id)
    return message(messages.RELATION_DELETED)


@router.get(
    "/mentorship_relations/past",
    response_model=list[Relation],
    summary="Your past relations",
    responses=errors(403, 404),
)
async def past(user: Caller, conn: ReadConn) -> RawJSONResponse:
    """Relations whose end date has passed, in any state."""
    text = await relations.listing(conn, user.user_id, "past")
    assert text is not None
    return RawJSONResponse(text)


@router.get(
    "/mentorship_relations/current",
    response_model=Relation | Message,
    summary="Your current relation",
    responses=errors(403, 404),
)
async def current(user: Caller, conn: ReadConn) -> Any:
    """The accepted relation, or a message saying there is none."""
    text = await relations.listing(conn, user.user_id, "current")
    if text is None:
        return message(messages.NOT_IN_CURRENT_RELATION)
    return RawJSONResponse(text)


@router.get(
    "/mentorship_relations/pending",
    response_model=list[Relation],
    summary="Your pending requests",
    responses=errors(403, 404),
)
async def pending(user: Caller, conn: ReadConn) -> RawJSONResponse:
    """Pending requests, sent or received, whose end date is still ahead."""
    text = await relations.listing(conn, user.user_id, "pending")
    assert text is not None
    return RawJSONResponse(text)
