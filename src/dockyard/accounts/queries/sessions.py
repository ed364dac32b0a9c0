"""Sessions (one per login) and their rotating refresh tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg

from dockyard.core.db import Connection

INSERT_SESSION = "INSERT INTO accounts.sessions (id, user_id, user_agent, ip) VALUES ($1, $2, $3, $4)"


async def open_session(conn: Connection, *, user_id: int, user_agent: str, ip: str | None) -> uuid.UUID:
    """Record a new session for the user; its id."""
    session_id = uuid.uuid4()
    await conn.execute(INSERT_SESSION, session_id, user_id, user_agent[:300], ip)
    return session_id


INSERT_REFRESH_TOKEN = """
INSERT INTO accounts.refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, now() + $3)
"""


async def add_refresh_token(
    conn: Connection, *, token_hash: bytes, session_id: uuid.UUID, ttl: dt.timedelta
) -> None:
    """Store the digest of a new refresh token of the session."""
    await conn.execute(INSERT_REFRESH_TOKEN, token_hash, session_id, ttl)


# Locks the token and its session: two refreshes with one token take turns, and the second sees
# the first one's rotation.
REFRESH_TOKEN = """
SELECT rt.session_id, rt.expires_at <= now() AS expired,
       rt.rotated_at IS NOT NULL AS rotated, s.revoked_at IS NOT NULL AS revoked,
       s.user_id, u.is_active AND u.deleted_at IS NULL AS active
FROM accounts.refresh_tokens rt
JOIN accounts.sessions s ON s.id = rt.session_id
JOIN accounts.users u ON u.id = s.user_id
WHERE rt.token_hash = $1
FOR UPDATE OF rt, s
"""


async def lock_refresh_token(conn: Connection, token_hash: bytes) -> asyncpg.Record | None:
    """The refresh token's state with its session and user, locked (inside a transaction)."""
    row: asyncpg.Record | None = await conn.fetchrow(REFRESH_TOKEN, token_hash)
    return row


ROTATE = "UPDATE accounts.refresh_tokens SET rotated_at = now() WHERE token_hash = $1"
TOUCH_SESSION = "UPDATE accounts.sessions SET last_used_at = now() WHERE id = $1"


async def spend_refresh_token(conn: Connection, token_hash: bytes, session_id: uuid.UUID) -> None:
    """Mark the refresh token used and the session just used."""
    await conn.execute(ROTATE, token_hash)
    await conn.execute(TOUCH_SESSION, session_id)


REVOKE = """
UPDATE accounts.sessions SET revoked_at = now(), revoked_why = $4
WHERE revoked_at IS NULL AND (id = $1 OR user_id = $2) AND id IS DISTINCT FROM $3
"""


async def revoke(
    conn: Any,
    why: str,
    *,
    session_id: uuid.UUID | None = None,
    user_id: int | None = None,
    keep: uuid.UUID | None = None,
) -> int:
    """End one session, or every session of a user but `keep`; how many were open."""
    result: str = await conn.execute(REVOKE, session_id, user_id, keep, why)
    return int(result.split()[-1])


SESSIONS_OF = """
SELECT id, created_at, last_used_at, revoked_at, revoked_why, user_agent, host(ip) AS ip
FROM accounts.sessions WHERE user_id = $1 ORDER BY created_at
"""


async def sessions_of(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """Every session of the user, oldest first (never a token)."""
    return [dict(row) for row in await conn.fetch(SESSIONS_OF, user_id)]
