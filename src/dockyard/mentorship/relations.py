"""Mentorship relations: the request and its transitions, and the caller's lists (spec A.2, A.4).

Transitions run in the route's transaction with row locks: the relation first, then both parties'
profiles in id order, so two requests touching the same user wait for each other and the second
sees what the first did (two concurrent accepts cannot both win; the partial unique index
`one_accepted_relation_per_user` is the backstop). Accepting sets accept_date and start_date,
which the original never did.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from asyncpg import Record

from dockyard.accounts import mail
from dockyard.core.db import Connection
from dockyard.core.errors import BadInput, Forbidden, NotFound
from dockyard.core.types import BIGINT_MAX
from dockyard.mentorship import members, messages, notify, validation
from dockyard.mentorship.members import ACCEPTED, PENDING, epoch

MAX_DURATION = dt.timedelta(weeks=24)
MIN_DURATION = dt.timedelta(weeks=4)

REQUIRED = (
    ("mentor_id", messages.MENTOR_ID_FIELD_IS_MISSING),
    ("mentee_id", messages.MENTEE_ID_FIELD_IS_MISSING),
    ("end_date", messages.END_DATE_FIELD_IS_MISSING),
    ("notes", messages.NOTES_FIELD_IS_MISSING),
)

PARTY = """SELECT p.user_id, p.name, p.need_mentoring, p.available_to_mentor, u.email,
    EXISTS (SELECT FROM mentorship.relation_parties rp WHERE rp.user_id = p.user_id AND rp.state = 2) AS busy
