"""What the mentorship routes share: path ids, the caller's address, accounts' runtime and pool."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Path, Request

from dockyard.accounts.auth import AuthRuntime
from dockyard.accounts.service import Client
from dockyard.core.types import BIGINT_MAX
from dockyard.mentorship.models import Message

# Ids in paths are non-negative integers as in the original (`<int:…>`; anything else is a 404);
# past bigint they are 422.
PathId = Annotated[int, Path(ge=0, le=BIGINT_MAX)]


def _auth(request: Request) -> AuthRuntime:
    auth: AuthRuntime = request.app.state.auth
    return auth


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.db.primary  # type: ignore[no-any-return]


Auth = Annotated[AuthRuntime, Depends(_auth)]
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]


def ip(request: Request) -> str:
    """The client's address (for budgets)."""
    return request.client.host if request.client else "unknown"


def client(request: Request) -> Client:
    """Where a login comes from, for the session record."""
    return Client(request.client.host if request.client else None, request.headers.get("user-agent", ""))


def message(text: str) -> Message:
    """A `{"message": ...}` body."""
    return Message(message=text)
