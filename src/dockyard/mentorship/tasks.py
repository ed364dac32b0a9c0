"""Tasks of a relation and their comments (spec A.2 Tasks, Task comments).

Tasks are rows with a global id; clients see and send the per-relation number (`tasks.number`),
as they saw the original's JSON list ids. Each route keeps the original's order of checks and its
statuses — including 401 for a caller who is not part of the relation. New: a task's description
can be edited and its completion undone; comments stay readable once the relation is over
(writing them still needs it ACCEPTED).
"""

from __future__ import annotations

from typing import Any

from asyncpg import Record

from dockyard.core.db import Connection
from dockyard.core.errors import BadInput, Conflict, Forbidden, NotFound, Unauthorized
from dockyard.core.types import BIGINT_MAX, INT_MAX
from dockyard.mentorship import members, messages, validation
from dockyard.mentorship.members import ACCEPTED, epoch

RELATION = "SELECT id, mentor_id, mentee_id, state FROM mentorship.relations WHERE id = $1"
TASK = "SELECT id, is_done FROM mentorship.tasks WHERE relation_id = $1 AND number = $2"
NEXT_NUMBER = """UPDATE mentorship.relations SET next_task_number = next_task_number + 1
WHERE id = $1 RETURNING next_task_number - 1"""
CREATE = "INSERT INTO mentorship.tasks (relation_id, number, description) VALUES ($1, $2, $3)"
TASKS = f"""SELECT coalesce(json_agg(json_build_object(
    'id', t.number, 'description', t.description, 'created_at', {epoch("t.created_at")},
    'completed_at', {epoch("t.completed_at")}) ORDER BY t.number), '[]')::text
FROM mentorship.tasks t WHERE t.relation_id = $1"""


async def _relation(conn: Connection, relation_id: int, *, lock: bool = False) -> Record:
    if relation_id > BIGINT_MAX:
        raise NotFound(messages.RELATION_DOES_NOT_EXIST)
    row: Record | None = await conn.fetchrow(RELATION + (" FOR UPDATE" if lock else ""), relation_id)
    if row is None:
        raise NotFound(messages.RELATION_DOES_NOT_EXIST)
    return row


def _involved(relation: Record, user_id: int) -> bool:
    return user_id in (relation["mentor_id"], relation["mentee_id"])


async def _task(conn: Connection, relation_id: int, number: int, *, lock: bool = False) -> Record:
    row: Record | None = (
        await conn.fetchrow(TASK + (" FOR UPDATE" if lock else ""), relation_id, number)
        if number <= INT_MAX
        else None
    )
    if row is None:
        raise NotFound(messages.TASK_DOES_NOT_EXIST)
    return row


def description_error(data: dict[str, Any]) -> str | None:
    """Why a task body cannot be used, or None."""
    if "description" not in data:
        return messages.DESCRIPTION_FIELD_IS_MISSING
    if not isinstance(data["description"], str):
        return "The description field has to be a string."
    return None


async def create(conn: Connection, caller_id: int, relation_id: int, data: dict[str, Any]) -> None:
    """Add a task to an ACCEPTED relation the caller is part of."""
    if error := description_error(data):
        raise BadInput(error)
    await members.member(conn, caller_id)
    relation = await _relation(conn, relation_id)
    if relation["state"] != ACCEPTED:
        raise Forbidden(messages.NOT_ACCEPTED)
    if not _involved(relation, caller_id):
        raise Forbidden(messages.NOT_INVOLVED)
    number = await conn.fetchval(NEXT_NUMBER, relation_id)
    await conn.execute(CREATE, relation_id, number, data["description"])


async def list_tasks(conn: Connection, caller_id: int, relation_id: int) -> str:
    """The relation's tasks as JSON text (without is_done, as the original's model)."""
    await members.member(conn, caller_id)
    relation = await _relation(conn, relation_id)
    if not _involved(relation, caller_id):
        raise Unauthorized(messages.NOT_INVOLVED)
    text: str = await conn.fetchval(TASKS, relation_id)
    return text


async def complete(conn: Connection, caller_id: int, relation_id: int, number: int) -> None:
    """Mark a task achieved (409 if it already is)."""
    await members.member(conn, caller_id)
    relation = await _relation(conn, relation_id)
    if not _involved(relation, caller_id):
        raise Unauthorized(messages.NOT_INVOLVED)
    task = await _task(conn, relation_id, number, lock=True)
    if task["is_done"]:
        raise Conflict(messages.TASK_ALREADY_ACHIEVED)
    await conn.execute(
        "UPDATE mentorship.tasks SET is_done = true, completed_at = now() WHERE id = $1", task["id"]
    )


async def uncomplete(conn: Connection, caller_id: int, relation_id: int, number: int) -> None:
    """Undo a task's completion (409 if it is not achieved)."""
    await members.member(conn, caller_id)
    relation = await _relation(conn, relation_id)
    if not _involved(relation, caller_id):
        raise Unauthorized(messages.NOT_INVOLVED)
    task = await _task(conn, relation_id, number, lock=True)
    if not task["is_done"]:
        raise Conflict(messages.TASK_NOT_ACHIEVED)
    await conn.execute(
        "UPDATE mentorship.tasks SET is_done = false, completed_at = NULL WHERE id = $1", task["id"]
    )


