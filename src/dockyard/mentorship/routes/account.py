"""Registration, email confirmation, login, refresh, logout and password reset."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request

from dockyard.accounts.service import confirm_reset as use_reset_token
from dockyard.accounts.service import logout as end_session
from dockyard.accounts.service import request_reset
from dockyard.core.db import Conn
from dockyard.core.errors import BadInput
from dockyard.core.openapi import errors
from dockyard.mentorship import messages, notify, payload, registration, validation
from dockyard.mentorship.auth import Caller, RefreshToken
from dockyard.mentorship.models import (
    LoginRequest,
    LoginResponse,
    Message,
    RefreshResponse,
    RegisterRequest,
    ResendEmailRequest,
    ResetPasswordConfirm,
    ResetPasswordRequest,
    request_body,
)
from dockyard.mentorship.routes.common import Auth, PoolDep, client, ip, message
from dockyard.mentorship.settings import MentorshipConfig

router = APIRouter()
Body = Annotated[Any, Depends(payload.json_body)]


@router.post(
    "/register",
    status_code=201,
    response_model=Message,
    summary="Register",
    responses=errors(400, 409, 413),
    openapi_extra=request_body(RegisterRequest),
)
async def register(
    body: Body,
    request: Request,
    background: BackgroundTasks,
    auth: Auth,
    conn: Conn,
    config: MentorshipConfig,
) -> Message:
    """Create a user and mail a link confirming the email. The first user ever becomes the admin."""
    data = payload.check_model(body, payload.REGISTER)
    if error := validation.registration_error(data):
        raise BadInput(error)
    await auth.limiter.hit("register", auth.settings.rate_limit_register, ip(request), what="registrations")
    ttl = dt.timedelta(days=config.verification_ttl_days)
    outgoing = await registration.register(conn, auth.settings, data, verification_ttl=ttl)
    notify.send_after_commit(request, background, outgoing)
    return message(messages.USER_CREATED)


@router.get(
    "/user/confirm_email/{token}",
    response_model=Message,
    summary="Confirm an email address",
    responses=errors(400),
)
async def confirm_email(token: str, conn: Conn) -> Message:
    """The link of the verification mail; confirming twice says so."""
    return message(await registration.confirm_email(conn, token))


@router.post(
    "/user/resend_email",
    response_model=Message,
    summary="Send a new verification email",
    responses=errors(400, 403, 404, 413),
    openapi_extra=request_body(ResendEmailRequest),
)
async def resend_email(
    body: Body,
    request: Request,
    background: BackgroundTasks,
    auth: Auth,
    conn: Conn,
    config: MentorshipConfig,
) -> Message:
    """A new link for a registered address that is not confirmed yet."""
    data = payload.as_object(body)
    if "email" not in data:
        raise BadInput(messages.EMAIL_FIELD_IS_MISSING)
    if not validation.is_email(data["email"]):
        raise BadInput(messages.EMAIL_INVALID)
    await auth.limiter.hit("mail-ip", auth.settings.rate_limit_mail, ip(request), what="mail requests")
    await auth.limiter.hit(
        "mail-account", auth.settings.rate_limit_mail, data["email"].lower(), what="mail requests"
    )
    ttl = dt.timedelta(days=config.verification_ttl_days)
    outgoing = await registration.resend_email(conn, auth.settings, data["email"], verification_ttl=ttl)
    notify.send_after_commit(request, background, outgoing)
    return message(messages.VERIFICATION_EMAIL_SENT)


@router.post(
    "/login",
    response_model=LoginResponse,
    summary="Log in with username or email",
    responses=errors(400, 401, 403, 413),
    openapi_extra=request_body(LoginRequest),
)
async def login(body: Body, request: Request, auth: Auth, pool: PoolDep) -> Any:
    """Access token (15 minutes) and refresh token (30 days); these work on every Dockyard service."""
    data = payload.as_object(body)
    username, password = data.get("username"), data.get("password")
    if not username:
        raise BadInput(messages.USERNAME_FIELD_IS_MISSING)
    if not password:
        raise BadInput(messages.PASSWORD_FIELD_IS_MISSING)
    key = username.lower() if isinstance(username, str) else repr(username)
    await auth.limiter.hit("login-ip", auth.settings.rate_limit_login, ip(request), what="login attempts")
    await auth.limiter.hit("login-account", auth.settings.rate_limit_login, key, what="login attempts")
    return await registration.login(
        pool, auth.signer, auth.settings, username=username, password=password, client=client(request)
    )


@router.post(
    "/refresh",
    response_model=RefreshResponse,
    summary="Renew the access token",
    responses=errors(401),
)
async def refresh(token: RefreshToken, auth: Auth, pool: PoolDep) -> Any:
    """Send the refresh token as `Authorization: Bearer <refresh_token>`. The answer holds the next
    refresh token: each one works once, and presenting a used one again ends the session."""
    return await registration.refresh(pool, auth.signer, auth.settings, token)


@router.post("/logout", response_model=Message, summary="Log out", responses=errors(400))
async def logout(user: Caller, pool: PoolDep) -> Message:
    """End the session: its access and refresh tokens stop working."""
    if user.session_id is None:
        raise BadInput("Log out with an access token; an API token is revoked in /accounts/v1/me/tokens.")
    await end_session(pool, user.session_id)
    return message(messages.LOGGED_OUT)


@router.post(
    "/user/reset_password",
    response_model=Message,
    summary="Ask for a password reset",
    responses=errors(400, 413),
    openapi_extra=request_body(ResetPasswordRequest),
)
async def reset_password(body: Body, request: Request, auth: Auth, pool: PoolDep) -> Message:
    """Mails a reset token (valid 1 hour) if the address is registered; the answer is the same either way."""
    data = payload.as_object(body)
    if "email" not in data:
        raise BadInput(messages.EMAIL_FIELD_IS_MISSING)
    if not validation.is_email(data["email"]):
        raise BadInput(messages.EMAIL_INVALID)
    await auth.limiter.hit("mail-ip", auth.settings.rate_limit_mail, ip(request), what="mail requests")
    await auth.limiter.hit(
        "mail-account", auth.settings.rate_limit_mail, data["email"].lower(), what="mail requests"
    )
    await request_reset(pool, request.app.state.mailer, auth.settings, data["email"])
    return message(messages.RESET_SENT)


@router.post(
    "/user/reset_password/confirm",
    response_model=Message,
    summary="Choose a new password with the reset token",
    responses=errors(400, 413),
    openapi_extra=request_body(ResetPasswordConfirm),
)
async def confirm_reset(body: Body, pool: PoolDep) -> Message:
    """Every session of the account ends."""
    data = payload.as_object(body)
    if not isinstance(data.get("token"), str) or not data["token"]:
        raise BadInput(messages.TOKEN_FIELD_IS_MISSING)
    if "new_password" not in data:
        raise BadInput(messages.NEW_PASSWORD_MISSING)
    if error := validation.password_error(data["new_password"], field="new_password"):
        raise BadInput(error)
    try:
        await use_reset_token(pool, data["token"][:200], data["new_password"])
    except BadInput as exc:
        raise BadInput(messages.RESET_TOKEN_INVALID) from exc
    return message(messages.RESET_DONE)
