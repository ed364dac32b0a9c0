"""Personal API tokens: created by their user, shown once, stored as a hash, optionally scoped."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dockyard.accounts.auth import SELF_SCOPES, Principal
from dockyard.accounts.queries import tokens
from dockyard.accounts.tokens import API_TOKEN_PREFIX, digest, new_secret
from dockyard.core.errors import BadInput

COLUMNS = tokens.API_TOKEN_COLUMNS


async def list_tokens(conn: Any, user_id: int) -> list[dict[str, Any]]:
    """The user's tokens, newest first (never the secrets)."""
    return await tokens.api_tokens_of(conn, user_id)


async def create(
    conn: Any, owner: Principal, *, name: str, expires_in_days: int | None, scope: list[str] | None
) -> dict[str, Any]:
    """Create a token; `scope` must be permissions the owner holds (a token never widens access), or the
    self-service scopes (`accounts.self`, `accounts.credentials`) every owner may grant."""
    if owner.api_token_id is not None:
        raise BadInput("API tokens cannot create API tokens; log in with your password to make one.")
    if scope is not None:
        missing = sorted(code for code in set(scope) if code not in SELF_SCOPES and not owner.can(code))
        if missing:
            raise BadInput(
                f"A token's scope can only narrow your permissions; you do not hold {', '.join(missing)}."
            )
        scope = sorted(set(scope))
    token = new_secret(API_TOKEN_PREFIX)
    expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_in_days) if expires_in_days else None
    row = await tokens.insert_api_token(
        conn,
        user_id=owner.user_id,
        name=name,
        token_hash=digest(token),
        prefix=token[:10],
        scope=scope,
        expires_at=expires_at,
    )
    return {**row, "token": token}


async def revoke(conn: Any, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's tokens; False when there is no such token."""
    return await tokens.revoke_api_token(conn, user_id=user_id, token_id=token_id)
