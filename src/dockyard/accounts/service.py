"""Account rules: registration, verification, sessions with rotating refresh tokens, passwords.

Plain async functions over a connection pool, so tests can call them directly and the routes stay
thin. Each function owns its transaction: some outcomes (revoking a session on refresh-token
reuse) must be committed even though the request then fails.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from dockyard.accounts import mail
from dockyard.accounts.passwords import check_policy, hash_password, verify_password
from dockyard.accounts.tokens import TokenSigner, digest, new_secret
from dockyard.core.config import Settings
from dockyard.core.db import Connection, Pool
from dockyard.core.errors import BadInput, Conflict, Forbidden, Unauthorized
from dockyard.core.logging import NOTICE

logger = logging.getLogger("dockyard.accounts")

EMAIL_TOKEN_TTL = dt.timedelta(hours=24)
RESET_TOKEN_TTL = dt.timedelta(hours=1)

USER_COLUMNS = """
u.id, u.email, u.username, u.display_name, u.is_active, u.is_superuser,
u.email_verified_at IS NOT NULL AS email_verified, u.created_at, u.last_login_at
"""


@dataclass(frozen=True)
class TokenPair:
    """What a successful login or refresh returns."""

    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


@dataclass(frozen=True)
class Client:
    """Where a login comes from, recorded on the session."""

    ip: str | None
    user_agent: str


def normalise_email(email: str) -> str:
    """Addresses compare case-insensitively; the domain part is stored lower-case."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


# --- registration and verification -------------------------------------------------------------


async def register(
    pool: Pool,
    mailer: mail.Mailer,
    settings: Settings,
    *,
    email: str,
    password: str,
    display_name: str = "",
    username: str | None = None,
) -> dict[str, Any]:
    """Create an unverified account and mail it a verification link."""
    check_policy(password)
    email = normalise_email(email)
    password_hash = await hash_password(password)
    async with pool.acquire() as conn, conn.transaction():
        taken = await conn.fetchrow(
            "SELECT lower(email) = lower($1) AS email, lower(username) = lower($2) AS username "
            "FROM accounts.users WHERE lower(email) = lower($1) OR lower(username) = lower($2) LIMIT 1",
            email,
            username,
        )
        if taken is not None:
            field = "email" if taken["email"] else "username"
            raise Conflict(f"An account with this {field} already exists; log in or reset the password.")
        user = await conn.fetchrow(
            f"""INSERT INTO accounts.users AS u (email, username, display_name, password_hash)
            VALUES ($1, $2, $3, $4) RETURNING {USER_COLUMNS}""",
            email,
            username,
            display_name,
            password_hash,
        )
        assert user is not None  # INSERT ... RETURNING always yields the row
        outgoing = await _verification_mail(conn, settings, user["id"], email)
    await mailer.deliver(pool, outgoing)
    logger.log(NOTICE, "account registered", extra={"user_id": user["id"]})
    return dict(user)


async def _verification_mail(conn: Connection, settings: Settings, user_id: int, email: str) -> mail.Mail:
    token = await _email_token(conn, user_id, "verify", EMAIL_TOKEN_TTL)
    link = f"{settings.public_url.rstrip('/')}/accounts/v1/verify?token={token}"
    body = (
        "Welcome to Dockyard.\n\n"
        f"Confirm your email address by opening this link within 24 hours:\n\n{link}\n\n"
        f'or by sending POST /accounts/v1/verify with {{"token": "{token}"}}.\n\n'
        "If you did not create an account, ignore this message.\n"
    )
    return await mail.record(conn, email, "Confirm your email address", body, "verify")


async def _email_token(conn: Connection, user_id: int, purpose: str, ttl: dt.timedelta) -> str:
    # Issuing a new token retires the earlier unused ones of the same purpose.
    await conn.execute(
        "UPDATE accounts.email_tokens SET used_at = now() "
        "WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        user_id,
        purpose,
    )
    token = new_secret()
    await conn.execute(
        "INSERT INTO accounts.email_tokens (token_hash, user_id, purpose, expires_at) "
        "VALUES ($1, $2, $3, now() + $4)",
        digest(token),
        user_id,
        purpose,
        ttl,
    )
    return token


