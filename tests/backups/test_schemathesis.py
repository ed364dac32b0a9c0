"""Property-based requests (schemathesis) against every /backups operation of /openapi.json: never a 5xx.

Reads and writes are sent as a superuser to a real server on a catalog of their own (seeded with the
demo data set), so generated bodies reach the handlers and the database rather than stopping at 401.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from dockyard import accounts, backups
from dockyard.accounts.manage import create_superuser
from dockyard.backups.seed import seed
from tests.support.app import settings_for
from tests.support.live import live_server
from tests.support.postgres import PgServer

EXAMPLES_PER_OPERATION = 30
EMAIL = "fuzz@example.org"
PASSWORD = "a long fuzzing password"


async def _prepare(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await seed(conn, "demo", lambda done, total: None)
        await create_superuser(conn, email=EMAIL, password=PASSWORD)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def served(pg: PgServer) -> Iterator[tuple[schemathesis.BaseSchema, dict[str, str]]]:
    with pg.fresh_database("dy_bk_fuzz") as url:
        pg.migrate(url)
        asyncio.run(_prepare(url))
        app_settings = settings_for(url, rate_limit_login="1000/minute")
        with live_server(app_settings, (accounts.service, backups.service)) as base:
            login = httpx.post(f"{base}/accounts/v1/login", json={"email": EMAIL, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            yield schemathesis.openapi.from_url(f"{base}/openapi.json"), headers


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every backups operation, read from the app's own OpenAPI document."""
    from dockyard.app import create_app

    document = create_app(settings_for("postgresql://unused/unused"), services=(backups.service,)).openapi()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/backups/api/")
        for method in item
    ]


@pytest.mark.parametrize(("method", "path"), _operations())
def test_no_server_error(
    served: tuple[schemathesis.BaseSchema, dict[str, str]], method: str, path: str
) -> None:
    schema, headers = served
    operation = schema[path][method]
    statuses: set[int] = set()

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        response = case.call(headers=headers, timeout=30)
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
        statuses.add(response.status_code)

    call()
    assert statuses, "schemathesis made no request"