async def edit(conn: Connection, caller_id: int, relation_id: int, number: int, data: dict[str, Any]) -> None:
    """Change a task's description, while the relation is ACCEPTED."""
    if error := description_error(data):
        raise BadInput(error)
    await members.member(conn, caller_id)
    relation = await _relation(conn, relation_id)
    if not _involved(relation, caller_id):
        raise Unauthorized(messages.NOT_INVOLVED)
    if relation["state"] != ACCEPTED:
        raise Forbidden(messages.NOT_ACCEPTED)
    task = await _task(conn, relation_id, number, lock=True)
    await conn.execute(
        "UPDATE mentorship.tasks SET description = $2 WHERE id = $1", task["id"], data["description"]
    )


async def delete(conn: Connection, caller_id: int, relation_id: int, number: int) -> None:
    """Delete a task (its comments go with it)."""
    await members.member(conn, caller_id)
    relation = await _relation(conn, relation_id)
    task = await _task(conn, relation_id, number)
    if not _involved(relation, caller_id):
        raise Unauthorized(messages.NOT_INVOLVED)
    await conn.execute("DELETE FROM mentorship.tasks WHERE id = $1", task["id"])


# --- comments ----------------------------------------------------------------------------------

COMMENTS = f"""SELECT coalesce(json_agg(json_build_object(
    'id', c.id, 'user_id', c.user_id, 'task_id', $2::integer, 'relation_id', $1::bigint,
    'creation_date', {epoch("c.creation_date")}, 'modification_date', {epoch("c.modification_date")},
    'comment', c.comment) ORDER BY c.id), '[]')::text
FROM mentorship.task_comments c WHERE c.task_id = $3"""
COMMENT = "SELECT id, user_id, task_id FROM mentorship.task_comments WHERE id = $1 FOR UPDATE"


async def _task_for_comments(
    conn: Connection, caller_id: int, relation_id: int, number: int, *, writing: bool
) -> Record:
    """The task whose comments are used, after the original's checks (validate_data_for_task_comment)."""
    await members.member(conn, caller_id)
    relation = await _relation(conn, relation_id)
    if not _involved(relation, caller_id):
        raise Unauthorized(messages.NOT_INVOLVED)
    if writing and relation["state"] != ACCEPTED:
        raise Forbidden(messages.NOT_ACCEPTED)
    return await _task(conn, relation_id, number)


def _comment_body(data: dict[str, Any]) -> str:
    if error := validation.comment_error(data):
        raise BadInput(error)
    comment: str = data["comment"]
    return comment


async def add_comment(
    conn: Connection, caller_id: int, relation_id: int, number: int, data: dict[str, Any]
) -> None:
    """Comment on a task of an ACCEPTED relation."""
    comment = _comment_body(data)
    task = await _task_for_comments(conn, caller_id, relation_id, number, writing=True)
    await conn.execute(
        "INSERT INTO mentorship.task_comments (task_id, user_id, comment) VALUES ($1, $2, $3)",
        task["id"],
        caller_id,
        comment,
    )


async def _own_comment(
    conn: Connection, caller_id: int, task: Record, comment_id: int, not_yours: str
) -> int:
    row: Record | None = await conn.fetchrow(COMMENT, comment_id) if comment_id <= BIGINT_MAX else None
    if row is None:
        raise NotFound(messages.COMMENT_DOES_NOT_EXIST)
    if row["user_id"] != caller_id:
        raise Forbidden(not_yours)
    if row["task_id"] != task["id"]:
        raise NotFound(messages.COMMENT_NOT_ON_TASK)
    return comment_id


async def edit_comment(
    conn: Connection, caller_id: int, relation_id: int, number: int, comment_id: int, data: dict[str, Any]
) -> None:
    """Change one's own comment."""
    comment = _comment_body(data)
    task = await _task_for_comments(conn, caller_id, relation_id, number, writing=True)
    await _own_comment(conn, caller_id, task, comment_id, messages.COMMENT_NOT_YOURS_MODIFY)
    await conn.execute(
        "UPDATE mentorship.task_comments SET comment = $2, modification_date = now() WHERE id = $1",
        comment_id,
        comment,
    )


async def delete_comment(
    conn: Connection, caller_id: int, relation_id: int, number: int, comment_id: int
) -> None:
    """Delete one's own comment."""
    task = await _task_for_comments(conn, caller_id, relation_id, number, writing=True)
    await _own_comment(conn, caller_id, task, comment_id, messages.COMMENT_NOT_YOURS_DELETE)
    await conn.execute("DELETE FROM mentorship.task_comments WHERE id = $1", comment_id)


async def list_comments(conn: Connection, caller_id: int, relation_id: int, number: int) -> str:
    """A task's comments as JSON text, in any state of the relation."""
    task = await _task_for_comments(conn, caller_id, relation_id, number, writing=False)
    text: str = await conn.fetchval(COMMENTS, relation_id, number, task["id"])
    return text
