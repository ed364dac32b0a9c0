"""Backups fixtures: the accounts fixtures with an app mounting accounts and backups."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dockyard import accounts, backups
from dockyard.core.config import Settings
from tests.accounts.conftest import db, settings, smtp, users
from tests.support.app import AppClient, app_client

__all__ = ["client", "db", "settings", "smtp", "users"]


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AppClient]:
    async with app_client(settings, (accounts.service, backups.service)) as client:
        yield client