async def _use_email_token(conn: Connection, token: str, purpose: str) -> int | None:
    user_id: int | None = await conn.fetchval(
        """UPDATE accounts.email_tokens SET used_at = now()
        WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
        RETURNING user_id""",
        digest(token),
        purpose,
    )
    return user_id


async def verify_email(pool: Pool, token: str) -> int:
    """Mark the address of the token's account verified; the token works once."""
    async with pool.acquire() as conn, conn.transaction():
        user_id = await _use_email_token(conn, token, "verify")
        if user_id is None:
            raise BadInput(
                "This verification link is invalid, already used or expired; "
                "request a new one with POST /accounts/v1/verify/resend."
            )
        await conn.execute(
            "UPDATE accounts.users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1",
            user_id,
        )
    logger.log(NOTICE, "email verified", extra={"user_id": user_id})
    return user_id


# Conditions `_account_by_email` accepts (never user input).
_ACCOUNT_CONDITIONS = {"email_verified_at IS NULL", "is_active"}


async def _account_by_email(conn: Connection, email: str, condition: str) -> asyncpg.Record | None:
    """The live account with this address (id, email) that also meets `condition`, or None."""
    if condition not in _ACCOUNT_CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}")
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT id, email FROM accounts.users "
        f"WHERE lower(email) = lower($1) AND deleted_at IS NULL AND {condition}",
        normalise_email(email),
    )
    return row


async def resend_verification(pool: Pool, mailer: mail.Mailer, settings: Settings, email: str) -> None:
    """Mail a new link if the address belongs to an unverified account; say nothing either way."""
    async with pool.acquire() as conn, conn.transaction():
        user = await _account_by_email(conn, email, "email_verified_at IS NULL")
        outgoing = await _verification_mail(conn, settings, user["id"], user["email"]) if user else None
    if outgoing is not None:
        await mailer.deliver(pool, outgoing)


# --- sessions ----------------------------------------------------------------------------------


async def login(
    pool: Pool, signer: TokenSigner, settings: Settings, *, email: str, password: str, client: Client
) -> TokenPair:
    """Check the password, then open a session. Unverified and deactivated accounts are refused."""
    user = await pool.fetchrow(
        "SELECT id, password_hash, is_active, email_verified_at FROM accounts.users "
        "WHERE lower(email) = lower($1) AND deleted_at IS NULL",
        normalise_email(email),
    )
    matches, new_hash = await verify_password(password, user["password_hash"] if user else None)
    if user is None or not matches:
        raise Unauthorized("Wrong email or password.")
    if not user["is_active"]:
        raise Forbidden("This account is deactivated; contact an administrator.")
    if user["email_verified_at"] is None:
        raise Forbidden(
            "Verify your email address first: open the link we sent you, "
            "or ask for a new one with POST /accounts/v1/verify/resend."
        )
    async with pool.acquire() as conn, conn.transaction():
        if new_hash is not None:
            await conn.execute(
                "UPDATE accounts.users SET password_hash = $2 WHERE id = $1", user["id"], new_hash
            )
        await conn.execute("UPDATE accounts.users SET last_login_at = now() WHERE id = $1", user["id"])
        session_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO accounts.sessions (id, user_id, user_agent, ip) VALUES ($1, $2, $3, $4)",
            session_id,
            user["id"],
            client.user_agent[:300],
            client.ip,
        )
        refresh_token = await _new_refresh_token(conn, session_id, settings)
    access_token, expires_in = signer.issue(user["id"], session_id)
    logger.log(NOTICE, "login", extra={"user_id": user["id"], "session_id": str(session_id)})
    return TokenPair(access_token, refresh_token, expires_in)


async def _new_refresh_token(conn: Connection, session_id: uuid.UUID, settings: Settings) -> str:
    token = new_secret()
    await conn.execute(
        "INSERT INTO accounts.refresh_tokens (token_hash, session_id, expires_at) "
        "VALUES ($1, $2, now() + $3)",
        digest(token),
        session_id,
        dt.timedelta(seconds=settings.refresh_token_ttl_s),
    )
    return token


