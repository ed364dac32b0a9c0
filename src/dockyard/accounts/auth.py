"""Who is calling: the FastAPI dependencies `current_user`, `optional_user` and `require(perm)`.

A request carries `Authorization: Bearer <credential>`, either a JWT access token from
/accounts/v1/login or a personal API token (`dy_…`). One SQL query per request loads the user,
checks the session or token is still valid, and collects the user's permissions — there is no
cache across requests, so a grant or revocation applies to the very next request in every worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dockyard.accounts.tokens import API_TOKEN_PREFIX, TokenSigner, digest
from dockyard.core.config import Settings
from dockyard.core.db import Database
from dockyard.core.errors import Forbidden, ServiceUnavailable, Unauthorized
from dockyard.core.openapi import raises
from dockyard.core.ratelimit import RateLimiter

jwt_scheme = HTTPBearer(
    scheme_name="AccessToken",
    bearerFormat="JWT",
    description="An access token from POST /accounts/v1/login (15 minutes; renew with /accounts/v1/refresh).",
    auto_error=False,
)
api_token_scheme = HTTPBearer(
    scheme_name="ApiToken",
    bearerFormat="dy_…",
    description="A personal API token from POST /accounts/v1/me/tokens.",
    auto_error=False,
)

_PERMISSIONS = """
ARRAY(SELECT DISTINCT gp.permission
      FROM accounts.user_groups ug JOIN accounts.group_permissions gp USING (group_id)
      WHERE ug.user_id = u.id) AS permissions
"""

BY_SESSION = f"""
SELECT u.id, u.email, u.is_superuser, {_PERMISSIONS}
FROM accounts.users u JOIN accounts.sessions s ON s.user_id = u.id
WHERE u.id = $1 AND s.id = $2 AND s.revoked_at IS NULL AND u.is_active AND u.deleted_at IS NULL
"""

# last_used_at is written at most once a minute per token: a write (and its WAL flush) on every
# request would cost more than the rest of authentication.
BY_API_TOKEN = f"""
WITH token AS (
    SELECT t.id, t.user_id, t.scope, t.last_used_at
    FROM accounts.api_tokens t
    WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
), touched AS (
    UPDATE accounts.api_tokens t SET last_used_at = now()
    FROM token
    WHERE t.id = token.id AND (token.last_used_at IS NULL OR token.last_used_at < now() - interval '1 minute')
)
SELECT u.id, u.email, u.is_superuser, token.id AS token_id, token.scope, {_PERMISSIONS}
FROM token JOIN accounts.users u ON u.id = token.user_id
WHERE u.is_active AND u.deleted_at IS NULL
"""

ALL = "*"
VERIFIED_CLAIMS = "dockyard.verified_claims"  # scope key: AccessClaims of the request's Bearer JWT


@dataclass(frozen=True)
class Principal:
    """An authenticated caller and what they may do."""

    user_id: int
    email: str
    is_superuser: bool
    permissions: frozenset[str]
    session_id: uuid.UUID | None = None
    api_token_id: int | None = None
    scope: frozenset[str] | None = None  # an API token's narrowing; None = all of the user's

    def can(self, permission: str) -> bool:
        """True when the caller holds `permission` (through a group, or as superuser), within scope."""
        if self.scope is not None and permission not in self.scope:
            return False
        return self.is_superuser or permission in self.permissions


@dataclass
class AuthRuntime:
    """What authentication needs at run time, kept on `app.state.auth`."""

    signer: TokenSigner
    limiter: RateLimiter
    settings: Settings


def _runtime(request: Request) -> tuple[AuthRuntime, Database]:
    auth: AuthRuntime | None = getattr(request.app.state, "auth", None)
    db: Database | None = getattr(request.app.state, "db", None)
    if auth is None or db is None:
        raise ServiceUnavailable("Authentication is not available in this process.")
    return auth, db


async def _authenticate(request: Request, credential: str) -> Principal:
    auth, db = _runtime(request)
    if credential.startswith(API_TOKEN_PREFIX):
        row = await db.primary.fetchrow(BY_API_TOKEN, digest(credential))
        if row is None:
            raise Unauthorized("The API token is invalid, expired or revoked.")
        principal = Principal(
            user_id=row["id"],
            email=row["email"],
            is_superuser=row["is_superuser"],
            permissions=frozenset(row["permissions"]),
            api_token_id=row["token_id"],
            scope=frozenset(row["scope"]) if row["scope"] is not None else None,
        )
        # Token callers are counted per user (JWT callers are counted by the budget middleware).
        await auth.limiter.hit("user", auth.settings.rate_limit_user, str(principal.user_id))
        return principal
    # The budget middleware has usually verified this very header already.
    claims = request.scope.get(VERIFIED_CLAIMS) or auth.signer.verify(credential)
    row = await db.primary.fetchrow(BY_SESSION, claims.user_id, claims.session_id)
    if row is None:
        raise Unauthorized(
            "The session has ended (logged out, revoked or account deactivated); log in again."
        )
    return Principal(
        user_id=row["id"],
        email=row["email"],
        is_superuser=row["is_superuser"],
        permissions=frozenset(row["permissions"]),
        session_id=claims.session_id,
    )


@raises(401)
async def optional_user(
    request: Request,
    access: Annotated[HTTPAuthorizationCredentials | None, Security(jwt_scheme)],
    token: Annotated[HTTPAuthorizationCredentials | None, Security(api_token_scheme)],
) -> Principal | None:
    """The caller, or None when the request carries no credentials (bad credentials are still 401)."""
    credentials = access or token
    if credentials is None:
        if request.headers.get("authorization"):
            raise Unauthorized("Send credentials as `Authorization: Bearer <token>`.")
        return None
    # FastAPI resolves this dependency once per request, however many others depend on it.
    principal = await _authenticate(request, credentials.credentials)
    request.scope["dockyard.user_id"] = principal.user_id  # for the access log
    return principal


@raises(401)
async def current_user(principal: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    """The authenticated caller; 401 without credentials."""
    if principal is None:
        raise Unauthorized("Log in first: send `Authorization: Bearer <access token or API token>`.")
    return principal


def require(permission: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through only callers holding `permission`."""

    @raises(401, 403)
    async def check(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
        if not principal.can(permission):
            if principal.scope is not None and permission not in principal.scope:
                raise Forbidden(f"This API token's scope does not include `{permission}`.")
            raise Forbidden(f"You need the permission `{permission}`; ask an administrator to grant it.")
        return principal

    check.__name__ = f"require_{permission.replace('.', '_')}"
    return check


CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]


async def authenticate(request: Request) -> Principal | None:
    """The caller of a plain ASGI route, as `optional_user` finds it: None without credentials, 401 if bad."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthorized("Send credentials as `Authorization: Bearer <token>`.")
    principal = await _authenticate(request, credential.strip())
    request.scope["dockyard.user_id"] = principal.user_id  # for the access log
    return principal
