"""arxiv fixtures: the arXiv stand-in, the service's settings pointed at it, an app with accounts and arxiv.

Tests share the session's migrated database, so each searches words of its own (`word`) and the job
runner is off; tests of queued jobs get a database of their own (`own_db`) where the runner is on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from tests.accounts.conftest import Accounts, accounts_settings, db, smtp
from tests.support.app import AppClient, app_client
from tests.support.arxiv import ArxivStandIn, arxiv_standin, generated_entry
from tests.support.postgres import PgServer
from tests.support.smtp import Inbox

from dockyard import accounts, arxiv
from dockyard.arxiv.settings import ArxivSettings
from dockyard.core.config import Settings

__all__ = ["db", "smtp"]


def arxiv_settings(standin: ArxivStandIn, **overrides: Any) -> ArxivSettings:
    """Settings for tests: the stand-in upstream, short waits, a contact in the User-Agent."""
    values: dict[str, Any] = {
        "api_url": standin.url,
        "contact": "ops@dockyard.example",
        "spacing_s": 0.05,
        "timeout_s": 10,
        "retries": 2,
        "backoff_s": 0.01,
        "runner": False,
        "job_poll_s": 0.2,
        "heartbeat_s": 0.2,
        "search_rate": "1000/minute",
    }
    values.update(overrides)
    return ArxivSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def standin() -> Iterator[ArxivStandIn]:
    with arxiv_standin() as server:
        yield server


@pytest.fixture
def word() -> str:
    """A search word no other test uses (the session's cache and history are shared)."""
    return f"w{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(migrated_db: str, smtp: Inbox) -> Settings:
    return accounts_settings(migrated_db, smtp)


@pytest.fixture
def arxiv_config(standin: ArxivStandIn) -> ArxivSettings:
    """The service's settings; a test changes them by overriding this fixture or building its own."""
    return arxiv_settings(standin)


@pytest.fixture
async def client(settings: Settings, arxiv_config: ArxivSettings) -> AsyncIterator[AppClient]:
    async with app_client(
        settings, (accounts.service, arxiv.service), service_settings=[arxiv_config]
    ) as client:
        yield client


@pytest.fixture
def users(client: AppClient, db: asyncpg.Connection) -> Accounts:
    return Accounts(client, db)


@pytest.fixture
async def searcher(users: Accounts) -> tuple[int, dict[str, str]]:
    """A logged-in account holding arxiv.search: (user id, Authorization header)."""
    group = await users.group("arxiv.search")
    return await users.bearer("searcher", groups=(group,))


@pytest.fixture
def own_db(pg: PgServer) -> Iterator[str]:
    """A migrated database of the test's own (queued jobs, the upstream clock, row counts)."""
    with pg.fresh_database("dy_arxiv") as url:
        pg.migrate(url)
        yield url


def entries(count: int, *, first: int = 1, topic: str = "lattice") -> list[str]:
    """`count` generated entries numbered from `first`."""
    return [generated_entry(number, topic=topic) for number in range(first, first + count)]


async def wait_for_job(
    client: AppClient, job_id: int, *, states: tuple[str, ...] = ("done", "failed")
) -> dict[str, Any]:
    """Poll a search job until it reaches one of `states` (at most 30 s)."""
    for _ in range(300):
        answer = await client.get(f"/arxiv/api/v1/searches/{job_id}")
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        if job["state"] in states:
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} stayed {job['state']}")