async def refresh(pool: Pool, signer: TokenSigner, settings: Settings, refresh_token: str) -> TokenPair:
    """Swap a refresh token for a new pair. Presenting a token twice revokes its whole session."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            row = await conn.fetchrow(
                """SELECT rt.session_id, rt.expires_at <= now() AS expired,
                          rt.rotated_at IS NOT NULL AS rotated, s.revoked_at IS NOT NULL AS revoked,
                          s.user_id, u.is_active AND u.deleted_at IS NULL AS active
                FROM accounts.refresh_tokens rt
                JOIN accounts.sessions s ON s.id = rt.session_id
                JOIN accounts.users u ON u.id = s.user_id
                WHERE rt.token_hash = $1
                FOR UPDATE OF rt, s""",
                digest(refresh_token),
            )
            if row is None:
                raise Unauthorized("The refresh token is invalid; log in again.")
            if row["rotated"] and not row["revoked"]:
                await _revoke_sessions(conn, "refresh token reused", session_id=row["session_id"])
                logger.warning(
                    "refresh token reuse: session revoked",
                    extra={"user_id": row["user_id"], "session_id": str(row["session_id"])},
                )
                reused = True
            else:
                reused = False
            if not reused:
                if row["revoked"] or not row["active"]:
                    raise Unauthorized("The session has ended; log in again.")
                if row["expired"]:
                    raise Unauthorized("The refresh token has expired; log in again.")
                await conn.execute(
                    "UPDATE accounts.refresh_tokens SET rotated_at = now() WHERE token_hash = $1",
                    digest(refresh_token),
                )
                await conn.execute(
                    "UPDATE accounts.sessions SET last_used_at = now() WHERE id = $1", row["session_id"]
                )
                new_token = await _new_refresh_token(conn, row["session_id"], settings)
        if reused:  # raised after the revocation committed
            raise Unauthorized(
                "This refresh token was already used, so the session has been revoked for safety; "
                "log in again."
            )
    access_token, expires_in = signer.issue(row["user_id"], row["session_id"])
    return TokenPair(access_token, new_token, expires_in)


async def _revoke_sessions(
    conn: Connection,
    why: str,
    *,
    session_id: uuid.UUID | None = None,
    user_id: int | None = None,
    keep: uuid.UUID | None = None,
) -> int:
    result: str = await conn.execute(
        """UPDATE accounts.sessions SET revoked_at = now(), revoked_why = $4
        WHERE revoked_at IS NULL AND (id = $1 OR user_id = $2) AND id IS DISTINCT FROM $3""",
        session_id,
        user_id,
        keep,
        why,
    )
    return int(result.split()[-1])


async def logout(pool: Pool, session_id: uuid.UUID) -> None:
    """End one session (its access and refresh tokens stop working)."""
    async with pool.acquire() as conn:
        await _revoke_sessions(conn, "logout", session_id=session_id)


async def logout_everywhere(pool: Pool, user_id: int) -> int:
    """End every session of the user; returns how many were open."""
    async with pool.acquire() as conn:
        return await _revoke_sessions(conn, "logout everywhere", user_id=user_id)


async def revoke_sessions(pool: Pool, user_id: int, why: str) -> int:
    """End every session of a user (administrators, deactivation)."""
    async with pool.acquire() as conn:
        return await _revoke_sessions(conn, why, user_id=user_id)


# --- passwords ---------------------------------------------------------------------------------


async def change_password(
    pool: Pool, user_id: int, current_session: uuid.UUID | None, *, current: str, new: str
) -> int:
    """Set a new password after checking the current one; every other session ends."""
    check_policy(new, field="new_password")
    stored = await pool.fetchval("SELECT password_hash FROM accounts.users WHERE id = $1", user_id)
    matches, _ = await verify_password(current, stored)
    if not matches:
        raise Forbidden("The current password is wrong.")
    new_hash = await hash_password(new)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE accounts.users SET password_hash = $2 WHERE id = $1", user_id, new_hash)
        ended = await _revoke_sessions(conn, "password changed", user_id=user_id, keep=current_session)
    logger.log(NOTICE, "password changed", extra={"user_id": user_id, "sessions_ended": ended})
    return ended


async def request_reset(pool: Pool, mailer: mail.Mailer, settings: Settings, email: str) -> None:
    """Mail a reset token if the address has an account. The caller sees the same answer either way."""
    async with pool.acquire() as conn, conn.transaction():
        user = await _account_by_email(conn, email, "is_active")
        outgoing = None
        if user is not None:
            token = await _email_token(conn, user["id"], "reset", RESET_TOKEN_TTL)
            body = (
                "Someone asked to reset the password of your Dockyard account.\n\n"
                f"To choose a new password within the hour, send POST {settings.public_url.rstrip('/')}"
                f"/accounts/v1/password/reset/confirm with\n\n"
                f'{{"token": "{token}", "new_password": "..."}}\n\n'
                "If it was not you, ignore this message: your password stays as it is.\n"
            )
            outgoing = await mail.record(conn, user["email"], "Reset your password", body, "reset")
    if outgoing is not None:
        await mailer.deliver(pool, outgoing)


async def confirm_reset(pool: Pool, token: str, new_password: str) -> int:
    """Set the password chosen with a reset token; every session ends. Returns the user id."""
    check_policy(new_password, field="new_password")
    new_hash = await hash_password(new_password)
    async with pool.acquire() as conn, conn.transaction():
        user_id = await _use_email_token(conn, token, "reset")
        if user_id is None:
            raise BadInput("This reset token is invalid, already used or expired; request a new one.")
        # Receiving the mail proves the address too.
        await conn.execute(
            "UPDATE accounts.users SET password_hash = $2, "
            "email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1",
            user_id,
            new_hash,
        )
        await _revoke_sessions(conn, "password reset", user_id=user_id)
    logger.log(NOTICE, "password reset", extra={"user_id": user_id})
    return user_id


# --- the account itself ------------------------------------------------------------------------


USER_VIEW = f"""
SELECT {USER_COLUMNS},
    ARRAY(SELECT g.name FROM accounts.user_groups ug JOIN accounts.groups g ON g.id = ug.group_id
          WHERE ug.user_id = u.id ORDER BY g.name) AS groups,
    CASE WHEN u.is_superuser THEN ARRAY(SELECT codename FROM accounts.permissions ORDER BY 1)
         ELSE ARRAY(SELECT DISTINCT gp.permission FROM accounts.user_groups ug
                    JOIN accounts.group_permissions gp USING (group_id) WHERE ug.user_id = u.id ORDER BY 1)
    END AS permissions
