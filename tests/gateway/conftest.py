"""Gateway fixtures: a stand-in Lbasedb, an app mounting accounts and the gateway, callers and grants."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from dockyard import accounts, gateway
from dockyard.accounts.tokens import API_TOKEN_PREFIX, digest, new_secret
from dockyard.core.config import Settings
from dockyard.gateway.settings import GatewaySettings
from tests.accounts.conftest import Accounts, db, settings, smtp
from tests.support.app import AppClient, app_client
from tests.support.lbasedb import StandIn, running_standin

__all__ = ["db", "settings", "smtp"]


@pytest.fixture(scope="session")
def lbasedb() -> Iterator[tuple[str, StandIn]]:
    """One stand-in for the session; tests use feeds of their own and clear faults and records."""
    with running_standin() as running:
        yield running


@pytest.fixture
def standin(lbasedb: tuple[str, StandIn]) -> StandIn:
    lbasedb[1].clear()
    return lbasedb[1]


def gateway_settings(url: str | None, **overrides: Any) -> GatewaySettings:
    return GatewaySettings(_env_file=None, lbasedb_url=url, audit_flush_s=0.05, **overrides)  # type: ignore[call-arg]


@pytest.fixture
async def client(settings: Settings, lbasedb: tuple[str, StandIn]) -> AsyncIterator[AppClient]:
    lbasedb[1].clear()  # no fault or record left by another test
    async with app_client(
        settings, (accounts.service, gateway.service), service_settings=[gateway_settings(lbasedb[0])]
    ) as client:
        yield client


@pytest.fixture
def users(client: AppClient, db: asyncpg.Connection) -> Accounts:
    return Accounts(client, db)


@dataclass
class Caller:
    user_id: int
    headers: dict[str, str]
    token_id: int


class People:
    """Users, groups, tokens and grants made in SQL (fast: no password hashing)."""

    def __init__(self, db: asyncpg.Connection) -> None:
        self.db = db

    async def caller(
        self, *, superuser: bool = False, groups: tuple[int, ...] = (), scope: list[str] | None = None
    ) -> Caller:
        user_id = await self.db.fetchval(
            "INSERT INTO accounts.users (email, email_verified_at, is_superuser) "
            "VALUES ($1, now(), $2) RETURNING id",
            f"gw-{uuid.uuid4().hex[:12]}@example.org",
            superuser,
        )
        for group_id in groups:
            await self.db.execute(
                "INSERT INTO accounts.user_groups (user_id, group_id) VALUES ($1, $2)", user_id, group_id
            )
        token = new_secret(API_TOKEN_PREFIX)
        token_id = await self.db.fetchval(
            "INSERT INTO accounts.api_tokens (user_id, name, token_hash, prefix, scope) "
            "VALUES ($1, 'test', $2, $3, $4) RETURNING id",
            user_id,
            digest(token),
            token[:10],
            scope,
        )
        return Caller(user_id, {"Authorization": f"Bearer {token}"}, token_id)

    async def token(self, user_id: int, scope: list[str] | None) -> dict[str, str]:
        """The Authorization header of a new API token of the user, with `scope`."""
        token = new_secret(API_TOKEN_PREFIX)
        await self.db.execute(
            "INSERT INTO accounts.api_tokens (user_id, name, token_hash, prefix, scope) "
            "VALUES ($1, 't', $2, $3, $4)",
            user_id,
            digest(token),
            token[:10],
            scope,
        )
        return {"Authorization": f"Bearer {token}"}

    async def group(self, *permissions: str) -> int:
        group_id: int = await self.db.fetchval(
            "INSERT INTO accounts.groups (name) VALUES ($1) RETURNING id", f"gw-{uuid.uuid4().hex[:10]}"
        )
        for permission in permissions:
            await self.db.execute(
                "INSERT INTO accounts.group_permissions (group_id, permission) VALUES ($1, $2)",
                group_id,
                permission,
            )
        return group_id

    async def grant(
        self,
        feed: str,
        level: str,
        *,
        user: int | None = None,
        group: int | None = None,
        columns: list[str] | None = None,
    ) -> int:
        grant_id: int = await self.db.fetchval(
            "INSERT INTO gateway.grants (user_id, group_id, feed, level, columns) "
            "VALUES ($1, $2, $3, $4::gateway.level, $5) RETURNING id",
            user,
            group,
            feed,
            level,
            columns,
        )
        return grant_id


@pytest.fixture
def people(db: asyncpg.Connection) -> People:
    return People(db)


def feed_name(prefix: str = "t") -> str:
    """A feed name no other test uses."""
    return f"{prefix}.f{uuid.uuid4().hex[:12]}"


class Lbasedb:
    """Direct access to the stand-in (not through the gateway), to prepare and inspect data."""

    def __init__(self, url: str, standin: StandIn) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=60)
        self.standin = standin

    async def feed(self, name: str, cols: dict[str, str], rows: dict[str, list[Any]] | None = None) -> str:
        """A new feed made in the stand-in's store (its loop is idle while the test sets up)."""
        store = self.standin.store
        store.feed_add(name)
        for col, datatype in cols.items():
            store.col_add(name, col, datatype)
        if rows:
            store.data_push(name, rows)
        return name

    async def data(self, feed: str, cols: list[str], ix: int = 0, size: int | None = None) -> dict[str, Any]:
        if size is None:
            size = (await self.http.get("/size", params={"feed": feed})).json()["size"]
        query = f"feed={feed}&ix={ix}&size={size}" + "".join(f"&col[]={col}" for col in cols)
        answer = await self.http.get(f"/data?{query}")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


@pytest.fixture
async def direct(lbasedb: tuple[str, StandIn]) -> AsyncIterator[Lbasedb]:
    handle = Lbasedb(*lbasedb)
    yield handle
    await handle.http.aclose()
