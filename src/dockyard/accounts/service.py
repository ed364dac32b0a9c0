"""Account rules: registration, verification, sessions with rotating refresh tokens, passwords.

Plain async functions over a connection pool, so tests can call them directly and the routes stay
thin; the SQL is in `queries`. Each function owns its transaction: some outcomes (revoking a
session on refresh-token reuse) must be committed even though the request then fails.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from dockyard.accounts import mail, notices
from dockyard.accounts.passwords import check_policy, hash_password, verify_password
from dockyard.accounts.queries import sessions, tokens, users
from dockyard.accounts.queries.users import USER_COLUMNS as USER_COLUMNS
from dockyard.accounts.queries.users import USER_VIEW as USER_VIEW
from dockyard.accounts.queries.users import get_user as get_user
from dockyard.accounts.queries.users import get_users as get_users
from dockyard.accounts.tokens import TokenSigner, digest, new_secret
from dockyard.core.config import Settings, get_settings
from dockyard.core.db import Connection, Pool
from dockyard.core.errors import BadInput, Conflict, Forbidden, Unauthorized
from dockyard.core.logging import NOTICE

logger = logging.getLogger("dockyard.accounts")

EMAIL_TOKEN_TTL = dt.timedelta(hours=24)
RESET_TOKEN_TTL = dt.timedelta(hours=1)


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
    """Create an unverified account and mail it a verification link; Conflict when the email or username
    is taken. (`/accounts/v1/register` uses `request_account`, which answers alike in both cases.)"""
    check_policy(password, email=email, names=(display_name, username))
    email = normalise_email(email)
    password_hash = await hash_password(password)
    async with pool.acquire() as conn, conn.transaction():
        field = await users.taken(conn, email=email, username=username)
        if field is not None:
            raise Conflict(f"An account with this {field} already exists; log in or reset the password.")
        user = await users.insert_user(
            conn, email=email, username=username, display_name=display_name, password_hash=password_hash
        )
        outgoing = await _verification_mail(conn, settings, user["id"], email)
    await mailer.deliver(pool, outgoing)
    logger.log(NOTICE, "account registered", extra={"user_id": user["id"]})
    return user


async def _verification_mail(
    conn: Connection, settings: Settings, user_id: int, email: str, *, username_dropped: str | None = None
) -> mail.Mail:
    token = await _email_token(conn, user_id, "verify", EMAIL_TOKEN_TTL)
    notice = notices.verification(settings.public_url, token, username_dropped=username_dropped)
    return await mail.record(conn, email, notice.subject, notice.body, notice.kind)


async def request_account(
    pool: Pool,
    settings: Settings,
    *,
    email: str,
    password: str,
    display_name: str = "",
    username: str | None = None,
) -> mail.Mail:
    """Ask for an account; the mail to send after answering, alike for a new and a taken address.

    A new address gets an unverified account and a verification link (without the username when
    that is taken, which the mail says); an address that already has an account gets no second one,
    and its owner is told someone tried. The caller learns nothing about which happened: both cost
    one password hash and a few statements, and the answer is the same.
    """
    check_policy(password, email=email, names=(display_name, username))
    email = normalise_email(email)
    password_hash = await hash_password(password)  # for a taken address too: the same work
    async with pool.acquire() as conn, conn.transaction():
        dropped = username if username and await users.username_taken(conn, username) else None
        user = None
        if await users.account_by_email(conn, email) is None:
            user = await users.insert_new_user(
                conn,
                email=email,
                username=None if dropped else username,
                display_name=display_name,
                password_hash=password_hash,
            )
            if user is None and await users.account_by_email(conn, email) is None:
                # Only the username was taken meanwhile (the address is still free): go without it.
                dropped = username
                user = await users.insert_new_user(
                    conn, email=email, username=None, display_name=display_name, password_hash=password_hash
                )
        if user is None:
            owner = await users.account_by_email(conn, email)
            notice = notices.already_registered(settings.public_url)
            recipient = owner["email"] if owner is not None else email
            logger.log(NOTICE, "registration of a taken address: owner told")
            return await mail.record(conn, recipient, notice.subject, notice.body, notice.kind)
        logger.log(NOTICE, "account registered", extra={"user_id": user["id"]})
        return await _verification_mail(conn, settings, user["id"], email, username_dropped=dropped)


async def _email_token(conn: Connection, user_id: int, purpose: str, ttl: dt.timedelta) -> str:
    token = new_secret()
    await tokens.issue_email_token(conn, user_id=user_id, purpose=purpose, token_hash=digest(token), ttl=ttl)
    return token


async def verify_email(pool: Pool, token: str) -> int:
    """Mark the address of the token's account verified; the token works once."""
    async with pool.acquire() as conn, conn.transaction():
        user_id = await tokens.use_email_token(conn, token_hash=digest(token), purpose="verify")
        if user_id is None:
            raise BadInput(
                "This verification link is invalid, already used or expired; "
                "request a new one with POST /accounts/v1/verify/resend."
            )
        await users.mark_verified(conn, user_id)
    logger.log(NOTICE, "email verified", extra={"user_id": user_id})
    return user_id