FROM accounts.users u
"""


async def get_users(conn: Any, user_ids: list[int]) -> list[dict[str, Any]]:
    """Users as the API shows them, with groups and effective permissions, in the order given."""
    rows = await conn.fetch(
        USER_VIEW + " WHERE u.id = ANY($1::bigint[]) ORDER BY array_position($1::bigint[], u.id)", user_ids
    )
    return [dict(row) for row in rows]


async def get_user(conn: Any, user_id: int) -> dict[str, Any] | None:
    """One user as the API shows it, or None."""
    rows = await get_users(conn, [user_id])
    return rows[0] if rows else None


async def delete_account(pool: Pool, user_id: int, password: str) -> None:
    """Anonymise the account: identity and credentials go, the row stays for other services' references."""
    stored = await pool.fetchval("SELECT password_hash FROM accounts.users WHERE id = $1", user_id)
    matches, _ = await verify_password(password, stored)
    if not matches:
        raise Forbidden("The password is wrong; the account was not deleted.")
    async with pool.acquire() as conn, conn.transaction():
        old_email = await conn.fetchval(
            """UPDATE accounts.users u SET email = 'deleted-' || u.id || '@deleted.invalid', username = NULL,
                   display_name = '', password_hash = NULL, is_active = false, is_superuser = false,
                   email_verified_at = NULL, deleted_at = now()
            FROM accounts.users old WHERE old.id = u.id AND u.id = $1 RETURNING old.email""",
            user_id,
        )
        for table in ("sessions", "api_tokens", "email_tokens", "user_groups"):
            await conn.execute(f"DELETE FROM accounts.{table} WHERE user_id = $1", user_id)
        await conn.execute("DELETE FROM accounts.outbox WHERE lower(recipient) = lower($1)", old_email)
    logger.log(NOTICE, "account deleted (anonymised)", extra={"user_id": user_id})


