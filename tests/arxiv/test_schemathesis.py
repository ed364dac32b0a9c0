"""Property-based requests (schemathesis, every check) against every /arxiv operation of /openapi.json.

Each operation is called with generated valid and invalid input, anonymously and as a superuser,
on a real server whose database holds the demo data set and whose upstream is the arXiv stand-in
(ARXIV_API_URL points at it: no request leaves the machine). Every response must pass every check:
no server error, a documented status, content type, headers and body, valid input accepted (or
refused with a documented domain error), invalid input refused, authentication not ignored,
unsupported methods refused.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from tests.support.app import settings_for
from tests.support.arxiv import arxiv_standin
from tests.support.live import live_server
from tests.support.postgres import PgServer

from dockyard import accounts, arxiv
from dockyard.accounts.manage import create_superuser
from dockyard.accounts.tokens import TokenSigner
from dockyard.arxiv.seed import seed
from dockyard.core.config import Settings

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}
EMAIL = "fuzz-arxiv@example.org"
PASSWORD = "a long fuzzing passphrase"
# Valid input may still break a rule the schema cannot state (a query arXiv would misread, an id
# that is not an arXiv id, order=rank without a query): those are the documented 400s.
ACCEPTED = ["2xx", "400", "401", "403", "404", "409", "429"]
ENVIRONMENT = {
    "ARXIV_SPACING_S": "0",
    "ARXIV_BACKOFF_S": "0",
    "ARXIV_RETRIES": "0",
    "ARXIV_SEARCH_RATE": "100000/minute",
    "ARXIV_CONTACT": "fuzz@dockyard.example",
    "ARXIV_RUNNER": "true",
}


@dataclass
class Fuzzed:
    schema: schemathesis.BaseSchema
    database_url: str
    settings: Settings
    superuser_id: int

    def fresh_bearer(self) -> dict[str, str]:
        """A new session of the superuser (created in SQL: no password hashing per case)."""
        session_id = uuid.uuid4()

        async def open_session() -> None:
            conn = await asyncpg.connect(self.database_url)
            try:
                await conn.execute(
                    "INSERT INTO accounts.sessions (id, user_id, user_agent) VALUES ($1, $2, 'fuzz')",
                    session_id,
                    self.superuser_id,
                )
            finally:
                await conn.close()

        asyncio.run(open_session())
        token, _ = TokenSigner(self.settings).issue(self.superuser_id, session_id)
        return {"Authorization": f"Bearer {token}"}


async def _prepare(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await seed(conn, "demo", lambda done, total: None)
        user_id, _ = await create_superuser(conn, email=EMAIL, password=PASSWORD)
        return user_id
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def fuzzed(pg: PgServer) -> Iterator[Fuzzed]:
    with (
        pg.fresh_database("dy_arxiv_fuzz") as url,
        arxiv_standin() as standin,
        pytest.MonkeyPatch.context() as env,
    ):
        pg.migrate(url)
        superuser_id = asyncio.run(_prepare(url))
        for name, value in {**ENVIRONMENT, "ARXIV_API_URL": standin.url}.items():
            env.setenv(name, value)
        app_settings = settings_for(url, rate_limit_login="100000/minute")
        with live_server(app_settings, (accounts.service, arxiv.service)) as base:
            config = SchemathesisConfig.from_dict(
                {"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}}
            )
            schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=config)
            yield Fuzzed(schema, url, app_settings, superuser_id)
        assert all(call.params is not None for call in standin.calls())


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every arxiv operation, read from the app's own OpenAPI document."""
    from dockyard.app import create_app

    document = create_app(settings_for("postgresql://unused/unused"), services=(arxiv.service,)).openapi()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/arxiv/")
        for method in item
    ]


def _all_checks() -> list[schemathesis.checks.CheckFunction]:
    load_all_checks()
    return CHECKS.get_all()  # type: ignore[return-value]


@pytest.mark.parametrize("caller", ["anonymous", "superuser"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_check_passes(
    fuzzed: Fuzzed, method: str, path: str, mode: GenerationMode, caller: str
) -> None:
    operation = fuzzed.schema[path][method]
    checks = _all_checks()
    statuses: set[int] = set()
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        headers = fuzzed.fresh_bearer() if caller == "superuser" else {}
        response = case.call(headers=headers, timeout=30)
        statuses.add(response.status_code)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except AssertionError as exc:  # schemathesis' failures are AssertionErrors (grouped)
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {exc}")

    call()
    assert statuses, "schemathesis made no request"
    assert not failures, "\n\n".join(failures[:5])