async def mail_verification(pool: Pool, settings: Settings, email: str) -> mail.Mail | None:
    """Record a new verification link (retiring the old) when the address has an unverified account.

    One statement either way (see `queries.tokens.mail_token`); the mail to deliver, or None.
    """
    return await _mail_token(pool, settings, "verify", email)


async def resend_verification(pool: Pool, mailer: mail.Mailer, settings: Settings, email: str) -> None:
    """Mail a new link if the address belongs to an unverified account; say nothing either way."""
    outgoing = await mail_verification(pool, settings, email)
    if outgoing is not None:
        await mailer.deliver(pool, outgoing)


async def _mail_token(pool: Pool, settings: Settings, purpose: str, email: str) -> mail.Mail | None:
    token = new_secret()
    if purpose == "reset":
        notice, ttl = notices.reset(settings.public_url, token), RESET_TOKEN_TTL
    else:
        notice, ttl = notices.verification(settings.public_url, token), EMAIL_TOKEN_TTL
    async with pool.acquire() as conn:
        row = await tokens.mail_token(
            conn,
            purpose=purpose,
            email=normalise_email(email),
            token_hash=digest(token),
            ttl=ttl,
            subject=notice.subject,
            body=notice.body,
            kind=notice.kind,
        )
    if row is None:
        return None
    return mail.Mail(row["id"], row["recipient"], notice.subject, notice.body, notice.kind)


# --- sessions ----------------------------------------------------------------------------------


async def login(
    pool: Pool, signer: TokenSigner, settings: Settings, *, email: str, password: str, client: Client
) -> TokenPair:
    """Check the password, then open a session. Unverified and deactivated accounts are refused."""
    user = await users.login_account(pool, normalise_email(email))
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
            await users.set_password(conn, user["id"], new_hash)
        await users.record_login(conn, user["id"])
        session_id = await sessions.open_session(
            conn, user_id=user["id"], user_agent=client.user_agent, ip=client.ip
        )
        refresh_token = await _new_refresh_token(conn, session_id, settings)
    access_token, expires_in = signer.issue(user["id"], session_id)
    logger.log(NOTICE, "login", extra={"user_id": user["id"], "session_id": str(session_id)})
    return TokenPair(access_token, refresh_token, expires_in)


async def _new_refresh_token(conn: Connection, session_id: uuid.UUID, settings: Settings) -> str:
    token = new_secret()
    await sessions.add_refresh_token(
        conn,
        token_hash=digest(token),
        session_id=session_id,
        ttl=dt.timedelta(seconds=settings.refresh_token_ttl_s),
    )
    return token


async def refresh(pool: Pool, signer: TokenSigner, settings: Settings, refresh_token: str) -> TokenPair:
    """Swap a refresh token for a new pair. Presenting a token twice revokes its whole session."""
    token_hash = digest(refresh_token)
    async with pool.acquire() as conn:
        async with conn.transaction():
            row = await sessions.lock_refresh_token(conn, token_hash)
            if row is None:
                raise Unauthorized("The refresh token is invalid; log in again.")
            reused = row["rotated"] and not row["revoked"]
            if reused:
                await sessions.revoke(conn, "refresh token reused", session_id=row["session_id"])
                logger.warning(
                    "refresh token reuse: session revoked",
                    extra={"user_id": row["user_id"], "session_id": str(row["session_id"])},
                )
            else:
                if row["revoked"] or not row["active"]:
                    raise Unauthorized("The session has ended; log in again.")
                if row["expired"]:
                    raise Unauthorized("The refresh token has expired; log in again.")
                await sessions.spend_refresh_token(conn, token_hash, row["session_id"])
                new_token = await _new_refresh_token(conn, row["session_id"], settings)
        if reused:  # raised after the revocation committed
            raise Unauthorized(
                "This refresh token was already used, so the session has been revoked for safety; "
                "log in again."
            )
    access_token, expires_in = signer.issue(row["user_id"], row["session_id"])
    return TokenPair(access_token, new_token, expires_in)


