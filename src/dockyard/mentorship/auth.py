"""Who is calling a mentorship route, with the original's three token messages (spec A.1).

Authentication is accounts' (a session's access token, or an API token); only the answers differ:
no header → "The authorization token is missing!", an expired access token → "The token has
expired! …", anything else (tampered, wrong kind, ended session, another scheme) → "The token is
invalid!". The caller's mentorship profile is loaded by the rules that need it, on their connection.
"""

from __future__ import annotations

from typing import Annotated

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dockyard.accounts.auth import Principal, optional_user
from dockyard.core.errors import Unauthorized
from dockyard.core.openapi import raises
from dockyard.mentorship import messages

bearer = HTTPBearer(
    scheme_name="MentorshipAccessToken",
    bearerFormat="JWT",
    description=(
        "The `access_token` from POST /mentorship/login (valid 15 minutes, ACCESS_TOKEN_TTL_S); "
        "renew it with POST /mentorship/refresh. Any Dockyard access or API token works."
    ),
    auto_error=False,
)
refresh_bearer = HTTPBearer(
    scheme_name="MentorshipRefreshToken",
    description="The `refresh_token` from POST /mentorship/login or the last POST /mentorship/refresh.",
    auto_error=False,
)


def _credential(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized(messages.TOKEN_MISSING)
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthorized(messages.TOKEN_INVALID)
    return credential.strip()


@raises(401)
async def caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Principal:
    """The authenticated caller; 401 with the original's messages otherwise."""
    credential = _credential(request)
    try:
        principal = await optional_user(
            request, HTTPAuthorizationCredentials(scheme="Bearer", credentials=credential), None
        )
    except Unauthorized as exc:
        if isinstance(exc.__cause__, jwt.ExpiredSignatureError):
            raise Unauthorized(messages.TOKEN_EXPIRED) from exc
        raise Unauthorized(messages.TOKEN_INVALID) from exc
    assert principal is not None  # a credential was given
    return principal


@raises(401)
async def refresh_token(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(refresh_bearer)]
) -> str:
    """The refresh token sent as `Authorization: Bearer <refresh token>`."""
    return _credential(request)


Caller = Annotated[Principal, Depends(caller)]
RefreshToken = Annotated[str, Depends(refresh_token)]
