"""Personal API tokens: created by their user, shown once, stored as a hash, optionally scoped."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dockyard.accounts.auth import Principal
from dockyard.accounts.tokens import API_TOKEN_PREFIX, digest, new_secret
from dockyard.core.errors import BadInput

COLUMNS = "id, name, prefix, scope, created_at, expires_at, last_used_at, revoked_at IS NOT NULL AS revoked"


async def list_tokens(conn: Any, user_id: int) -> list[dict[str, Any]]:
    """The user's tokens, newest first (never the secrets)."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM accounts.api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
        user_id,
    )
    return [dict(row) for row in rows]


async def create(
    conn: Any, owner: Principal, *, name: str, expires_in_days: int | None, scope: list[str] | None
) -> dict[str, Any]:
    """Create a token; `scope` must be permissions the owner holds (a token never widens access)."""
    if owner.api_token_id is not None:
        raise BadInput("API tokens cannot create API tokens; log in with your password to make one.")
    if scope is not None:
        missing = sorted(code for code in set(scope) if not owner.can(code))
        if missing:
            raise BadInput(
                f"A token's scope can only narrow your permissions; you do not hold {', '.join(missing)}."
            )
        scope = sorted(set(scope))
    token = new_secret(API_TOKEN_PREFIX)
    expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_in_days) if expires_in_days else None
    row = await conn.fetchrow(
        f"""INSERT INTO accounts.api_tokens (user_id, name, token_hash, prefix, scope, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}""",
        owner.user_id,
        name,
        digest(token),
        token[:10],
        scope,
        expires_at,
    )
    return {**dict(row), "token": token}


async def revoke(conn: Any, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's tokens; False when there is no such token."""
    done: str = await conn.execute(
        "UPDATE accounts.api_tokens SET revoked_at = coalesce(revoked_at, now()) "
        "WHERE id = $1 AND user_id = $2",
        token_id,
        user_id,
    )
    return done.endswith(" 1")
