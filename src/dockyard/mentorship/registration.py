"""Joining and signing in: registration, email confirmation, login by username or email, refresh.

Identity is accounts': the account (email, argon2id password hash, verification, sessions and
rotating refresh tokens) is created and checked by `dockyard.accounts.service`; the profile row
beside it makes the account a mentorship user. The first user ever registered becomes the admin.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from dockyard.accounts import mail
from dockyard.accounts.passwords import hash_password, verify_password
from dockyard.accounts.service import (
    Client,
    TokenPair,
    create_account,
    normalise_email,
    use_verification_token,
)
from dockyard.accounts.service import login as open_session
from dockyard.accounts.service import refresh as rotate_refresh
from dockyard.accounts.tokens import TokenSigner, digest
from dockyard.core.config import Settings
from dockyard.core.db import Connection, Pool
from dockyard.core.errors import BadInput, Conflict, Forbidden, NotFound, Unauthorized
from dockyard.mentorship import messages, notify, validation

# Registrations take this transaction-level advisory lock, so "the first user is the admin" and
# the username check hold when two people register at once.
REGISTRATION_LOCK = 7_246_101

USERNAME_TAKEN = "SELECT 1 FROM mentorship.profiles WHERE lower(username) = lower($1)"
EMAIL_TAKEN = "SELECT 1 FROM accounts.users WHERE lower(email) = lower($1)"
INSERT_PROFILE = """INSERT INTO mentorship.profiles
    (user_id, username, name, terms_and_conditions_checked, is_admin, need_mentoring, available_to_mentor)
VALUES ($1, $2, $3, $4, NOT EXISTS (SELECT FROM mentorship.profiles), $5, $6)"""


async def register(
    conn: Connection, settings: Settings, data: dict[str, Any], *, verification_ttl: dt.timedelta
) -> mail.Mail:
    """Create the account and its profile (data already validated); the verification mail to send."""
    password_hash = await hash_password(data["password"])
    await conn.execute("SELECT pg_advisory_xact_lock($1)", REGISTRATION_LOCK)
    if await conn.fetchval(USERNAME_TAKEN, data["username"]):
        raise Conflict(messages.USERNAME_TAKEN)
    if await conn.fetchval(EMAIL_TAKEN, normalise_email(data["email"])):
        raise Conflict(messages.EMAIL_TAKEN)
    user_id = await create_account(
        conn, email=data["email"], password_hash=password_hash, display_name=data["name"]
    )
    await conn.execute(
        INSERT_PROFILE,
        user_id,
        data["username"],
        data["name"],
        bool(data["terms_and_conditions_checked"]),
        data.get("need_mentoring") is True,
        data.get("available_to_mentor") is True,
    )
    return await notify.verification(
        conn, settings, user_id=user_id, email=data["email"], name=data["name"], ttl=verification_ttl
    )


async def confirm_email(conn: Connection, token: str) -> str:
    """Confirm the address the token was mailed to; the message to answer (BadInput if unknown)."""
    outcome = await use_verification_token(conn, token) if len(token) <= 200 else None
    if outcome is None:
        raise BadInput(messages.CONFIRMATION_INVALID)
    return messages.ACCOUNT_CONFIRMED if outcome[1] else messages.ACCOUNT_ALREADY_CONFIRMED


ACCOUNT_BY_EMAIL = """SELECT p.user_id, p.name, u.email, u.email_verified_at IS NOT NULL AS verified
FROM accounts.users u JOIN mentorship.profiles p ON p.user_id = u.id
WHERE lower(u.email) = lower($1) AND p.deleted_at IS NULL"""
ACCOUNT_BY_USERNAME = """SELECT p.user_id, p.name, u.email, u.email_verified_at IS NOT NULL AS verified
FROM mentorship.profiles p JOIN accounts.users u ON u.id = p.user_id
WHERE lower(p.username) = lower($1) AND p.deleted_at IS NULL"""


async def resend_email(
    conn: Connection, settings: Settings, email: str, *, verification_ttl: dt.timedelta
) -> mail.Mail:
    """A new verification mail for a registered, unverified address (404 / 403 otherwise)."""
    row = await conn.fetchrow(ACCOUNT_BY_EMAIL, normalise_email(email))
    if row is None:
        raise NotFound(messages.NOT_REGISTERED)
    if row["verified"]:
        raise Forbidden(messages.ALREADY_CONFIRMED_EMAIL)
    return await notify.verification(
        conn, settings, user_id=row["user_id"], email=row["email"], name=row["name"], ttl=verification_ttl
    )


@dataclass(frozen=True)
class Tokens:
    """What login and refresh answer: the tokens and when they expire (UNIX seconds)."""

    access_token: str
    access_expiry: float
    refresh_token: str
    refresh_expiry: float


def _tokens(pair: TokenPair, settings: Settings) -> Tokens:
    now = time.time()
    return Tokens(
        pair.access_token, now + pair.expires_in, pair.refresh_token, now + settings.refresh_token_ttl_s
    )


async def login(
    pool: Pool, signer: TokenSigner, settings: Settings, *, username: Any, password: Any, client: Client
) -> Tokens:
    """Open a session for a username or email and password; 401, or 403 while unverified."""
    row = None
    if isinstance(username, str) and isinstance(password, str):
        query = ACCOUNT_BY_EMAIL if validation.is_email(username) else ACCOUNT_BY_USERNAME
        name = normalise_email(username) if query is ACCOUNT_BY_EMAIL else username
        row = await pool.fetchrow(query, name)
    if row is None:
        await verify_password(str(password), None)  # the same work whether or not the user exists
        raise Unauthorized(messages.WRONG_USERNAME_OR_PASSWORD)
    try:
        pair = await open_session(
            pool, signer, settings, email=row["email"], password=password, client=client
        )
    except Unauthorized as exc:
        raise Unauthorized(messages.WRONG_USERNAME_OR_PASSWORD) from exc
    except Forbidden as exc:
        if not row["verified"]:
            raise Forbidden(messages.VERIFY_EMAIL_BEFORE_LOGIN) from exc
        raise
    return _tokens(pair, settings)


async def refresh(pool: Pool, signer: TokenSigner, settings: Settings, token: str) -> Tokens:
    """Swap a refresh token for new tokens (each refresh token works once)."""
    try:
        pair = await rotate_refresh(pool, signer, settings, token)
    except Unauthorized as exc:
        expired = await pool.fetchval(
            "SELECT expires_at <= now() FROM accounts.refresh_tokens WHERE token_hash = $1", digest(token)
        )
        raise Unauthorized(messages.TOKEN_EXPIRED if expired else messages.TOKEN_INVALID) from exc
    return _tokens(pair, settings)
