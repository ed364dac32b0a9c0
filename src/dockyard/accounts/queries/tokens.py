"""Personal API tokens, and the one-time tokens mailed for verification and password resets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dockyard.core.db import Connection

API_TOKEN_COLUMNS = (
    "id, name, prefix, scope, created_at, expires_at, last_used_at, revoked_at IS NOT NULL AS revoked"
)

API_TOKENS_OF = f"""
SELECT {API_TOKEN_COLUMNS} FROM accounts.api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC
"""


async def api_tokens_of(conn: Any, user_id: int) -> list[dict[str, Any]]:
    """The user's API tokens, newest first (never the secrets)."""
    return [dict(row) for row in await conn.fetch(API_TOKENS_OF, user_id)]


INSERT_API_TOKEN = f"""
INSERT INTO accounts.api_tokens (user_id, name, token_hash, prefix, scope, expires_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING {API_TOKEN_COLUMNS}
"""


async def insert_api_token(
    conn: Any,
    *,
    user_id: int,
    name: str,
    token_hash: bytes,
    prefix: str,
    scope: list[str] | None,
    expires_at: dt.datetime | None,
) -> dict[str, Any]:
    """Store a new API token (its digest); the row as listed."""
    row = await conn.fetchrow(INSERT_API_TOKEN, user_id, name, token_hash, prefix, scope, expires_at)
    return dict(row)


REVOKE_API_TOKEN = """
UPDATE accounts.api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND user_id = $2
"""


async def revoke_api_token(conn: Any, *, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's tokens; False when the user has no such token."""
    done: str = await conn.execute(REVOKE_API_TOKEN, token_id, user_id)
    return done.endswith(" 1")


# Issuing a new mailed token retires the earlier unused ones of the same purpose.
RETIRE_EMAIL_TOKENS = """
UPDATE accounts.email_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL
"""
INSERT_EMAIL_TOKEN = """
INSERT INTO accounts.email_tokens (token_hash, user_id, purpose, expires_at) VALUES ($1, $2, $3, now() + $4)
"""


async def issue_email_token(
    conn: Connection, *, user_id: int, purpose: str, token_hash: bytes, ttl: dt.timedelta
) -> None:
    """Store a mailed token's digest, retiring the user's earlier unused ones of this purpose."""
    await conn.execute(RETIRE_EMAIL_TOKENS, user_id, purpose)
    await conn.execute(INSERT_EMAIL_TOKEN, token_hash, user_id, purpose, ttl)


USE_EMAIL_TOKEN = """
UPDATE accounts.email_tokens SET used_at = now()
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
RETURNING user_id
"""


async def use_email_token(conn: Connection, *, token_hash: bytes, purpose: str) -> int | None:
    """Spend a live mailed token; its user, or None when it is unknown, used or expired."""
    user_id: int | None = await conn.fetchval(USE_EMAIL_TOKEN, token_hash, purpose)
    return user_id
