"""Personal API tokens, and the one-time tokens mailed for verification and password resets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from dockyard.core.db import Connection

API_TOKEN_COLUMNS = (
    "id, name, prefix, scope, created_at, expires_at, last_used_at, revoked_at IS NOT NULL AS revoked, "
    "revoked_why"
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
UPDATE accounts.api_tokens
SET revoked_at = coalesce(revoked_at, now()), revoked_why = coalesce(revoked_why, 'revoked by its owner')
WHERE id = $1 AND user_id = $2
"""


async def revoke_api_token(conn: Any, *, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's tokens; False when the user has no such token."""
    done: str = await conn.execute(REVOKE_API_TOKEN, token_id, user_id)
    return done.endswith(" 1")


REVOKE_API_TOKENS_OF = """
UPDATE accounts.api_tokens SET revoked_at = now(), revoked_why = $2 WHERE user_id = $1 AND revoked_at IS NULL
"""


async def revoke_api_tokens_of(conn: Any, *, user_id: int, why: str) -> int:
    """Revoke every live API token of the user for good (nothing revives them); how many there were."""
    done: str = await conn.execute(REVOKE_API_TOKENS_OF, user_id, why)
    return int(done.split()[-1])


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


VERIFICATION_STATE = """
SELECT t.user_id, t.used_at IS NOT NULL AS used, u.email_verified_at IS NOT NULL AS verified
FROM accounts.email_tokens t JOIN accounts.users u ON u.id = t.user_id
WHERE t.token_hash = $1 AND t.purpose = 'verify' AND t.expires_at > now() AND u.deleted_at IS NULL
FOR UPDATE OF t
"""


async def verification_state(conn: Connection, *, token_hash: bytes) -> asyncpg.Record | None:
    """A live verification token's user, whether it was used and whether the address is verified."""
    row: asyncpg.Record | None = await conn.fetchrow(VERIFICATION_STATE, token_hash)
    return row


RETIRE_RESET_TOKENS = """
UPDATE accounts.email_tokens SET used_at = now() WHERE user_id = $1 AND purpose = 'reset' AND used_at IS NULL
"""


async def retire_reset_tokens(conn: Connection, user_id: int) -> None:
    """Spend every other live reset token of the user (one was just used)."""
    await conn.execute(RETIRE_RESET_TOKENS, user_id)


EMAIL_TOKEN_HOLDER = """
SELECT u.id, u.email, u.display_name, u.username
FROM accounts.email_tokens t JOIN accounts.users u ON u.id = t.user_id
WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now()
  AND u.deleted_at IS NULL
"""


async def email_token_holder(conn: Any, *, token_hash: bytes, purpose: str) -> asyncpg.Record | None:
    """The account a live mailed token belongs to (id, email, display_name, username), without spending it."""
    row: asyncpg.Record | None = await conn.fetchrow(EMAIL_TOKEN_HOLDER, token_hash, purpose)
    return row


# A reset or a resent verification link is one statement whatever the address: finding the account,
# storing the token and recording the mail happen in it, or (without an account) nothing does, so an
# address with an account and one without cost the server the same work and time. Reset tokens are
# not retired when another is issued: a stranger asking for resets of someone's address cannot spoil
# the mail its owner is about to use (each works for an hour; using one spends them all).
MAIL_RESET_TOKEN = """
WITH account AS (
    SELECT id, email FROM accounts.users
    WHERE lower(email) = lower($1) AND deleted_at IS NULL AND is_active
), token AS (
    INSERT INTO accounts.email_tokens (token_hash, user_id, purpose, expires_at)
    SELECT $2, id, 'reset', now() + $3 FROM account
), mail AS (
    INSERT INTO accounts.outbox (recipient, subject, body, kind)
    SELECT email, $4, $5, $6 FROM account RETURNING id, recipient
)
SELECT id, recipient FROM mail
"""
MAIL_VERIFY_TOKEN = """
WITH account AS (
    SELECT id, email FROM accounts.users
    WHERE lower(email) = lower($1) AND deleted_at IS NULL AND email_verified_at IS NULL
), retired AS (
    UPDATE accounts.email_tokens SET used_at = now()
    WHERE user_id IN (SELECT id FROM account) AND purpose = 'verify' AND used_at IS NULL
), token AS (
    INSERT INTO accounts.email_tokens (token_hash, user_id, purpose, expires_at)
    SELECT $2, id, 'verify', now() + $3 FROM account
), mail AS (
    INSERT INTO accounts.outbox (recipient, subject, body, kind)
    SELECT email, $4, $5, $6 FROM account RETURNING id, recipient
)
SELECT id, recipient FROM mail
"""
MAIL_TOKEN = {"reset": MAIL_RESET_TOKEN, "verify": MAIL_VERIFY_TOKEN}


async def mail_token(
    conn: Connection,
    *,
    purpose: str,
    email: str,
    token_hash: bytes,
    ttl: dt.timedelta,
    subject: str,
    body: str,
    kind: str,
) -> asyncpg.Record | None:
    """Store the token and record its mail when `email` has an account needing one; (outbox id, recipient)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        MAIL_TOKEN[purpose], email, token_hash, ttl, subject, body, kind
    )
    return row
