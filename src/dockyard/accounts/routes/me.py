"""The caller's own account: profile, export, deletion, personal API tokens.

A session may do all of it; an API token needs `accounts.self` in its scope for the account and
`accounts.credentials` for its tokens (see `accounts.auth`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Response

from dockyard.accounts import apitokens
from dockyard.accounts.auth import CredentialManager, CurrentUser, SelfService
from dockyard.accounts.models import (
    ApiTokenCreated,
    ApiTokenIn,
    ApiTokenOut,
    ExportOut,
    MePatch,
    PasswordIn,
    UserOut,
)
from dockyard.accounts.queries import sessions, users
from dockyard.accounts.routes.context import PoolDep
from dockyard.accounts.service import delete_account, get_user
from dockyard.core.db import Conn
from dockyard.core.errors import NotFound
from dockyard.core.openapi import errors
from dockyard.core.types import Id

router = APIRouter(prefix="/v1/me", tags=["accounts"])


@router.get("", response_model=UserOut, summary="Your account")
async def me(user: SelfService, pool: PoolDep) -> Any:
    """Your account with its groups and effective permissions."""
    # The primary without a transaction: fresh after a PATCH, and one round trip.
    return await get_user(pool, user.user_id)


@router.patch("", response_model=UserOut, responses=errors(400), summary="Change your name or username")
async def update_me(body: MePatch, user: SelfService, conn: Conn) -> Any:
    """Set `display_name` and/or `username` (a taken username is 409; null clears the username)."""
    await users.update_profile(conn, user.user_id, body.model_dump(exclude_unset=True))
    return await get_user(conn, user.user_id)


@router.delete("", status_code=204, responses=errors(400, 403, 409), summary="Delete your account")
async def delete_me(body: PasswordIn, user: SelfService, pool: PoolDep) -> Response:
    """Anonymises the account (needs the password): identity, credentials and tokens are removed.

    409 for the last active superuser: make another one first.
    """
    await delete_account(pool, user.user_id, body.password)
    return Response(status_code=204)


@router.get("/export", response_model=ExportOut, summary="Everything stored about you")
async def export_me(user: SelfService, conn: Conn) -> Any:
    """The account, its groups and permissions, sessions and API tokens (never secrets or hashes)."""
    return {
        "exported_at": dt.datetime.now(dt.UTC),
        "account": await get_user(conn, user.user_id),
        "sessions": await sessions.sessions_of(conn, user.user_id),
        "api_tokens": await apitokens.list_tokens(conn, user.user_id),
    }


@router.get("/tokens", response_model=list[ApiTokenOut], summary="Your API tokens")
async def list_tokens(user: CredentialManager, pool: PoolDep) -> Any:
    """Your API tokens, newest first, with when each was last used (never the secrets)."""
    return await apitokens.list_tokens(pool, user.user_id)


@router.post(
    "/tokens",
    status_code=201,
    response_model=ApiTokenCreated,
    responses=errors(400),
    summary="Create an API token",
)
async def create_token(body: ApiTokenIn, user: CurrentUser, conn: Conn) -> Any:
    """The token is in the answer once; only its hash is kept. `scope` can only narrow your permissions."""
    return await apitokens.create(
        conn, user, name=body.name, expires_in_days=body.expires_in_days, scope=body.scope
    )


@router.delete("/tokens/{token_id}", status_code=204, responses=errors(404), summary="Revoke an API token")
async def revoke_token(token_id: Id, user: CredentialManager, conn: Conn) -> Response:
    """Revoke one of your API tokens (it stops working at once)."""
    if not await apitokens.revoke(conn, user.user_id, token_id):
        raise NotFound(f"You have no API token {token_id}.")
    return Response(status_code=204)
