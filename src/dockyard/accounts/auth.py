"""Who is calling: the FastAPI dependencies `current_user`, `optional_user`, `require(perm)` and
`require_self(scope)`, and the caller types routes declare (`CurrentUser`, `SelfService`, …).

A request carries `Authorization: Bearer <credential>`, either a JWT access token from
/accounts/v1/login or a personal API token (`dy_…`). One SQL query per request loads the user,
checks the session or token is still valid, and collects the user's permissions — there is no
cache across requests, so a grant or revocation applies to the very next request in every worker.

An API token acts on its owner's own account — profile, export, personal lists in any service —
only when its scope names `accounts.self`, and manages sessions, tokens or the password only when
it names `accounts.credentials`; a session (a login) may do both. A token without a scope holds
the owner's service permissions, never these two.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dockyard.accounts.tokens import API_TOKEN_PREFIX, TokenSigner, digest
from dockyard.core.config import Settings
from dockyard.core.db import Database
from dockyard.core.errors import Forbidden, ServiceUnavailable, Unauthorized
from dockyard.core.http import NO_STORE
from dockyard.core.openapi import raises
from dockyard.core.ratelimit import RateLimiter
from dockyard.core.services import Permission

ACCOUNTS_ADMIN = Permission("accounts.admin", "Manage users, groups, memberships and sessions")

SELF = "accounts.self"
CREDENTIALS = "accounts.credentials"
SELF_SCOPES = {
    SELF: "Read and change your own account and personal data (profile, export, deletion, "
    "your lists in every service)",
    CREDENTIALS: "Manage your sessions, API tokens and password",
}
"""Scopes an API token must name to act on its owner's account; every user may grant them."""

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
# scope key: the BY_API_TOKEN row of the request's `dy_` token
VERIFIED_API_TOKEN = "dockyard.verified_api_token"  # noqa: S105 - a key, not a secret


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

    def may_act_for_self(self, scope: str = SELF) -> bool:
        """True for a session, and for an API token whose scope names `scope` (`accounts.self`, …)."""
        if self.api_token_id is None:
            return True
        return self.scope is not None and scope in self.scope


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


async def lookup_api_token(db: Database, credential: str) -> asyncpg.Record | None:
    """The live token's row (owner, scope, permissions) for a `dy_` credential, or None.

    One statement that leaves no session state: run on a connection released without a reset.
    """
    pool = await db.stateless_primary_pool()
    row: asyncpg.Record | None = await pool.fetchrow(BY_API_TOKEN, digest(credential))
    return row


async def _authenticate(request: Request, credential: str) -> Principal:
    auth, db = _runtime(request)
    if credential.startswith(API_TOKEN_PREFIX):
        # The budget middleware has usually looked this very token up (and charged its user) already.
        row = request.scope.get(VERIFIED_API_TOKEN)
        if row is None:
            row = await lookup_api_token(db, credential)
            if row is None:
                raise Unauthorized("The API token is invalid, expired or revoked.")
            await auth.limiter.hit("user", auth.settings.rate_limit_user, str(row["id"]))
        return Principal(
            user_id=row["id"],
            email=row["email"],
            is_superuser=row["is_superuser"],
            permissions=frozenset(row["permissions"]),
            api_token_id=row["token_id"],
            scope=frozenset(row["scope"]) if row["scope"] is not None else None,
        )
    # The budget middleware has usually verified this very header already.
    claims = request.scope.get(VERIFIED_CLAIMS) or auth.signer.verify(credential)
    pool = await db.stateless_primary_pool()  # one statement, no session state left behind
    row = await pool.fetchrow(BY_SESSION, claims.user_id, claims.session_id)
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
    request.scope[NO_STORE] = True  # an answer made for one caller is no one else's to cache
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


def require_self(scope: str = SELF) -> Callable[..., Awaitable[Principal]]:
    """A dependency for routes acting on the caller's own account: sessions pass, API tokens need `scope`."""
    if scope not in SELF_SCOPES:
        raise ValueError(f"{scope!r} is not one of {sorted(SELF_SCOPES)}")

    @raises(401, 403)
    async def check(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
        if not principal.may_act_for_self(scope):
            raise Forbidden(
                f"This API token's scope does not include `{scope}`, which acting on your own account "
                f"needs here; create a token whose scope lists it, or use a login session."
            )
        return principal

    check.__name__ = f"require_self_{scope.replace('.', '_')}"
    return check


CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
Admin = Annotated[Principal, Depends(require(ACCOUNTS_ADMIN.codename))]
"""A caller holding `accounts.admin` (or a superuser)."""
SelfService = Annotated[Principal, Depends(require_self(SELF))]
"""The caller acting on their own account or personal data (API tokens need `accounts.self`)."""
CredentialManager = Annotated[Principal, Depends(require_self(CREDENTIALS))]
"""The caller managing their sessions, API tokens or password (API tokens need `accounts.credentials`)."""


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
