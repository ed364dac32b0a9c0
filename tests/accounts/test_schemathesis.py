"""Property-based requests (schemathesis, every check) against every /accounts operation of /openapi.json.

Each operation is called with generated valid and invalid input, once anonymously and once as a
logged-in superuser, on a real server with a database of its own. Every response must pass every
check schemathesis has: no server error, a documented status, content type, headers and body, valid
input accepted (or refused with a documented domain error), invalid input refused, authentication
not ignored, unsupported methods refused. The superuser gets a fresh session for each case, so an
operation that ends sessions (logout, logout-all, revoke-sessions) does not starve the next ones.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from dockyard import accounts
from dockyard.accounts.manage import create_superuser
from dockyard.accounts.tokens import TokenSigner
from dockyard.core.config import Settings
from tests.support.app import settings_for
from tests.support.live import live_server
from tests.support.postgres import PgServer

EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
EMAIL = "fuzz-root@example.org"
PASSWORD = "a long fuzzing passphrase"
# Valid input may still break a rule the schema cannot state (an unknown permission, a used token,
# a breached password); such refusals are the documented 400s and 409s of each operation, which
# `status_code_conformance` holds to the document.
ACCEPTED = ["2xx", "400", "401", "403", "404", "409", "429"]


@dataclass
class Tally:
    """What the module sent and what failed, printed at the end (run with -s to see it)."""

    operations: set[str] = field(default_factory=set)
    cases: int = 0
    failures: list[str] = field(default_factory=list)


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
        user_id, _ = await create_superuser(conn, email=EMAIL, password=PASSWORD)
        return user_id
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    found = Tally()
    yield found
    print(
        f"\naccounts schemathesis: {len(found.operations)} operations, {found.cases} cases, "
        f"{len(found.failures)} failures"
    )


@pytest.fixture(scope="module")
def fuzzed(pg: PgServer) -> Iterator[Fuzzed]:
    with pg.fresh_database("dy_acc_fuzz") as url:
        pg.migrate(url)
        superuser_id = asyncio.run(_prepare(url))
        # Wide budgets and a short flood wait: generated input repeats addresses far more than people do.
        app_settings = settings_for(
            url,
            rate_limit_login="100000/minute",
            rate_limit_login_ip="100000/minute",
            login_slowdown_max_s=0.01,
            rate_limit_register="100000/minute",
            rate_limit_mail="100000/minute",
            rate_limit_mail_ip="100000/minute",
            rate_limit_mail_account="100000/minute",
        )
        with live_server(app_settings, (accounts.service,)) as base:
            config = SchemathesisConfig.from_dict(
                {"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}}
            )
            schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=config)
            yield Fuzzed(schema, url, app_settings, superuser_id)


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every accounts operation, read from the app's own OpenAPI document."""
    from dockyard.app import create_app

    document = create_app(settings_for("postgresql://unused/unused"), services=(accounts.service,)).openapi()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/accounts/")
        for method in item
    ]


def _all_checks() -> list[schemathesis.checks.CheckFunction]:
    load_all_checks()
    return CHECKS.get_all()  # type: ignore[return-value]


@pytest.mark.parametrize("caller", ["anonymous", "superuser"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_check_passes(
    fuzzed: Fuzzed, tally: Tally, method: str, path: str, mode: GenerationMode, caller: str
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
        tally.cases += 1
        statuses.add(response.status_code)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except AssertionError as exc:  # schemathesis' failures are AssertionErrors (grouped)
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {exc}")

    call()
    tally.operations.add(f"{method} {path}")
    tally.failures.extend(failures)
    assert statuses, "schemathesis made no request"
    assert not failures, "\n\n".join(failures[:5])
