"""Registration, address verification, login sessions and passwords."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response

from dockyard.accounts import throttle
from dockyard.accounts.auth import AuthRuntime, CredentialManager, CurrentUser
from dockyard.accounts.mail import Mail, Mailer
from dockyard.accounts.models import (
    EmailIn,
    LoginIn,
    MessageOut,
    PasswordChangedOut,
    PasswordChangeIn,
    RefreshIn,
    RegisterIn,
    ResetConfirmIn,
    TokenIn,
    TokenPairOut,
)
from dockyard.accounts.routes.context import Auth, MailerDep, PoolDep, client_ip
from dockyard.accounts.service import (
    Client,
    Revoked,
    logout_everywhere,
    mail_reset,
    mail_verification,
    refresh,
    replace_password,
    request_account,
    reset_with_token,
    verify_email,
)
from dockyard.accounts.service import logout as end_session
from dockyard.core.config import Settings
from dockyard.core.db import Pool
from dockyard.core.errors import BadInput
from dockyard.core.openapi import errors

router = APIRouter(prefix="/v1", tags=["accounts"])

SAME_ANSWER = "If the address belongs to an account that needs it, a mail is on its way."
REGISTERED = (
    "Check your mailbox: a mail is on its way to this address, with a link to confirm it "
    "(or, if the address already has an account, how to log in)."
)
VERIFIED = "Email address verified; you can log in now."


@router.post(
    "/register",
    status_code=202,
    response_model=MessageOut,
    responses=errors(400),
    summary="Create an account",
)
async def register(
    body: RegisterIn,
    request: Request,
    auth: Auth,
    pool: PoolDep,
    mailer: MailerDep,
    background: BackgroundTasks,
) -> MessageOut:
    """Create an unverified account and mail it a verification link (valid 24 h).

    The answer is the same 202 whether or not the address already has an account (its owner is
    mailed instead), so registering tells nobody which addresses have accounts.
    """
    await auth.limiter.hit(
        "register", auth.settings.rate_limit_register, client_ip(request), what="registrations"
    )
    outgoing = await request_account(
        pool,
        auth.settings,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        username=body.username,
    )
    background.add_task(mailer.deliver, pool, outgoing)
    return MessageOut(message=REGISTERED)


@router.post("/verify", response_model=MessageOut, responses=errors(400), summary="Confirm an email address")
async def verify(body: TokenIn, pool: PoolDep) -> MessageOut:
    """Use the token from the verification mail (once)."""
    await verify_email(pool, body.token)
    return MessageOut(message=VERIFIED)


@router.get(
    "/verify",
    response_model=MessageOut,
    responses=errors(400),
    summary="Confirm an email address (the mailed link)",
)
async def verify_link(
    pool: PoolDep, token: Annotated[str, Query(min_length=10, max_length=200)]
) -> MessageOut:
    """The link in the verification mail lands here."""
    await verify_email(pool, token)
    return MessageOut(message=VERIFIED)


async def _same_answer_mail(
    compose: Callable[[Pool, Settings, str], Awaitable[Mail | None]],
    email: str,
    request: Request,
    auth: AuthRuntime,
    pool: Pool,
    mailer: Mailer,
    background: BackgroundTasks,
) -> MessageOut:
    """Within the address's and the client's mail budget, compose the mail for `email` (None when it
    has no account) and send it after the answer; the answer is the same in every case."""
    if await throttle.mail_request(auth.limiter, auth.settings, email=email, ip=client_ip(request)):
        outgoing = await compose(pool, auth.settings, email)
        if outgoing is not None:
            background.add_task(mailer.deliver, pool, outgoing)
    return MessageOut(message=SAME_ANSWER)


@router.post(
    "/verify/resend",
    status_code=202,
    response_model=MessageOut,
    responses=errors(400),
    summary="Send a new verification link",
)
async def resend(
    body: EmailIn, request: Request, auth: Auth, pool: PoolDep, mailer: MailerDep, background: BackgroundTasks
) -> MessageOut:
    """Always answers the same, whether or not the address has an account (the mail goes out afterwards)."""
    return await _same_answer_mail(mail_verification, body.email, request, auth, pool, mailer, background)


@router.post("/login", response_model=TokenPairOut, responses=errors(400, 401, 403), summary="Log in")
async def login(body: LoginIn, request: Request, auth: Auth, pool: PoolDep, mailer: MailerDep) -> Any:
    """Exchange email and password for an access token (15 min) and a refresh token (30 days).

    Failed logins are counted per account and address (429 for that address past RATE_LIMIT_LOGIN)
    and per address; an account flooded from many addresses is slowed down, never locked.
    """
    client = Client(request.client.host if request.client else None, request.headers.get("user-agent", ""))
    return await throttle.login(
        pool, mailer, auth, email=body.email, password=body.password, client=client, ip=client_ip(request)
    )


@router.post(
    "/refresh", response_model=TokenPairOut, responses=errors(400, 401), summary="Renew the access token"
)
async def renew(body: RefreshIn, auth: Auth, pool: PoolDep) -> Any:
    """Exchange a refresh token for a new pair. Each one works once: reusing one ends the session."""
    return await refresh(pool, auth.signer, auth.settings, body.refresh_token)


@router.post("/logout", status_code=204, responses=errors(400), summary="Log out (this session)")
async def logout(user: CurrentUser, pool: PoolDep) -> Response:
    """End the session of the access token used; an API token is not a session (revoke it instead)."""
    if user.session_id is None:
        raise BadInput(
            "Log out with an access token; to stop an API token, revoke it "
            "(DELETE /accounts/v1/me/tokens/{id})."
        )
    await end_session(pool, user.session_id)
    return Response(status_code=204)


@router.post("/logout-all", response_model=MessageOut, summary="Log out everywhere")
async def logout_all(user: CredentialManager, pool: PoolDep) -> MessageOut:
    """End every session of the account, on every device (an API token needs `accounts.credentials`)."""
    ended = await logout_everywhere(pool, user.user_id)
    return MessageOut(message=f"Ended {ended} session(s).")


def _changed(revoked: Revoked, *, other: bool, then: str = "") -> PasswordChangedOut:
    sessions = f"{revoked.sessions} other session(s)" if other else f"{revoked.sessions} session(s)"
    return PasswordChangedOut(
        message=f"Password changed; ended {sessions} and revoked {revoked.api_tokens} API token(s).{then}",
        sessions_ended=revoked.sessions,
        api_tokens_revoked=revoked.api_tokens,
    )


@router.post(
    "/password", response_model=PasswordChangedOut, responses=errors(400, 403), summary="Change the password"
)
async def change_password(
    body: PasswordChangeIn,
    user: CredentialManager,
    auth: Auth,
    pool: PoolDep,
    mailer: MailerDep,
    background: BackgroundTasks,
) -> PasswordChangedOut:
    """Needs the current password; every other session ends and every API token is revoked (the owner
    is mailed). An API token needs `accounts.credentials`."""
    revoked, outgoing = await replace_password(
        pool,
        auth.settings,
        user.user_id,
        user.session_id,
        current=body.current_password,
        new=body.new_password,
    )
    background.add_task(mailer.deliver, pool, outgoing)
    return _changed(revoked, other=True)


@router.post(
    "/password/reset",
    status_code=202,
    response_model=MessageOut,
    responses=errors(400),
    summary="Ask for a password reset",
)
async def request_reset(
    body: EmailIn, request: Request, auth: Auth, pool: PoolDep, mailer: MailerDep, background: BackgroundTasks
) -> MessageOut:
    """Mails a reset token (valid 1 h). Answers the same whether or not the address has an account."""
    return await _same_answer_mail(mail_reset, body.email, request, auth, pool, mailer, background)


@router.post(
    "/password/reset/confirm",
    response_model=PasswordChangedOut,
    responses=errors(400),
    summary="Choose a new password",
)
async def confirm_reset(
    body: ResetConfirmIn, auth: Auth, pool: PoolDep, mailer: MailerDep, background: BackgroundTasks
) -> PasswordChangedOut:
    """Use the mailed token (once) to set a new password; every session ends, every API token is revoked."""
    _, revoked, outgoing = await reset_with_token(pool, auth.settings, body.token, body.new_password)
    background.add_task(mailer.deliver, pool, outgoing)
    return _changed(revoked, other=False, then=" Log in with the new one.")