async def logout(pool: Pool, session_id: uuid.UUID) -> None:
    """End one session (its access and refresh tokens stop working)."""
    async with pool.acquire() as conn:
        await sessions.revoke(conn, "logout", session_id=session_id)


async def logout_everywhere(pool: Pool, user_id: int) -> int:
    """End every session of the user; returns how many were open."""
    async with pool.acquire() as conn:
        return await sessions.revoke(conn, "logout everywhere", user_id=user_id)


async def revoke_sessions(pool: Pool, user_id: int, why: str) -> int:
    """End every session of a user (administrators, deactivation)."""
    async with pool.acquire() as conn:
        return await sessions.revoke(conn, why, user_id=user_id)


# --- passwords ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Revoked:
    """What a password change or reset ended: sessions, and API tokens (for good)."""

    sessions: int
    api_tokens: int


async def replace_password(
    pool: Pool,
    settings: Settings,
    user_id: int,
    current_session: uuid.UUID | None,
    *,
    current: str,
    new: str,
) -> tuple[Revoked, mail.Mail]:
    """Set a new password after checking the current one; every other session ends and every API token
    is revoked. What was ended, and the notice to send the owner."""
    profile = await users.profile(pool, user_id)
    if profile is None:
        raise Unauthorized("The account no longer exists.")
    check_policy(
        new,
        field="new_password",
        email=profile["email"],
        names=(profile["display_name"], profile["username"]),
    )
    matches, _ = await verify_password(current, profile["password_hash"])
    if not matches:
        raise Forbidden("The current password is wrong.")
    new_hash = await hash_password(new)
    async with pool.acquire() as conn, conn.transaction():
        await users.set_password(conn, user_id, new_hash)
        revoked = Revoked(
            sessions=await sessions.revoke(conn, "password changed", user_id=user_id, keep=current_session),
            api_tokens=await tokens.revoke_api_tokens_of(conn, user_id=user_id, why="password changed"),
        )
        notice = notices.password_changed(
            settings.public_url,
            sessions_ended=revoked.sessions,
            tokens_revoked=revoked.api_tokens,
            by_reset=False,
        )
        outgoing = await mail.record(conn, profile["email"], notice.subject, notice.body, notice.kind)
    logger.log(
        NOTICE,
        "password changed",
        extra={"user_id": user_id, "sessions_ended": revoked.sessions, "tokens_revoked": revoked.api_tokens},
    )
    return revoked, outgoing


async def change_password(
    pool: Pool,
    user_id: int,
    current_session: uuid.UUID | None,
    *,
    current: str,
    new: str,
    mailer: mail.Mailer | None = None,
) -> int:
    """Set a new password after checking the current one; every other session ends and every API token
    is revoked. Returns how many other sessions ended (the owner's notice is sent when `mailer` is given)."""
    settings = mailer.settings if mailer is not None else get_settings()
    revoked, outgoing = await replace_password(
        pool, settings, user_id, current_session, current=current, new=new
    )
    if mailer is not None:
        await mailer.deliver(pool, outgoing)
    return revoked.sessions


async def request_reset(pool: Pool, mailer: mail.Mailer, settings: Settings, email: str) -> None:
    """Mail a reset token if the address has an account. The caller sees the same answer either way."""
    outgoing = await mail_reset(pool, settings, email)
    if outgoing is not None:
        await mailer.deliver(pool, outgoing)


async def mail_reset(pool: Pool, settings: Settings, email: str) -> mail.Mail | None:
    """Record a reset token's mail when the address has an active account; the mail to deliver, or None.

    One statement either way (see `queries.tokens.mail_token`), so the two cases cost the same.
    """
    return await _mail_token(pool, settings, "reset", email)


