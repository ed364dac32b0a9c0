"""Schemathesis over every /mentorship operation of /openapi.json, with all its checks, at 0 failures.

A real server on a database of its own, seeded with the demo programme; requests carry the access
token of the demo admin, so generated input reaches the rules and the database. One allowance,
configured rather than a check turned off: `positive_data_acceptance` also accepts 400, because the
contract validates bodies by hand with rules no schema states (a name's letters after whitespace is
removed, a mentor who is not available, a task in a relation that is not ACCEPTED) and answers 400.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from dockyard import accounts, mentorship
from dockyard.mentorship.seed import PASSWORD, seed
from tests.support.app import settings_for
from tests.support.live import live_server
from tests.support.postgres import PgServer

EXAMPLES = 12
EXAMPLES_V1 = 4  # the same handlers (test_versions checks the two documents agree)


async def _prepare(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await seed(conn, "demo", lambda done, total: None)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def served(pg: PgServer) -> Iterator[tuple[schemathesis.BaseSchema, dict[str, str]]]:
    with pg.fresh_database("dy_m_fuzz") as url:
        pg.migrate(url)
        asyncio.run(_prepare(url))
        app_settings = settings_for(
            url,
            rate_limit_login="100000/minute",
            rate_limit_register="100000/minute",
            rate_limit_mail="100000/minute",
        )
        with live_server(app_settings, (accounts.service, mentorship.service)) as base:
            login = httpx.post(
                f"{base}/mentorship/login", json={"username": "ada_admin", "password": PASSWORD}
            )
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
            schema.config.checks.positive_data_acceptance.expected_statuses = [
                "2xx",
                "400",
                "401",
                "403",
                "404",
                "409",
                "429",
            ]
            yield schema, headers


def _operations() -> list[tuple[str, str]]:
    from dockyard.app import create_app

    document = create_app(
        settings_for("postgresql://unused/unused"), services=(accounts.service, mentorship.service)
    ).openapi()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/mentorship/")
        for method in item
        # Logging out would end the session every other operation uses; it is tested in test_sessions.
        if not path.endswith("/logout")
    ]


@pytest.mark.parametrize(("method", "path"), _operations())
def test_all_checks(served: tuple[schemathesis.BaseSchema, dict[str, str]], method: str, path: str) -> None:
    schema, headers = served
    operation = schema[path][method]
    statuses: set[int] = set()
    examples = EXAMPLES_V1 if path.startswith("/mentorship/v1/") else EXAMPLES

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        response = case.call(headers=headers, timeout=30)
        case.validate_response(response, headers=headers)
        statuses.add(response.status_code)

    call()
    assert statuses, "schemathesis made no request"
