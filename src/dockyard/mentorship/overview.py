"""GET /home and GET /dashboard, each one statement building its JSON in PostgreSQL."""

from __future__ import annotations

from dockyard.core.db import Connection
from dockyard.core.errors import NotFound
from dockyard.mentorship import messages
from dockyard.mentorship.members import epoch

# The three latest completed tasks of all the user's relations (the original took "the last three
# of its JSON lists", an order nobody chose).
HOME = f"""WITH counts AS (
    SELECT count(*) FILTER (WHERE state = 1) AS pending, count(*) FILTER (WHERE state = 2) AS accepted,
           count(*) FILTER (WHERE state = 3) AS rejected, count(*) FILTER (WHERE state = 4) AS cancelled,
           count(*) FILTER (WHERE state = 5) AS completed
    FROM mentorship.relation_parties WHERE user_id = $1
), achievements AS (
    SELECT t.* FROM mentorship.relation_parties rp JOIN mentorship.tasks t ON t.relation_id = rp.relation_id
    WHERE rp.user_id = $1 AND t.is_done
    ORDER BY t.completed_at DESC, t.id DESC LIMIT 3
)
SELECT json_build_object(
    'name', p.name, 'pending_requests', c.pending, 'accepted_requests', c.accepted,
    'rejected_requests', c.rejected, 'completed_relations', c.completed, 'cancelled_relations', c.cancelled,
    'achievements', coalesce((SELECT json_agg(json_build_object(
        'id', a.number, 'description', a.description, 'is_done', a.is_done,
        'created_at', {epoch("a.created_at")}, 'completed_at', {epoch("a.completed_at")})
        ORDER BY a.completed_at DESC, a.id DESC) FROM achievements a), '[]'))::text
FROM mentorship.profiles p, counts c WHERE p.user_id = $1 AND p.deleted_at IS NULL"""


async def home(conn: Connection, user_id: int) -> str:
    """The caller's counts by state and latest achievements, as JSON text."""
    text: str | None = await conn.fetchval(HOME, user_id)
    if text is None:
        raise NotFound(messages.USER_NOT_FOUND)
    return text


STATES = (("accepted", 2), ("rejected", 3), ("completed", 5), ("cancelled", 4), ("pending", 1))


def _by_state(role: str, sent: bool) -> str:
    parts = []
    for name, state in STATES:
        condition = f"e.role = '{role}' AND e.sent = {str(sent).lower()} AND e.state = {state}"
        parts.append(f"'{name}', coalesce(json_agg(e.doc ORDER BY e.id) FILTER (WHERE {condition}), '[]')")
    return f"json_build_object({', '.join(parts)})"


def _side(role: str) -> str:
    return f"json_build_object('sent', {_by_state(role, True)}, 'received', {_by_state(role, False)})"


TASK = f"""json_build_object('id', t.number, 'description', t.description,
    'created_at', {epoch("t.created_at")}, 'completed_at', {epoch("t.completed_at")})"""

# Relations split by the caller's role, who sent them and their state; the tasks of the ACCEPTED
# relation are added only while there is one, as the original did.
DASHBOARD = f"""WITH entries AS (
    SELECT r.id, rp.role, r.action_user_id = $1 AS sent, r.state, json_build_object(
        'id', r.id, 'action_user_id', r.action_user_id,
        'mentor', json_build_object('id', r.mentor_id, 'user_name', pm.name, 'photo_url', pm.photo_url),
        'mentee', json_build_object('id', r.mentee_id, 'user_name', pe.name, 'photo_url', pe.photo_url),
        'creation_date', {epoch("r.creation_date")}, 'accept_date', {epoch("r.accept_date")},
        'start_date', {epoch("r.start_date")}, 'end_date', {epoch("r.end_date")},
        'state', r.state, 'notes', r.notes) AS doc
    FROM mentorship.relation_parties rp
    JOIN mentorship.relations r ON r.id = rp.relation_id
    JOIN mentorship.profiles pm ON pm.user_id = r.mentor_id
    JOIN mentorship.profiles pe ON pe.user_id = r.mentee_id
    WHERE rp.user_id = $1
), current AS (
    SELECT relation_id FROM mentorship.relation_parties WHERE user_id = $1 AND state = 2
)
SELECT (
    (SELECT jsonb_build_object('as_mentor', {_side("mentor")}, 'as_mentee', {_side("mentee")}) FROM entries e)
    || coalesce((SELECT jsonb_build_object(
            'tasks_todo', coalesce(json_agg({TASK} ORDER BY t.number) FILTER (WHERE NOT t.is_done), '[]'),
            'tasks_done', coalesce(json_agg({TASK} ORDER BY t.number) FILTER (WHERE t.is_done), '[]'))
        FROM current c LEFT JOIN mentorship.tasks t ON t.relation_id = c.relation_id
        HAVING count(c.relation_id) > 0), '{{}}')
)::text
FROM mentorship.profiles p WHERE p.user_id = $1 AND p.deleted_at IS NULL"""


async def dashboard(conn: Connection, user_id: int) -> str:
    """The caller's relations by role, direction and state, and current tasks, as JSON text."""
    text: str | None = await conn.fetchval(DASHBOARD, user_id)
    if text is None:
        raise NotFound(messages.USER_NOT_FOUND)
    return text