async def reset_with_token(
    pool: Pool, settings: Settings, token: str, new_password: str
) -> tuple[int, Revoked, mail.Mail]:
    """Set the password chosen with a reset token: every session ends, every API token is revoked.

    (user id, what was ended, the notice to send the owner).
    """
    token_hash = digest(token)
    invalid = BadInput("This reset token is invalid, already used or expired; request a new one.")
    holder = await tokens.email_token_holder(pool, token_hash=token_hash, purpose="reset")
    if holder is None:
        raise invalid
    check_policy(
        new_password,
        field="new_password",
        email=holder["email"],
        names=(holder["display_name"], holder["username"]),
    )
    new_hash = await hash_password(new_password)
    async with pool.acquire() as conn, conn.transaction():
        user_id = await tokens.use_email_token(conn, token_hash=token_hash, purpose="reset")
        if user_id is None:  # spent by a concurrent request meanwhile
            raise invalid
        await tokens.retire_reset_tokens(conn, user_id)
        await users.reset_password(conn, user_id, new_hash)
        revoked = Revoked(
            sessions=await sessions.revoke(conn, "password reset", user_id=user_id),
            api_tokens=await tokens.revoke_api_tokens_of(conn, user_id=user_id, why="password reset"),
        )
        notice = notices.password_changed(
            settings.public_url,
            sessions_ended=revoked.sessions,
            tokens_revoked=revoked.api_tokens,
            by_reset=True,
        )
        outgoing = await mail.record(conn, holder["email"], notice.subject, notice.body, notice.kind)
    logger.log(NOTICE, "password reset", extra={"user_id": user_id, "tokens_revoked": revoked.api_tokens})
    return user_id, revoked, outgoing


async def confirm_reset(
    pool: Pool, token: str, new_password: str, *, settings: Settings | None = None
) -> int:
    """Set the password chosen with a reset token; every session ends and every API token is revoked.

    Returns the user id (the owner's notice stays in the outbox; routes send it).
    """
    user_id, _, _ = await reset_with_token(pool, settings or get_settings(), token, new_password)
    return user_id


# --- the account itself ------------------------------------------------------------------------


async def delete_account(pool: Pool, user_id: int, password: str) -> None:
    """Anonymise the account: identity and credentials go, the row stays for other services' references.

    The last active superuser cannot delete itself (Conflict): someone must be left to administer.
    """
    matches, _ = await verify_password(password, await users.password_hash(pool, user_id))
    if not matches:
        raise Forbidden("The password is wrong; the account was not deleted.")
    async with pool.acquire() as conn, conn.transaction():
        if await users.lock_active_superusers(conn) == [user_id]:
            raise Conflict(LAST_SUPERUSER)
        await users.anonymise(conn, user_id)
    logger.log(NOTICE, "account deleted (anonymised)", extra={"user_id": user_id})


LAST_SUPERUSER = (
    "This is the last active superuser; make another account a superuser first "
    "(`dockyard user create-superuser --email …`)."
)


# --- entry points for services that keep their own registration flow ---------------------------
# (A service such as mentorship registers its users inside its own transaction and mails its own
# verification link; these functions give it the account part without the accounts routes' mail.)


async def create_account(conn: Connection, *, email: str, password_hash: str, display_name: str = "") -> int:
    """Insert an unverified account in the caller's transaction; Conflict if the email is taken."""
    email = normalise_email(email)
    user = None
    if await users.account_by_email(conn, email) is None:
        user = await users.insert_new_user(
            conn, email=email, username=None, display_name=display_name[:200], password_hash=password_hash
        )
    if user is None:
        raise Conflict("An account with this email already exists; log in or reset the password.")
    logger.log(NOTICE, "account registered", extra={"user_id": user["id"]})
    return int(user["id"])


async def issue_verification_token(conn: Connection, user_id: int, *, ttl: dt.timedelta) -> str:
    """A new single-use email-verification token for the account (earlier unused ones retire)."""
    return await _email_token(conn, user_id, "verify", ttl)


async def use_verification_token(conn: Connection, token: str) -> tuple[int, bool] | None:
    """Verify the token's account: (user id, True if verified now), or None for an unknown token.

    A token already used answers (user id, False) while its account is verified, so following the
    same link twice says "already confirmed"; a retired or expired token is unknown.
    """
    row = await tokens.verification_state(conn, token_hash=digest(token))
    if row is None or (row["used"] and not row["verified"]):
        return None
    if row["used"]:
        return row["user_id"], False
    await tokens.use_email_token(conn, token_hash=digest(token), purpose="verify")
    await users.mark_verified(conn, row["user_id"])
    logger.log(NOTICE, "email verified", extra={"user_id": row["user_id"]})
    return row["user_id"], not row["verified"]


async def set_display_name(conn: Connection, user_id: int, display_name: str) -> None:
    """Change the account's display name (cut to its 200-character limit)."""
    await users.update_profile(conn, user_id, {"display_name": display_name[:200]})


async def anonymise_account(conn: Connection, user_id: int) -> None:
    """Anonymise the account in the caller's transaction, as delete_account does after its password check."""
    await users.anonymise(conn, user_id)
    logger.log(NOTICE, "account deleted (anonymised)", extra={"user_id": user_id})
