"""Tasks of a relation and their comments; task ids are counted per relation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from dockyard.core.db import Conn, ReadConn
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse
from dockyard.mentorship import messages, payload, tasks
from dockyard.mentorship.auth import Caller
from dockyard.mentorship.models import (
    CreateTaskRequest,
    Message,
    Task,
    TaskComment,
    TaskCommentRequest,
    request_body,
)
from dockyard.mentorship.routes.common import PathId, message

router = APIRouter()
Body = Annotated[Any, Depends(payload.json_body)]
TASK = "/mentorship_relation/{request_id:int}/task/{task_id:int}"
COMMENTS = "/mentorship_relation/{relation_id:int}/task/{task_id:int}"


@router.post(
    "/mentorship_relation/{request_id:int}/task",
    status_code=201,
    response_model=Message,
    summary="Create a task",
    responses=errors(400, 403, 404, 413),
    openapi_extra=request_body(CreateTaskRequest),
)
async def create_task(request_id: PathId, body: Body, user: Caller, conn: Conn) -> Message:
    """In an accepted relation you are part of."""
    await tasks.create(conn, user.user_id, request_id, payload.as_object(body))
    return message(messages.TASK_CREATED)


@router.get(
    "/mentorship_relation/{request_id:int}/tasks",
    response_model=list[Task],
    summary="List tasks",
    responses=errors(403, 404),
)
async def list_tasks(request_id: PathId, user: Caller, conn: ReadConn) -> RawJSONResponse:
    """The relation's tasks (401 if you are not part of it, as the original)."""
    return RawJSONResponse(await tasks.list_tasks(conn, user.user_id, request_id))


@router.put(
    f"{TASK}/complete", response_model=Message, summary="Complete a task", responses=errors(403, 404, 409)
)
async def complete_task(request_id: PathId, task_id: PathId, user: Caller, conn: Conn) -> Message:
    """Mark the task achieved."""
    await tasks.complete(conn, user.user_id, request_id, task_id)
    return message(messages.TASK_ACHIEVED)


@router.put(
    f"{TASK}/uncomplete",
    response_model=Message,
    summary="Undo a task's completion",
    responses=errors(403, 404, 409),
)
async def uncomplete_task(request_id: PathId, task_id: PathId, user: Caller, conn: Conn) -> Message:
    """Mark an achieved task as not achieved."""
    await tasks.uncomplete(conn, user.user_id, request_id, task_id)
    return message(messages.TASK_REOPENED)


@router.put(
    TASK,
    response_model=Message,
    summary="Edit a task",
    responses=errors(400, 403, 404, 413),
    openapi_extra=request_body(CreateTaskRequest),
)
async def edit_task(request_id: PathId, task_id: PathId, body: Body, user: Caller, conn: Conn) -> Message:
    """Change the description, while the relation is accepted."""
    await tasks.edit(conn, user.user_id, request_id, task_id, payload.as_object(body))
    return message(messages.TASK_UPDATED)


@router.delete(TASK, response_model=Message, summary="Delete a task", responses=errors(403, 404))
async def delete_task(request_id: PathId, task_id: PathId, user: Caller, conn: Conn) -> Message:
    """The task and its comments."""
    await tasks.delete(conn, user.user_id, request_id, task_id)
    return message(messages.TASK_DELETED)


@router.post(
    f"{COMMENTS}/comment",
    status_code=201,
    response_model=Message,
    summary="Comment on a task",
    responses=errors(400, 403, 404, 413),
    openapi_extra=request_body(TaskCommentRequest),
)
async def add_comment(relation_id: PathId, task_id: PathId, body: Body, user: Caller, conn: Conn) -> Message:
    """Up to 400 characters, while the relation is accepted."""
    await tasks.add_comment(conn, user.user_id, relation_id, task_id, payload.as_object(body))
    return message(messages.COMMENT_CREATED)


@router.put(
    COMMENTS + "/comment/{comment_id:int}",
    response_model=Message,
    summary="Edit your comment",
    responses=errors(400, 403, 404, 413),
    openapi_extra=request_body(TaskCommentRequest),
)
async def edit_comment(
    relation_id: PathId, task_id: PathId, comment_id: PathId, body: Body, user: Caller, conn: Conn
) -> Message:
    """While the relation is accepted."""
    await tasks.edit_comment(conn, user.user_id, relation_id, task_id, comment_id, payload.as_object(body))
    return message(messages.COMMENT_UPDATED)


@router.delete(
    COMMENTS + "/comment/{comment_id:int}",
    response_model=Message,
    summary="Delete your comment",
    responses=errors(403, 404),
)
async def delete_comment(
    relation_id: PathId, task_id: PathId, comment_id: PathId, user: Caller, conn: Conn
) -> Message:
    """While the relation is accepted."""
    await tasks.delete_comment(conn, user.user_id, relation_id, task_id, comment_id)
    return message(messages.COMMENT_DELETED)


@router.get(
    f"{COMMENTS}/comments/",
    response_model=list[TaskComment],
    summary="A task's comments",
    responses=errors(403, 404),
)
async def list_comments(
    relation_id: PathId, task_id: PathId, user: Caller, conn: ReadConn
) -> RawJSONResponse:
    """Readable in every state of the relation (the original refused once it was over)."""
    return RawJSONResponse(await tasks.list_comments(conn, user.user_id, relation_id, task_id))