# --- entry points for services that keep their own registration flow ---------------------------
# (A service such as mentorship registers its users inside its own transaction and mails its own
# verification link; these functions give it the account part without the accounts routes' mail.)


async def create_account(conn: Connection, *, email: str, password_hash: str, display_name: str = "") -> int:
    """Insert an unverified account in the caller's transaction; Conflict if the email is taken."""
    email = normalise_email(email)
    if await conn.fetchval("SELECT 1 FROM accounts.users WHERE lower(email) = lower($1)", email):
        raise Conflict("An account with this email already exists; log in or reset the password.")
    user_id: int = await conn.fetchval(
        "INSERT INTO accounts.users (email, display_name, password_hash) VALUES ($1, $2, $3) RETURNING id",
        email,
        display_name[:200],
        password_hash,
    )
    logger.log(NOTICE, "account registered", extra={"user_id": user_id})
    return user_id


async def issue_verification_token(conn: Connection, user_id: int, *, ttl: dt.timedelta) -> str:
    """A new single-use email-verification token for the account (earlier unused ones retire)."""
    return await _email_token(conn, user_id, "verify", ttl)


async def use_verification_token(conn: Connection, token: str) -> tuple[int, bool] | None:
    """Verify the token's account: (user id, True if verified now), or None for an unknown token.

    A token already used answers (user id, False) while its account is verified, so following the
    same link twice says "already confirmed"; a retired or expired token is unknown.
    """
    row = await conn.fetchrow(
        """SELECT t.user_id, t.used_at IS NOT NULL AS used, u.email_verified_at IS NOT NULL AS verified
        FROM accounts.email_tokens t JOIN accounts.users u ON u.id = t.user_id
        WHERE t.token_hash = $1 AND t.purpose = 'verify' AND t.expires_at > now() AND u.deleted_at IS NULL
        FOR UPDATE OF t""",
        digest(token),
    )
    if row is None or (row["used"] and not row["verified"]):
        return None
    if row["used"]:
        return row["user_id"], False
    await conn.execute(
        "UPDATE accounts.email_tokens SET used_at = now() WHERE token_hash = $1", digest(token)
    )
    await conn.execute(
        "UPDATE accounts.users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1",
        row["user_id"],
    )
    logger.log(NOTICE, "email verified", extra={"user_id": row["user_id"]})
    return row["user_id"], not row["verified"]


async def set_display_name(conn: Connection, user_id: int, display_name: str) -> None:
    """Change the account's display name (cut to its 200-character limit)."""
    await conn.execute(
        "UPDATE accounts.users SET display_name = $2 WHERE id = $1", user_id, display_name[:200]
    )


async def anonymise_account(conn: Connection, user_id: int) -> None:
    """Anonymise the account in the caller's transaction, as delete_account does after its password check."""
    old_email = await conn.fetchval(
        """UPDATE accounts.users u SET email = 'deleted-' || u.id || '@deleted.invalid', username = NULL,
               display_name = '', password_hash = NULL, is_active = false, is_superuser = false,
               email_verified_at = NULL, deleted_at = now()
        FROM accounts.users old WHERE old.id = u.id AND u.id = $1 RETURNING old.email""",
        user_id,
    )
    for table in ("sessions", "api_tokens", "email_tokens", "user_groups"):
        await conn.execute(f"DELETE FROM accounts.{table} WHERE user_id = $1", user_id)
    if old_email is not None:
        await conn.execute("DELETE FROM accounts.outbox WHERE lower(recipient) = lower($1)", old_email)
    logger.log(NOTICE, "account deleted (anonymised)", extra={"user_id": user_id})
