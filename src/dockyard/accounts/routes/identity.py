"""Registration, address verification, login sessions and passwords."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from dockyard.accounts import service
from dockyard.accounts.auth import AuthRuntime, CurrentUser
from dockyard.accounts.models import (
    EmailIn,
    LoginIn,
    MessageOut,
    PasswordChangeIn,
    RefreshIn,
    RegisterIn,
    ResetConfirmIn,
    TokenIn,
    TokenPairOut,
    UserOut,
)
from dockyard.accounts.routes.context import Auth, MailerDep, PoolDep, client_ip
from dockyard.core.errors import BadInput
from dockyard.core.openapi import errors

router = APIRouter(prefix="/v1", tags=["accounts"])

SAME_ANSWER = "If the address belongs to an account that needs it, a mail is on its way."
VERIFIED = "Email address verified; you can log in now."


async def _limit_per_ip_and_account(
    auth: AuthRuntime, request: Request, name: str, spec: str, email: str, what: str
) -> None:
    """Charge one attempt to the client address and to the account: rotating addresses does not help."""
    await auth.limiter.hit(f"{name}-ip", spec, client_ip(request), what=what)
    await auth.limiter.hit(f"{name}-account", spec, email.lower(), what=what)


@router.post(
    "/register",
    status_code=201,
    response_model=UserOut,
    responses=errors(400, 409),
    summary="Create an account",
)
async def register(body: RegisterIn, request: Request, auth: Auth, pool: PoolDep, mailer: MailerDep) -> Any:
    """Create an unverified account and email it a verification link (valid 24 h)."""
    await auth.limiter.hit(
        "register", auth.settings.rate_limit_register, client_ip(request), what="registrations"
    )
    return await service.register(
        pool,
        mailer,
        auth.settings,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        username=body.username,
    )


@router.post("/verify", response_model=MessageOut, responses=errors(400), summary="Confirm an email address")
async def verify(body: TokenIn, pool: PoolDep) -> MessageOut:
    """Use the token from the verification mail (once)."""
    await service.verify_email(pool, body.token)
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
    await service.verify_email(pool, token)
    return MessageOut(message=VERIFIED)


@router.post(
    "/verify/resend",
    status_code=202,
    response_model=MessageOut,
    responses=errors(400),
    summary="Send a new verification link",
)
async def resend(body: EmailIn, request: Request, auth: Auth, pool: PoolDep, mailer: MailerDep) -> MessageOut:
    """Always answers the same, whether or not the address has an account."""
    await _limit_per_ip_and_account(
        auth, request, "mail", auth.settings.rate_limit_mail, body.email, "mail requests"
    )
    await service.resend_verification(pool, mailer, auth.settings, body.email)
    return MessageOut(message=SAME_ANSWER)


@router.post("/login", response_model=TokenPairOut, responses=errors(400, 401, 403), summary="Log in")
async def login(body: LoginIn, request: Request, auth: Auth, pool: PoolDep) -> Any:
    """Exchange email and password for an access token (15 min) and a refresh token (30 days)."""
    await _limit_per_ip_and_account(
        auth, request, "login", auth.settings.rate_limit_login, body.email, "login attempts"
    )
    client = service.Client(
        request.client.host if request.client else None, request.headers.get("user-agent", "")
    )
    return await service.login(
        pool, auth.signer, auth.settings, email=body.email, password=body.password, client=client
    )


@router.post(
    "/refresh", response_model=TokenPairOut, responses=errors(400, 401), summary="Renew the access token"
)
async def refresh(body: RefreshIn, auth: Auth, pool: PoolDep) -> Any:
    """Exchange a refresh token for a new pair. Each one works once: reusing one ends the session."""
    return await service.refresh(pool, auth.signer, auth.settings, body.refresh_token)


@router.post("/logout", status_code=204, responses=errors(400), summary="Log out (this session)")
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


@router.post(
    "/password", response_model=MessageOut, responses=errors(400, 403), summary="Change the password"
)
async def change_password(body: PasswordChangeIn, user: CurrentUser, pool: PoolDep) -> MessageOut:
    """Needs the current password; every other session ends."""
    ended = await service.change_password(
        pool, user.user_id, user.session_id, current=body.current_password, new=body.new_password
    )
    return MessageOut(message=f"Password changed; ended {ended} other session(s).")


@router.post(
    "/password/reset",
    status_code=202,
    response_model=MessageOut,
    responses=errors(400),
    summary="Ask for a password reset",
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


@router.post(
    "/password/reset/confirm",
    response_model=MessageOut,
    responses=errors(400),
    summary="Choose a new password",
)
async def confirm_reset(body: ResetConfirmIn, pool: PoolDep) -> MessageOut:
    """Use the mailed token (once) to set a new password; every session ends."""
    await service.confirm_reset(pool, body.token, body.new_password)
    return MessageOut(message="Password changed; log in with the new one.")
