"""What accounts' routes read from the app: the auth runtime, the primary pool, the mailer, the client.

Every route taking a body documents 400 among its errors: a body that is not UTF-8 text is refused
with 400 before it is validated.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dockyard.accounts.auth import AuthRuntime
from dockyard.accounts.mail import Mailer
from dockyard.core.db import Pool
from dockyard.core.http import NO_STORE


def _auth(request: Request) -> AuthRuntime:
    auth: AuthRuntime = request.app.state.auth
    return auth


def _pool(request: Request) -> Pool:
    # Functions in `service` own their transactions (some outcomes must commit although the request fails).
    return request.app.state.db.primary  # type: ignore[no-any-return]


def _mailer(request: Request) -> Mailer:
    mailer: Mailer = request.app.state.mailer
    return mailer


def no_store(request: Request) -> None:
    """Mark the answer private: accounts' answers carry tokens or someone's personal data."""
    request.scope[NO_STORE] = True


def client_ip(request: Request) -> str:
    """The client's address ("unknown" when the server does not know it)."""
    return request.client.host if request.client else "unknown"


Auth = Annotated[AuthRuntime, Depends(_auth)]
PoolDep = Annotated[Pool, Depends(_pool)]
MailerDep = Annotated[Mailer, Depends(_mailer)]
