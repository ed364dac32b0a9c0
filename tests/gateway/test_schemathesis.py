"""Schemathesis with every check (response conformance included) over the gateway admin API, as a
superuser and anonymously: 0 failures. (The data routes keep Lbasedb's contract and are not in the
OpenAPI document; docs/gateway.md describes them.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from dockyard import accounts, gateway
from dockyard.accounts.manage import create_superuser
from tests.support.app import settings_for
from tests.support.live import live_server
from tests.support.postgres import PgServer

EXAMPLES_AS_SUPERUSER = 20
EXAMPLES_ANONYMOUS = 5
EMAIL = "gateway-fuzz@example.org"
PASSWORD = "a long fuzzing password"


async def _prepare(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await create_superuser(conn, email=EMAIL, password=PASSWORD)
        user_id = await conn.fetchval("SELECT id FROM accounts.users WHERE email = $1", EMAIL)
        for index, level in enumerate(("read", "append", "write", "admin")):
            await conn.execute(
                "INSERT INTO gateway.grants (user_id, feed, level) VALUES ($1, $2, $3::gateway.level)",
                user_id,
                f"fuzz.f{index}",
                level,
            )
        await conn.execute(
            "INSERT INTO gateway.audit (user_id, method, route, feed, decision, status) "
            "VALUES ($1, 'GET', '/size', 'fuzz.f0', 'allow', 200)",
            user_id,
        )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def served(pg: PgServer) -> Iterator[tuple[schemathesis.BaseSchema, dict[str, str]]]:
    with pg.fresh_database("dy_gw_fuzz") as url:
        pg.migrate(url)
        asyncio.run(_prepare(url))
        with live_server(
            settings_for(url, rate_limit_login="1000/minute"), (accounts.service, gateway.service)
        ) as base:
            login = httpx.post(f"{base}/accounts/v1/login", json={"email": EMAIL, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            yield schemathesis.openapi.from_url(f"{base}/openapi.json"), headers


def _operations() -> list[tuple[str, str]]:
    from dockyard.app import create_app

    document = create_app(settings_for("postgresql://unused/unused"), services=(gateway.service,)).openapi()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/gateway/")
        for method in item
    ]


@pytest.mark.parametrize("as_superuser", [True, False], ids=["superuser", "anonymous"])
@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_check_passes(
    served: tuple[schemathesis.BaseSchema, dict[str, str]], method: str, path: str, as_superuser: bool
) -> None:
    schema, headers = served
    operation = schema[path][method]
    statuses: set[int] = set()

    examples = EXAMPLES_AS_SUPERUSER if as_superuser else EXAMPLES_ANONYMOUS

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers=headers if as_superuser else None, timeout=30)
        statuses.add(response.status_code)

    call()
    assert statuses, "schemathesis made no request"
    if not as_superuser:
        assert statuses <= {401, 422}, statuses