FROM mentorship.profiles p JOIN accounts.users u ON u.id = p.user_id
WHERE p.user_id = $1 AND p.deleted_at IS NULL"""
CREATE = """INSERT INTO mentorship.relations (mentor_id, mentee_id, action_user_id, end_date, notes)
VALUES ($1, $2, $3, $4, $5) RETURNING id"""


def _end_date(value: Any) -> dt.datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(messages.INVALID_END_DATE)
    try:
        if not math.isfinite(value):
            raise ValueError(value)
        return dt.datetime.fromtimestamp(value, dt.UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise BadInput(messages.INVALID_END_DATE) from exc


async def _party(conn: Connection, user_id: int | None) -> Record | None:
    if user_id is None or not 1 <= user_id <= BIGINT_MAX:
        return None
    row: Record | None = await conn.fetchrow(PARTY, user_id)
    return row


async def send_request(conn: Connection, caller_id: int, data: dict[str, Any]) -> mail.Mail:
    """Create a PENDING request from the caller; the mail for the recipient."""
    for field, message in REQUIRED:
        if field not in data:
            raise BadInput(message)
    notes = data["notes"]
    if not isinstance(notes, str):
        raise BadInput("The notes field has to be a string.")
    if len(notes) > validation.NOTES_MAX:
        raise BadInput(messages.length_message("notes", None, validation.NOTES_MAX))
    mentor_id, mentee_id = members.as_id(data["mentor_id"]), members.as_id(data["mentee_id"])
    if caller_id not in (mentor_id, mentee_id):
        raise BadInput(messages.MATCH_EITHER_MENTOR_OR_MENTEE)
    if mentor_id == mentee_id:
        raise BadInput(messages.RELATION_WITH_YOURSELF)
    end_date = _end_date(data["end_date"])
    now = dt.datetime.now(dt.UTC)
    if end_date < now:
        raise BadInput(messages.END_DATE_PASSED)
    if end_date - now > MAX_DURATION:
        raise BadInput(messages.DURATION_TOO_LONG)
    if end_date - now < MIN_DURATION:
        raise BadInput(messages.DURATION_TOO_SHORT)
    mentor = await _party(conn, mentor_id)
    if mentor is None:
        raise NotFound(messages.MENTOR_DOES_NOT_EXIST)
    if not mentor["available_to_mentor"]:
        raise BadInput(messages.MENTOR_NOT_AVAILABLE)
    mentee = await _party(conn, mentee_id)
    if mentee is None:
        raise NotFound(messages.MENTEE_DOES_NOT_EXIST)
    if not mentee["need_mentoring"]:
        raise BadInput(messages.MENTEE_NOT_AVAILABLE)
    if mentor["busy"]:
        raise BadInput(messages.MENTOR_IN_RELATION)
    if mentee["busy"]:
        raise BadInput(messages.MENTEE_IN_RELATION)
    await conn.execute(CREATE, mentor_id, mentee_id, caller_id, end_date, notes)
    sender, recipient = (mentor, mentee) if caller_id == mentor_id else (mentee, mentor)
    return await notify.new_request(
        conn,
        recipient=recipient["email"],
        recipient_name=recipient["name"],
        sender_name=sender["name"],
        sender_role="mentor" if sender is mentor else "mentee",
        notes=notes,
    )


LOCK_RELATION = """SELECT id, mentor_id, mentee_id, action_user_id, state
FROM mentorship.relations WHERE id = $1 FOR UPDATE"""
LOCK_PARTIES = (
    "SELECT user_id FROM mentorship.profiles WHERE user_id = ANY($1::bigint[]) ORDER BY user_id FOR UPDATE"
)
# Run after the locks are held: a statement sees what committed before it started, so the check
# cannot be part of the statement that waited for a lock.
BUSY = "SELECT user_id FROM mentorship.relation_parties WHERE user_id = ANY($1::bigint[]) AND state = 2"
SET_STATE = "UPDATE mentorship.relations SET state = $2 WHERE id = $1"
ACCEPT = "UPDATE mentorship.relations SET state = 2, accept_date = now(), start_date = now() WHERE id = $1"


async def _locked(conn: Connection, relation_id: int) -> Record:
    row: Record | None = (
        await conn.fetchrow(LOCK_RELATION, relation_id) if relation_id <= BIGINT_MAX else None
    )
    if row is None:
        raise NotFound(messages.REQUEST_DOES_NOT_EXIST)
    return row


def _involved(relation: Record, user_id: int) -> bool:
    return user_id in (relation["mentor_id"], relation["mentee_id"])


async def accept(conn: Connection, caller_id: int, relation_id: int) -> mail.Mail:
    """PENDING → ACCEPTED by the receiver; the mail for the sender."""
    await members.member(conn, caller_id)
    relation = await _locked(conn, relation_id)
    if relation["state"] != PENDING:
        raise Forbidden(messages.NOT_PENDING)
    if relation["action_user_id"] == caller_id:
        raise Forbidden(messages.CANT_ACCEPT_OWN)
    if not _involved(relation, caller_id):
        raise Forbidden(messages.CANT_ACCEPT_UNINVOLVED)
    parties = [relation["mentor_id"], relation["mentee_id"]]
    await conn.fetch(LOCK_PARTIES, parties)
    busy = {row["user_id"] for row in await conn.fetch(BUSY, parties)}
    if caller_id in busy:
        raise Forbidden(messages.ALREADY_IN_RELATION)
    caller_is_mentor = relation["mentor_id"] == caller_id
    other = relation["mentee_id"] if caller_is_mentor else relation["mentor_id"]
    if other in busy:
        raise BadInput(messages.MENTEE_IN_RELATION if caller_is_mentor else messages.MENTOR_IN_RELATION)
    await conn.execute(ACCEPT, relation_id)
    sender = await members.find(conn, relation["action_user_id"])
    me = await members.find(conn, caller_id)
    assert sender is not None
    assert me is not None
    return await notify.accepted(
        conn, recipient=sender.email, recipient_name=sender.name, partner_name=me.name
    )


async def reject(conn: Connection, caller_id: int, relation_id: int) -> None:
    """PENDING → REJECTED by the receiver."""
    await members.member(conn, caller_id)
    relation = await _locked(conn, relation_id)
    if relation["state"] != PENDING:
        raise Forbidden(messages.NOT_PENDING)
    if relation["action_user_id"] == caller_id:
        raise Forbidden(messages.CANT_REJECT_OWN)
    if not _involved(relation, caller_id):
        raise Forbidden(messages.CANT_REJECT_UNINVOLVED)
    await conn.execute(SET_STATE, relation_id, members.REJECTED)


async def cancel(conn: Connection, caller_id: int, relation_id: int) -> None:
    """ACCEPTED → CANCELLED by either party."""
    await members.member(conn, caller_id)
    relation = await _locked(conn, relation_id)
    if relation["state"] != ACCEPTED:
        raise Forbidden(messages.NOT_ACCEPTED)
    if not _involved(relation, caller_id):
        raise Forbidden(messages.CANT_CANCEL_UNINVOLVED)
    await conn.execute(SET_STATE, relation_id, members.CANCELLED)


async def delete(conn: Connection, caller_id: int, relation_id: int) -> None:
    """A PENDING request deleted by its sender."""
    await members.member(conn, caller_id)
    relation = await _locked(conn, relation_id)
    if relation["state"] != PENDING:
        raise Forbidden(messages.NOT_PENDING)
    if relation["action_user_id"] != caller_id:
        raise Forbidden(messages.CANT_DELETE_UNINVOLVED)
    await conn.execute("DELETE FROM mentorship.relations WHERE id = $1", relation_id)


# --- lists -------------------------------------------------------------------------------------

# `r` a relation, `$1` the caller.
RELATION = f"""json_build_object(
    'id', r.id, 'action_user_id', r.action_user_id, 'sent_by_me', r.action_user_id = $1,
    'mentor', json_build_object('id', r.mentor_id, 'name', pm.name),
    'mentee', json_build_object('id', r.mentee_id, 'name', pe.name),
    'creation_date', {epoch("r.creation_date")}, 'accept_date', {epoch("r.accept_date")},
    'start_date', {epoch("r.start_date")}, 'end_date', {epoch("r.end_date")},
    'state', r.state, 'notes', r.notes)"""
MINE = """FROM mentorship.relation_parties rp
JOIN mentorship.relations r ON r.id = rp.relation_id
JOIN mentorship.profiles pm ON pm.user_id = r.mentor_id
JOIN mentorship.profiles pe ON pe.user_id = r.mentee_id
WHERE rp.user_id = $1"""
# The original listed the user's relations as mentor first, then as mentee, each by id.
ORDER = "rp.role DESC, r.id"
ALL_MINE = f"SELECT coalesce(json_agg({RELATION} ORDER BY {ORDER}), '[]')::text {MINE}"
LISTS = {
    "all": ALL_MINE,
    "state": f"{ALL_MINE} AND rp.state = $2",
    "past": f"{ALL_MINE} AND r.end_date < now()",
    "pending": f"{ALL_MINE} AND rp.state = 1 AND r.end_date > now()",
    "current": f"SELECT {RELATION}::text {MINE} AND rp.state = 2",
}


async def list_relations(conn: Connection, caller_id: int, relation_state: str | None) -> str | None:
    """The caller's relations as JSON text, filtered by a state name; None for an unknown state."""
    await members.member(conn, caller_id)
    if relation_state:
        state = members.STATE_NAMES.get(relation_state.upper())
        if state is None:
            return None
        text: str = await conn.fetchval(LISTS["state"], caller_id, state)
        return text
    text = await conn.fetchval(LISTS["all"], caller_id)
    return text


async def listing(conn: Connection, caller_id: int, which: str) -> str | None:
    """The caller's `past`, `pending` or `current` relations as JSON text (None: no current one)."""
    await members.member(conn, caller_id)
    text: str | None = await conn.fetchval(LISTS[which], caller_id)
    return text
