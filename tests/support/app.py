"""Build a Dockyard app for a test and talk to it over ASGI (lifespan included)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from dockyard.app import create_app
from dockyard.backups.settings import BackupsSettings
from dockyard.core.config import Settings
from dockyard.core.services import Service, ServiceSettings
from dockyard.mentorship.settings import MentorshipSettings

TEST_JWT_SECRET = "test-secret-" + "x" * 40


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test app: an explicit database, console logs, nothing read from `.env`."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "log_format": "console",
        "db_pool_min": 0,
        "jwt_secret": TEST_JWT_SECRET,
        # Not REDIS_URL from the environment (CI sets it): counters kept in a shared Redis would
        # carry over from test to test. Tests of Redis pass the `redis` fixture's URL.
        "redis_url": None,
        "allowed_hosts": ["testserver", "127.0.0.1", "localhost"],
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def service_settings_for(*given: ServiceSettings) -> list[ServiceSettings]:
    """Services' settings for a test app: `given`, then the test defaults of the others."""
    # Tests change the backups catalog behind the app's back and read the overview right after.
    # The mentorship daily jobs act on every relation of the shared test database; tests run them by hand.
    defaults: list[ServiceSettings] = [
        BackupsSettings(_env_file=None, overview_cache_s=0),  # type: ignore[call-arg]
        MentorshipSettings(_env_file=None, scheduler=False),  # type: ignore[call-arg]
    ]
    kinds = {type(item) for item in given}
    return [*given, *(item for item in defaults if type(item) not in kinds)]


class AppClient(httpx.AsyncClient):
    """An httpx client that also holds the app it talks to (for its `state`)."""

    def __init__(self, app: FastAPI, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app


@asynccontextmanager
async def app_client(
    settings: Settings,
    services: Sequence[Service] = (),
    *,
    base_url: str = "http://testserver",
    client_ip: str = "127.0.0.1",
    service_settings: Sequence[ServiceSettings] = (),
) -> AsyncIterator[AppClient]:
    """An httpx client wired to a freshly built app whose lifespan runs around the block."""
    app = create_app(
        settings,
        services=services,
        service_settings=service_settings_for(*service_settings),
        configure_logs=False,
    )
    # Generous bounds: on a loaded machine a lifespan with background workers takes seconds to stop.
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=(client_ip, 50000))
        async with AppClient(app, transport=transport, base_url=base_url) as client:
            yield client
