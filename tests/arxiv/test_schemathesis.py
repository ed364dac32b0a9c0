"""Schemathesis with every check over every /arxiv operation (tests/support/fuzz.py says which).

Each operation is called with generated valid and invalid input, anonymously and as a superuser,
on a real server whose database holds the demo data set and whose upstream is the arXiv stand-in
(ARXIV_API_URL points at it: no request leaves the machine). Valid input may still break a rule a
schema cannot state (a query arXiv would misread, an id that is not an arXiv id, order=rank without
a query): those are the documented 400s.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest
from schemathesis import GenerationMode
from tests.support import fuzz
from tests.support.arxiv import arxiv_standin
from tests.support.postgres import PgServer

from dockyard import accounts, arxiv
from dockyard.arxiv.seed import seed

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}
ENVIRONMENT = {
    "ARXIV_SPACING_S": "0",
    "ARXIV_BACKOFF_S": "0",
    "ARXIV_RETRIES": "0",
    "ARXIV_SEARCH_RATE": "100000/minute",
    "ARXIV_CONTACT": "fuzz@dockyard.example",
    "ARXIV_RUNNER": "true",
}


async def demo_data(conn: asyncpg.Connection) -> None:
    await seed(conn, "demo", lambda done, total: None)


@pytest.fixture(scope="module")
def fuzzed(pg: PgServer) -> Iterator[fuzz.Fuzzed]:
    with arxiv_standin() as standin, pytest.MonkeyPatch.context() as env:
        for name, value in {**ENVIRONMENT, "ARXIV_API_URL": standin.url}.items():
            env.setenv(name, value)
        with fuzz.served(
            pg, (accounts.service, arxiv.service), name="dy_arxiv_fuzz", prepare=demo_data
        ) as fuzzed:
            yield fuzzed
        assert all(call.params is not None for call in standin.calls())


@pytest.mark.parametrize("caller", ["anonymous", "superuser"])
@pytest.mark.parametrize("mode", fuzz.MODES)
@pytest.mark.parametrize(("method", "path"), fuzz.operations(arxiv.service, prefix="/arxiv/"))
def test_every_check_passes(
    fuzzed: fuzz.Fuzzed, method: str, path: str, mode: GenerationMode, caller: str
) -> None:
    fuzz.check_operation(
        fuzzed.schema, method, path, headers=fuzzed.headers(caller), mode=mode, examples=EXAMPLES[mode]
    )
