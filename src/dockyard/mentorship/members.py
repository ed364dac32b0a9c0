"""Mentorship users as the rules see them, and the JSON fragments every listing shares.

`member` is the original's `email_verification_required` (spec A.1): the user must have a live
profile (404 "User does not exist.") with a verified email (403 "Please verify your email before
login."). It runs on the caller's connection, optionally locking the profile row.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.core.db import Connection
from dockyard.core.errors import Forbidden, NotFound
from dockyard.core.types import BIGINT_MAX
from dockyard.mentorship import messages

PENDING, ACCEPTED, REJECTED, CANCELLED, COMPLETED = 1, 2, 3, 4, 5
STATE_NAMES = {
    "PENDING": PENDING,
    "ACCEPTED": ACCEPTED,
    "REJECTED": REJECTED,
    "CANCELLED": CANCELLED,
    "COMPLETED": COMPLETED,
}
DELETED_NAME = "Deleted user"


def epoch(column: str) -> str:
    """SQL for a timestamptz column as float UNIX seconds (how the API writes dates)."""
    return f"extract(epoch FROM {column})::float8"


# `p` is a mentorship.profiles row.
IS_AVAILABLE = """((p.need_mentoring OR p.available_to_mentor) AND NOT EXISTS (
    SELECT FROM mentorship.relation_parties busy WHERE busy.user_id = p.user_id AND busy.state = 2))"""

PUBLIC_USER = f"""json_build_object(
    'id', p.user_id, 'username', p.username, 'name', p.name, 'slack_username', p.slack_username,
    'bio', p.bio, 'location', p.location, 'occupation', p.occupation, 'organization', p.organization,
    'interests', p.interests, 'skills', p.skills, 'need_mentoring', p.need_mentoring,
    'available_to_mentor', p.available_to_mentor, 'is_available', {IS_AVAILABLE},
    'registration_date', {epoch("p.registration_date")})"""

MEMBER = """SELECT p.user_id, p.is_admin, u.email_verified_at IS NOT NULL AS verified, u.email, p.name
FROM mentorship.profiles p JOIN accounts.users u ON u.id = p.user_id
WHERE p.user_id = $1 AND p.deleted_at IS NULL"""


@dataclass(frozen=True)
class Member:
    """A live mentorship user."""

    user_id: int
    is_admin: bool
    verified: bool
    email: str
    name: str


async def find(conn: Connection, user_id: int, *, lock: bool = False) -> Member | None:
    """The live profile of `user_id`, or None (row-locked for the transaction when `lock`)."""
    if not 1 <= user_id <= BIGINT_MAX:
        return None
    row = await conn.fetchrow(MEMBER + (" FOR UPDATE OF p" if lock else ""), user_id)
    if row is None:
        return None
    return Member(row["user_id"], row["is_admin"], row["verified"], row["email"], row["name"])


async def member(conn: Connection, user_id: int, *, lock: bool = False) -> Member:
    """The verified member `user_id`: 404 or 403 with the original's messages otherwise."""
    found = await find(conn, user_id, lock=lock)
    if found is None:
        raise NotFound(messages.USER_DOES_NOT_EXIST)
    if not found.verified:
        raise Forbidden(messages.VERIFY_EMAIL_BEFORE_LOGIN)
    return found


def as_id(value: object) -> int | None:
    """A JSON value used as a user id: integers (and integral floats, which Python compares equal)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
