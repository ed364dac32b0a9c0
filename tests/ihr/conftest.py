"""IHR fixtures: accounts + ihr for the user routes; a known data set and an ihr-only app for the lists."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from dockyard import accounts, ihr
from dockyard.core.config import Settings
from tests.accounts.conftest import db, settings, smtp, users
from tests.ihr import data
from tests.support.app import AppClient, app_client, settings_for
from tests.support.postgres import PgServer

__all__ = ["api", "client", "db", "ihr_db", "settings", "smtp", "users"]


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AppClient]:
    async with app_client(settings, (accounts.service, ihr.service)) as client:
        yield client


@pytest.fixture(scope="session")
def ihr_db(pg: PgServer) -> Iterator[str]:
    """A migrated database holding tests/ihr/data.py's data set (read-only for the tests)."""
    with pg.fresh_database("dy_ihr") as url:
        pg.migrate(url)

        async def fill() -> None:
            conn = await asyncpg.connect(url)
            try:
                async with conn.transaction():
                    await data.load(conn)
            finally:
                await conn.close()

        asyncio.run(fill())
        yield url


@pytest.fixture
async def api(ihr_db: str) -> AsyncIterator[AppClient]:
    """A client of an app serving only the ihr service on the data set."""
    async with app_client(settings_for(ihr_db), (ihr.service,)) as client:
        yield client
