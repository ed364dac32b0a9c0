"""Accounts fixtures: a migrated database, a real SMTP inbox, an app with a demo service to guard."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import asyncpg
import pytest
from fastapi import APIRouter, Depends

from dockyard import accounts
from dockyard.accounts.auth import OptionalUser, Principal, require
from dockyard.core.config import Settings
from dockyard.core.services import Permission, Service
from tests.support.app import AppClient, app_client, settings_for
from tests.support.smtp import Inbox, smtp_server

PASSWORD = "correct horse battery staple"

demo_router = APIRouter()


@demo_router.get("/whoami")
async def whoami(user: OptionalUser) -> dict[str, Any]:
    return {"user": user.email if user else None}


@demo_router.get("/view")
async def demo_view(user: Annotated[Principal, Depends(require("demo.view"))]) -> dict[str, Any]:
    return {"viewer": user.user_id}


@demo_router.post("/manage")
async def demo_manage(user: Annotated[Principal, Depends(require("demo.manage"))]) -> dict[str, Any]:
    return {"manager": user.user_id}


DEMO = Service(
    name="demo",
    title="Demo",
    description="A guarded service for the accounts tests.",
    router=demo_router,
    prefix="/demo",
    permissions=(Permission("demo.view", "See demo things"), Permission("demo.manage", "Change demo things")),
)
SERVICES = (accounts.service, DEMO)


def new_email(tag: str = "user") -> str:
    """An address no other test uses."""
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.org"


@pytest.fixture(scope="session")
def smtp() -> Iterator[Inbox]:
    with smtp_server() as inbox:
        yield inbox


@pytest.fixture
def settings(migrated_db: str, smtp: Inbox) -> Settings:
    """Real SMTP; auth budgets wide enough for tests that create many users (test_ratelimit narrows them)."""
    return accounts_settings(migrated_db, smtp)


def accounts_settings(database_url: str, smtp: Inbox) -> Settings:
    """Settings for an app with accounts on `database_url`: the test inbox, wide auth budgets."""
    return settings_for(
        database_url,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_starttls=False,
        rate_limit_login="1000/minute",
        rate_limit_register="1000/minute",
        rate_limit_mail="1000/minute",
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AppClient]:
    async with app_client(settings, SERVICES) as client:
        yield client


@pytest.fixture
async def db(migrated_db: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(migrated_db)
    try:
        yield conn
    finally:
        await conn.close()


class Accounts:
    """Shortcuts over the HTTP API for tests that need users in a given state."""

    def __init__(self, client: AppClient, db: asyncpg.Connection) -> None:
        self.client = client
        self.db = db

    async def user(
        self, tag: str = "user", *, superuser: bool = False, groups: tuple[str, ...] = ()
    ) -> tuple[int, str]:
        """A registered, verified user (id, email); verification is done in SQL to keep tests short."""
        email = new_email(tag)
        answer = await self.client.post("/accounts/v1/register", json={"email": email, "password": PASSWORD})
        assert answer.status_code == 202, answer.text
        # The answer does not say whether an account was made (or its id): the table does.
        user_id = await self.db.fetchval("SELECT id FROM accounts.users WHERE email = $1", email)
        assert user_id is not None, f"registering {email} made no account"
        await self.db.execute(
            "UPDATE accounts.users SET email_verified_at = now(), is_superuser = $2 WHERE id = $1",
            user_id,
            superuser,
        )
        for group in groups:
            await self.db.execute(
                "INSERT INTO accounts.user_groups (user_id, group_id) "
                "SELECT $1, id FROM accounts.groups WHERE name = $2",
                user_id,
                group,
            )
        return user_id, email

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        answer = await self.client.post("/accounts/v1/login", json={"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        pair: dict[str, Any] = answer.json()
        return pair

    async def bearer(self, tag: str = "user", **kwargs: Any) -> tuple[int, dict[str, str]]:
        """A new verified, logged-in user: (id, Authorization header)."""
        user_id, email = await self.user(tag, **kwargs)
        pair = await self.login(email)
        return user_id, {"Authorization": f"Bearer {pair['access_token']}"}

    async def api_token(self, headers: dict[str, str], *, scope: list[str] | None = None) -> dict[str, str]:
        """A new API token of the user whose session `headers` carry, as an Authorization header."""
        body: dict[str, Any] = {"name": f"token-{uuid.uuid4().hex[:6]}"}
        if scope is not None:
            body["scope"] = scope
        answer = await self.client.post("/accounts/v1/me/tokens", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    async def group(self, *permissions: str) -> str:
        """A new group holding `permissions` (created in SQL); returns its name."""
        name = f"group-{uuid.uuid4().hex[:8]}"
        group_id = await self.db.fetchval("INSERT INTO accounts.groups (name) VALUES ($1) RETURNING id", name)
        for permission in permissions:
            await self.db.execute(
                "INSERT INTO accounts.group_permissions (group_id, permission) VALUES ($1, $2)",
                group_id,
                permission,
            )
        return name


@pytest.fixture
def users(client: AppClient, db: asyncpg.Connection) -> Accounts:
    return Accounts(client, db)
