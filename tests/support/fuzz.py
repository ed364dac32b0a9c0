"""Schemathesis over a live Dockyard with every check: what each service's fuzz test shares.

A service's test prepares its database and server, then runs `check_operation` for each of its
operations (`operations(...)`), as each caller and in each generation mode. Every response must pass
every check schemathesis has — no server error, a documented status, content type, headers and
body, valid input accepted (or refused with a documented domain error), invalid input refused,
authentication not ignored, unsupported methods refused — plus the service's own `extra` check.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from dockyard.accounts.manage import create_superuser
from dockyard.accounts.tokens import TokenSigner
from dockyard.core.config import Settings
from dockyard.core.services import Service
from tests.support.app import settings_for
from tests.support.live import live_server
from tests.support.postgres import PgServer

MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
# Valid input may still break a rule a schema cannot state (an unknown permission, a used token, a
# query arXiv would misread): those refusals are each operation's documented domain errors, which
# `status_code_conformance` holds to the document.
ACCEPTED = ["2xx", "400", "401", "403", "404", "409", "429"]
WIDE_BUDGETS = {
    "rate_limit_login": "100000/minute",
    "rate_limit_register": "100000/minute",
    "rate_limit_mail": "100000/minute",
}
PASSWORD = "a long fuzzing passphrase"

Headers = Callable[[], dict[str, str]]
CaseCheck = Callable[[schemathesis.Case, Any], None]


def config(accepted: Sequence[str] = ACCEPTED) -> SchemathesisConfig:
    """Schemathesis' configuration: every check, valid input accepted with `accepted` statuses."""
    return SchemathesisConfig.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": list(accepted)}}}
    )


def operations(
    *services: Service, prefix: str, skip: Callable[[str], bool] = lambda path: False
) -> list[tuple[str, str]]:
    """(method, path) of every operation under `prefix` in the document of an app with `services`."""
    from dockyard.app import create_app

    document = create_app(settings_for("postgresql://unused/unused"), services=services).openapi()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith(prefix) and not skip(path)
        for method in item
    ]


@dataclass
class Superuser:
    """A superuser of the fuzzed database, with a fresh session per case (created in SQL, no hashing)."""

    database_url: str
    settings: Settings
    user_id: int

    def bearer(self) -> dict[str, str]:
        """`Authorization` for a new session, so a case that ends sessions does not starve the next."""
        session_id = uuid.uuid4()

        async def open_session() -> None:
            conn = await asyncpg.connect(self.database_url)
            try:
                await conn.execute(
                    "INSERT INTO accounts.sessions (id, user_id, user_agent) VALUES ($1, $2, 'fuzz')",
                    session_id,
                    self.user_id,
                )
            finally:
                await conn.close()

        asyncio.run(open_session())
        token, _ = TokenSigner(self.settings).issue(self.user_id, session_id)
        return {"Authorization": f"Bearer {token}"}


@dataclass
class Fuzzed:
    """A served app's document and its superuser."""

    schema: schemathesis.BaseSchema
    superuser: Superuser
    base_url: str

    def headers(self, caller: str) -> Headers:
        """The headers of each case for `caller` (`anonymous` or `superuser`)."""
        return self.superuser.bearer if caller == "superuser" else dict


@contextmanager
def served(
    pg: PgServer,
    services: Sequence[Service],
    *,
    name: str,
    prepare: Callable[[asyncpg.Connection], Any] | None = None,
    accepted: Sequence[str] = ACCEPTED,
    **overrides: Any,
) -> Iterator[Fuzzed]:
    """A migrated database of its own (seeded by `prepare`), served live, with a superuser."""
    with pg.fresh_database(name) as url:
        pg.migrate(url)

        async def setup() -> int:
            conn = await asyncpg.connect(url)
            try:
                if prepare is not None:
                    async with conn.transaction():
                        await prepare(conn)
                user_id, _ = await create_superuser(conn, email=f"{name}-root@example.org", password=PASSWORD)
                return int(user_id)
            finally:
                await conn.close()

        user_id = asyncio.run(setup())
        app_settings = settings_for(url, **{**WIDE_BUDGETS, **overrides})
        with live_server(app_settings, services) as base:
            schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=config(accepted))
            yield Fuzzed(schema, Superuser(url, app_settings, user_id), base)


@dataclass
class Tally:
    """What a module sent and what failed (printed at its end; run with -s to see it)."""

    operations: set[str] = field(default_factory=set)
    cases: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self, what: str) -> str:
        """One line: operations, cases, failures."""
        counts = f"{len(self.operations)} operations, {self.cases} cases, {len(self.failures)} failures"
        return f"{what} schemathesis: {counts}"


def _array_query_parameters(operation: Any) -> set[str]:
    """The names of the operation's query parameters whose schema is an array."""
    parameters = operation.definition.raw.get("parameters", [])
    return {
        parameter["name"]
        for parameter in parameters
        if parameter.get("in") == "query" and parameter.get("schema", {}).get("type") == "array"
    }


def check_operation(
    schema: schemathesis.BaseSchema,
    method: str,
    path: str,
    *,
    headers: Headers,
    mode: GenerationMode = GenerationMode.POSITIVE,
    examples: int = 20,
    extra: CaseCheck | None = None,
    keep: Callable[[schemathesis.Case], bool] | None = None,
    tally: Tally | None = None,
) -> set[int]:
    """Send `examples` generated cases of one operation; fail on any check's failure. The statuses seen."""
    operation = schema[path][method]
    listed = _array_query_parameters(operation)
    load_all_checks()
    checks = CHECKS.get_all()
    statuses: set[int] = set()
    failures: list[str] = []
    cases: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        if keep is not None:
            assume(keep(case))
        if mode is GenerationMode.NEGATIVE:
            # A single-valued query parameter given twice is not invalid here: the last value
            # counts, as in the FastAPI and Django systems these services replace (docs/ARCHITECTURE.md).
            assume(
                not any(
                    isinstance(value, list) and name not in listed
                    for name, value in (case.query or {}).items()
                )
            )
        sent = headers()
        response = case.call(headers=sent, timeout=30)
        statuses.add(response.status_code)
        cases.append(response.status_code)
        try:
            case.validate_response(response, checks=checks, headers=sent)  # type: ignore[arg-type]
            if extra is not None:
                extra(case, response)
        except AssertionError as exc:  # schemathesis' failures are AssertionErrors (grouped)
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {exc}")

    call()
    if tally is not None:
        tally.operations.add(f"{method} {path}")
        tally.cases += len(cases)
        tally.failures.extend(failures)
    assert statuses, "schemathesis made no request"
    assert not failures, "\n\n".join(failures[:5])
    return statuses
