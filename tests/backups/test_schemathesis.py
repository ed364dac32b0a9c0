"""Schemathesis with every check over every /backups operation (tests/support/fuzz.py says which).

The catalog is a database of its own holding the demo data set, so generated ids and filters meet
real runs, alerts, schedules and restore tests. Each operation is called with valid and invalid
input, anonymously and as a superuser with a fresh session per case: no 5xx, every status and body
as documented, invalid input refused, and an anonymous caller learns nothing but how to ask.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest
from schemathesis import GenerationMode

from dockyard import accounts, backups
from dockyard.backups.seed import seed
from tests.support import fuzz
from tests.support.postgres import PgServer

EXAMPLES = {
    ("superuser", GenerationMode.POSITIVE): 20,
    ("superuser", GenerationMode.NEGATIVE): 10,
    ("anonymous", GenerationMode.POSITIVE): 5,
    ("anonymous", GenerationMode.NEGATIVE): 5,
}


async def demo_catalog(conn: asyncpg.Connection) -> None:
    """The demo data set: sections, runs in every state, schedules, alerts and restore tests."""
    await seed(conn, "demo", lambda done, total: None)


@pytest.fixture(scope="module")
def tally() -> Iterator[fuzz.Tally]:
    found = fuzz.Tally()
    yield found
    print("\n" + found.summary("backups"))


@pytest.fixture(scope="module")
def fuzzed(pg: PgServer) -> Iterator[fuzz.Fuzzed]:
    with fuzz.served(
        pg, (accounts.service, backups.service), name="dy_bk_fuzz", prepare=demo_catalog
    ) as fuzzed:
        yield fuzzed


@pytest.mark.parametrize("caller", ["superuser", "anonymous"])
@pytest.mark.parametrize("mode", fuzz.MODES)
@pytest.mark.parametrize(("method", "path"), fuzz.operations(backups.service, prefix="/backups/api/"))
def test_every_check_passes(
    fuzzed: fuzz.Fuzzed, tally: fuzz.Tally, method: str, path: str, mode: GenerationMode, caller: str
) -> None:
    statuses = fuzz.check_operation(
        fuzzed.schema,
        method,
        path,
        headers=fuzzed.headers(caller),
        mode=mode,
        examples=EXAMPLES[(caller, mode)],
        tally=tally,
    )
    if caller == "anonymous":
        assert statuses <= {400, 401, 422}, "an anonymous caller learns nothing but how to ask"
