"""/accounts/v1: registration, verification, login sessions, passwords, the caller's account and tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response

from dockyard.accounts import apitokens, service
from dockyard.accounts.auth import AuthRuntime, CurrentUser
from dockyard.accounts.mail import Mailer
from dockyard.accounts.models import (
    ApiTokenCreated,
    ApiTokenIn,
    ApiTokenOut,
    EmailIn,
    LoginIn,
    MePatch,
    MessageOut,
    PasswordChangeIn,
    PasswordIn,
    RefreshIn,
    RegisterIn,
    ResetConfirmIn,
    TokenIn,
    TokenPairOut,
    UserOut,
)
from dockyard.core.db import Conn
from dockyard.core.errors import BadInput, NotFound
from dockyard.core.types import Id

router = APIRouter(prefix="/v1", tags=["accounts"])


def _auth(request: Request) -> AuthRuntime:
    auth: AuthRuntime = request.app.state.auth
    return auth


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.db.primary  # type: ignore[no-any-return]


def _mailer(request: Request) -> Mailer:
    mailer: Mailer = request.app.state.mailer
    return mailer


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _limit_per_ip_and_account(
    auth: AuthRuntime, request: Request, name: str, spec: str, email: str, what: str
) -> None:
    """Charge one attempt to the client address and to the account: rotating addresses does not help."""
    await auth.limiter.hit(f"{name}-ip", spec, _ip(request), what=what)
    await auth.limiter.hit(f"{name}-account", spec, email.lower(), what=what)


Auth = Annotated[AuthRuntime, Depends(_auth)]
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
MailerDep = Annotated[Mailer, Depends(_mailer)]


@router.post("/register", status_code=201, response_model=UserOut, summary="Create an account")
async def register(body: RegisterIn, request: Request, auth: Auth, pool: PoolDep, mailer: MailerDep) -> Any:
    """Create an unverified account and email it a verification link (valid 24 h)."""
    await auth.limiter.hit("register", auth.settings.rate_limit_register, _ip(request), what="registrations")
    return await service.register(
        pool,
        mailer,
        auth.settings,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        username=body.username,
    )


@router.post("/verify", response_model=MessageOut, summary="Confirm an email address")
async def verify(body: TokenIn, pool: PoolDep) -> MessageOut:
    """Use the token from the verification mail (once)."""
    await service.verify_email(pool, body.token)
    return MessageOut(message="Email address verified; you can log in now.")


@router.get("/verify", response_model=MessageOut, summary="Confirm an email address (the mailed link)")
async def verify_link(
    pool: PoolDep, token: Annotated[str, Query(min_length=10, max_length=200)]
) -> MessageOut:
    """The link in the verification mail lands here."""
    await service.verify_email(pool, token)
    return MessageOut(message="Email address verified; you can log in now.")


SAME_ANSWER = "If the address belongs to an account that needs it, a mail is on its way."


@router.post(
    "/verify/resend", status_code=202, response_model=MessageOut, summary="Send a new verification link"
)
async def resend(body: EmailIn, request: Request, auth: Auth, pool: PoolDep, mailer: MailerDep) -> MessageOut:
    """Always answers the same, whether or not the address has an account."""
    await _limit_per_ip_and_account(
        auth, request, "mail", auth.settings.rate_limit_mail, body.email, "mail requests"
    )
    await service.resend_verification(pool, mailer, auth.settings, body.email)
    return MessageOut(message=SAME_ANSWER)


@router.post("/login", response_model=TokenPairOut, summary="Log in")
async def login(body: LoginIn, request: Request, auth: Auth, pool: PoolDep) -> Any:
    """Exchange email and password for an access token (15 min) and a refresh token (30 days)."""
    await _limit_per_ip_and_account(
        auth, request, "login", auth.settings.rate_limit_login, body.email, "login attempts"
    )
    client = service.Client(_ip(request) if request.client else None, request.headers.get("user-agent", ""))
    return await service.login(
        pool, auth.signer, auth.settings, email=body.email, password=body.password, client=client
    )


@router.post("/refresh", response_model=TokenPairOut, summary="Renew the access token")
async def refresh(body: RefreshIn, auth: Auth, pool: PoolDep) -> Any:
    """Exchange a refresh token for a new pair. Each one works once: reusing one ends the session."""
    return await service.refresh(pool, auth.signer, auth.settings, body.refresh_token)


@router.post("/logout", status_code=204, summary="Log out (this session)")
async def logout(user: CurrentUser, pool: PoolDep) -> Response:
    """End the session of the access token used; an API token is not a session (revoke it instead)."""
    if user.session_id is None:
        raise BadInput(
            "Log out with an access token; to stop an API token, revoke it "
            "(DELETE /accounts/v1/me/tokens/{id})."
        )
    await service.logout(pool, user.session_id)
    return Response(status_code=204)


@router.post("/logout-all", response_model=MessageOut, summary="Log out everywhere")
async def logout_all(user: CurrentUser, pool: PoolDep) -> MessageOut:
    """End every session of the account, on every device."""
    ended = await service.logout_everywhere(pool, user.user_id)
    return MessageOut(message=f"Ended {ended} session(s).")


@router.post("/password", response_model=MessageOut, summary="Change the password")
async def change_password(body: PasswordChangeIn, user: CurrentUser, pool: PoolDep) -> MessageOut:
    """Needs the current password; every other session ends."""
    ended = await service.change_password(
        pool, user.user_id, user.session_id, current=body.current_password, new=body.new_password
    )
    return MessageOut(message=f"Password changed; ended {ended} other session(s).")


@router.post(
    "/password/reset", status_code=202, response_model=MessageOut, summary="Ask for a password reset"
)
async def request_reset(
    body: EmailIn, request: Request, auth: Auth, pool: PoolDep, mailer: MailerDep
) -> MessageOut:
    """Mails a reset token (valid 1 h). Answers the same whether or not the address has an account."""
    await _limit_per_ip_and_account(
        auth, request, "mail", auth.settings.rate_limit_mail, body.email, "mail requests"
    )
    await service.request_reset(pool, mailer, auth.settings, body.email)
    return MessageOut(message=SAME_ANSWER)


@router.post("/password/reset/confirm", response_model=MessageOut, summary="Choose a new password")
async def confirm_reset(body: ResetConfirmIn, pool: PoolDep) -> MessageOut:
    """Use the mailed token (once) to set a new password; every session ends."""
    await service.confirm_reset(pool, body.token, body.new_password)
    return MessageOut(message="Password changed; log in with the new one.")


@router.get("/me", response_model=UserOut, summary="Your account")
async def me(user: CurrentUser, pool: PoolDep) -> Any:
    # The primary without a transaction: fresh after a PATCH, and one round trip.
    return await service.get_user(pool, user.user_id)


@router.patch("/me", response_model=UserOut, summary="Change your name or username")
async def update_me(body: MePatch, user: CurrentUser, conn: Conn) -> Any:
    changes = body.model_dump(exclude_unset=True)
    if "display_name" in changes and changes["display_name"] is not None:
        await conn.execute(
            "UPDATE accounts.users SET display_name = $2 WHERE id = $1", user.user_id, changes["display_name"]
        )
    if "username" in changes:
        await conn.execute(
            "UPDATE accounts.users SET username = $2 WHERE id = $1", user.user_id, changes["username"]
        )
    return await service.get_user(conn, user.user_id)


@router.delete("/me", status_code=204, summary="Delete your account")
async def delete_me(body: PasswordIn, user: CurrentUser, pool: PoolDep) -> Response:
    """Anonymises the account (needs the password): identity, credentials and tokens are removed."""
    await service.delete_account(pool, user.user_id, body.password)
    return Response(status_code=204)


@router.get("/me/export", summary="Everything stored about you")
async def export_me(user: CurrentUser, conn: Conn) -> dict[str, Any]:
    """The account, its groups and permissions, sessions and API tokens (never secrets or hashes)."""
    account = await service.get_user(conn, user.user_id)
    sessions = await conn.fetch(
        "SELECT id, created_at, last_used_at, revoked_at, revoked_why, user_agent, host(ip) AS ip "
        "FROM accounts.sessions WHERE user_id = $1 ORDER BY created_at",
        user.user_id,
    )
    tokens = await apitokens.list_tokens(conn, user.user_id)
    return {
        "exported_at": dt.datetime.now(dt.UTC),
        "account": account,
        "sessions": [dict(row) for row in sessions],
        "api_tokens": tokens,
    }


@router.get("/me/tokens", response_model=list[ApiTokenOut], summary="Your API tokens")
async def list_tokens(user: CurrentUser, pool: PoolDep) -> Any:
    return await apitokens.list_tokens(pool, user.user_id)


@router.post("/me/tokens", status_code=201, response_model=ApiTokenCreated, summary="Create an API token")
async def create_token(body: ApiTokenIn, user: CurrentUser, conn: Conn) -> Any:
    """The token is in the answer once; only its hash is kept. `scope` can only narrow your permissions."""
    return await apitokens.create(
        conn, user, name=body.name, expires_in_days=body.expires_in_days, scope=body.scope
    )


@router.delete("/me/tokens/{token_id}", status_code=204, summary="Revoke an API token")
async def revoke_token(token_id: Id, user: CurrentUser, conn: Conn) -> Response:
    if not await apitokens.revoke(conn, user.user_id, token_id):
        raise NotFound(f"You have no API token {token_id}.")
    return Response(status_code=204)
