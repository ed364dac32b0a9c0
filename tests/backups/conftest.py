"""Backups fixtures: the accounts fixtures with an app mounting accounts and backups."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from dockyard import accounts, backups
from dockyard.core.config import Settings
from tests.accounts.conftest import db, settings, smtp, users
from tests.support.app import AppClient, app_client
from tests.support.postgres import PgServer

__all__ = ["client", "db", "settings", "smtp", "users"]


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AppClient]:
    async with app_client(settings, (accounts.service, backups.service)) as client:
        yield client


@pytest.fixture
def catalog_url(pg: PgServer) -> Iterator[str]:
    """A migrated catalog of the test's own, for code that acts on every run it finds (scheduler)."""
    with pg.fresh_database("dy_catalog") as url:
        pg.migrate(url)
        yield url


@pytest.fixture
async def catalog(catalog_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to `catalog_url`."""
    conn = await asyncpg.connect(catalog_url)
    try:
        yield conn
    finally:
        await conn.close()
