"""Schemathesis with every check over every /mentorship operation (tests/support/fuzz.py says which),
as the demo programme's admin and anonymously. The original checks bodies by hand, so schema-valid
input may still get the contract's 400 (a name pattern, a mentor not available, …).
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from dockyard import accounts, mentorship
from dockyard.mentorship.seed import PASSWORD, seed
from tests.support import fuzz
from tests.support.postgres import PgServer

EXAMPLES = {"member": 12, "anonymous": 3}
EXAMPLES_V1 = 4  # the same handlers (test_versions checks the two documents agree)


async def demo_programme(conn: asyncpg.Connection) -> None:
    await seed(conn, "demo", lambda done, total: None)


@pytest.fixture(scope="module")
def fuzzed(pg: PgServer) -> Iterator[tuple[fuzz.Fuzzed, dict[str, str]]]:
    services = (accounts.service, mentorship.service)
    with fuzz.served(pg, services, name="dy_m_fuzz", prepare=demo_programme) as fuzzed:
        login = httpx.post(
            f"{fuzzed.base_url}/mentorship/login", json={"username": "ada_admin", "password": PASSWORD}
        )
        login.raise_for_status()
        yield fuzzed, {"Authorization": f"Bearer {login.json()['access_token']}"}


def no_logout(path: str) -> bool:
    # Logging out would end the session every other case uses; it is tested in test_sessions.
    return path.endswith("/logout")


@pytest.mark.parametrize("caller", ["member", "anonymous"])
@pytest.mark.parametrize(
    ("method", "path"),
    fuzz.operations(accounts.service, mentorship.service, prefix="/mentorship/", skip=no_logout),
)
def test_all_checks(fuzzed: tuple[fuzz.Fuzzed, dict[str, str]], method: str, path: str, caller: str) -> None:
    served, member = fuzzed
    examples = EXAMPLES_V1 if path.startswith("/mentorship/v1/") else EXAMPLES[caller]
    headers = (lambda: dict(member)) if caller == "member" else dict
    fuzz.check_operation(served.schema, method, path, headers=headers, examples=examples)
