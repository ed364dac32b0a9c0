"""Searches of several slices: queued jobs, progress, all-or-nothing storage, stalled workers, the CLI.

Each test has a database of its own, so the job runner it starts sees only its own jobs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tests.accounts.conftest import Accounts, accounts_settings
from tests.arxiv.conftest import arxiv_settings, entries, wait_for_job
from tests.support.app import AppClient, app_client
from tests.support.arxiv import ArxivStandIn
from tests.support.smtp import Inbox

from dockyard import accounts, arxiv

URL = "/arxiv/api/v1/searches"
DOCKYARD = str(Path(sys.executable).parent / "dockyard")


@pytest.fixture
async def own_conn(own_db: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(own_db)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def runner_app(
    own_db: str, own_conn: asyncpg.Connection, smtp: Inbox, standin: ArxivStandIn
) -> AsyncIterator[tuple[AppClient, dict[str, str]]]:
    """An app on the test's own database with the job runner on and 10 results per arXiv call."""
    config = arxiv_settings(standin, runner=True, page_size=10)
    async with app_client(
        accounts_settings(own_db, smtp), (accounts.service, arxiv.service), service_settings=[config]
    ) as client:
        users = Accounts(client, own_conn)
        _, headers = await users.bearer("searcher", groups=(await users.group("arxiv.search"),))
        yield client, headers


async def test_a_long_search_is_queued_then_stored_whole(
    runner_app: tuple[AppClient, dict[str, str]], standin: ArxivStandIn, own_conn: asyncpg.Connection
) -> None:
    client, headers = runner_app
    standin.corpus["ti:lattice"] = entries(25)
    answer = await client.post(URL, json={"search_query": "ti:lattice", "max_results": 40}, headers=headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["state"] in ("queued", "running")
    assert answer.json()["slices_total"] == 4
    job = await wait_for_job(client, answer.json()["id"])
    assert (job["state"], job["slices_done"], job["slices_total"], job["entries_done"]) == ("done", 3, 3, 25)
    assert [(c.params["start"], c.params["max_results"]) for c in standin.calls()] == [
        ("0", "10"),
        ("10", "10"),
        ("20", "10"),
    ]
    ranks = await own_conn.fetch(
        "SELECT rank FROM arxiv.query_results WHERE query_id = $1 ORDER BY rank", job["query_id"]
    )
    assert [row["rank"] for row in ranks] == list(range(25))
    papers = await client.get(
        f"/arxiv/api/v1/queries/{job['query_id']}/papers", params={"limit": 5, "offset": 20}
    )
    assert papers.json()["count"] == 25
    assert [paper["rank"] for paper in papers.json()["results"]] == [20, 21, 22, 23, 24]


async def test_a_failure_in_the_middle_stores_nothing(
    runner_app: tuple[AppClient, dict[str, str]], standin: ArxivStandIn, own_conn: asyncpg.Connection
) -> None:
    client, headers = runner_app
    standin.corpus["abs:gap"] = entries(30)
    standin.script.extend([None, 500, 500, 500])  # the first slice answers, the second never does
    answer = await client.post(URL, json={"search_query": "abs:gap", "max_results": 30}, headers=headers)
    assert answer.status_code == 202
    job = await wait_for_job(client, answer.json()["id"])
    assert (job["state"], job["error_status"], job["slices_done"], job["query_id"]) == (
        "failed",
        502,
        1,
        None,
    )
    assert "HTTP 500" in job["error"]
    for table in ("queries", "results", "papers", "query_results"):
        assert await own_conn.fetchval(f"SELECT count(*) FROM arxiv.{table}") == 0, table


async def test_the_runner_puts_unfinished_jobs_back_when_it_stops(
    own_db: str, own_conn: asyncpg.Connection, smtp: Inbox, standin: ArxivStandIn
) -> None:
    standin.corpus["ti:slow"] = entries(20)
    standin.script.extend([None, ("slow", 3.0)])
    config = arxiv_settings(standin, runner=True, page_size=10)
    async with app_client(
        accounts_settings(own_db, smtp), (accounts.service, arxiv.service), service_settings=[config]
    ) as client:
        users = Accounts(client, own_conn)
        _, headers = await users.bearer("searcher", groups=(await users.group("arxiv.search"),))
        answer = await client.post(URL, json={"search_query": "ti:slow", "max_results": 20}, headers=headers)
        job_id = answer.json()["id"]
        await wait_for_job(client, job_id, states=("running",))
        for _ in range(200):  # the second slice is on its way (and slow)
            if len(standin.calls()) >= 2:
                break
            await asyncio.sleep(0.05)
    row = await own_conn.fetchrow("SELECT state, worker FROM arxiv.search_jobs WHERE id = $1", job_id)
    assert (row["state"], row["worker"]) == ("queued", None)
    assert await own_conn.fetchval("SELECT count(*) FROM arxiv.queries") == 0


def cli(own_db: str, standin: ArxivStandIn, *args: str, **env: str) -> subprocess.Popen[str]:
    """`dockyard arxiv search …` in a process of its own, on the test's database and stand-in."""
    environment = {
        **os.environ,
        "DATABASE_URL": own_db,
        "ARXIV_API_URL": standin.url,
        "ARXIV_CONTACT": "ops@dockyard.example",
        "ARXIV_SPACING_S": "0.05",
        "ARXIV_BACKOFF_S": "0.01",
        "ARXIV_PAGE_SIZE": "10",
        "LOG_FORMAT": "console",
        "COLUMNS": "120",
        **env,
    }
    return subprocess.Popen(
        [DOCKYARD, "arxiv", "search", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_the_cli_searches_with_a_progress_bar(
    own_db: str, standin: ArxivStandIn, own_conn: asyncpg.Connection
) -> None:
    standin.corpus["ti:lattice AND au:example"] = entries(15)
    process = cli(own_db, standin, "--title", "lattice", "--author", "example", "--max-results", "30")
    out, err = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 0, err
    query_id = await own_conn.fetchval("SELECT id FROM arxiv.queries")
    assert out.strip() == f"query {query_id}: 15 papers stored of 15 matching (job 1)"
    assert "search search_query=ti:lattice AND au:example" in err
    assert "job 1: 15 of 15 results" in err
    assert len(standin.calls()) == 2


async def test_the_cli_says_why_a_search_failed(own_db: str, standin: ArxivStandIn) -> None:
    standin.errors["ti:broken"] = "malformed query"
    process = cli(own_db, standin, "--query", "ti:broken")
    _, err = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 1
    assert "job 1 failed (HTTP 400): arXiv refused the query: malformed query" in " ".join(err.split())
    bad = cli(own_db, standin, "--query", "broken")
    _, err = await asyncio.to_thread(bad.communicate, timeout=60)
    assert bad.returncode == 2
    assert "has no field" in err


async def test_a_worker_that_dies_leaves_a_stalled_job(
    own_db: str, own_conn: asyncpg.Connection, smtp: Inbox, standin: ArxivStandIn
) -> None:
    standin.corpus["ti:doomed"] = entries(20)
    standin.script.extend([None, ("slow", 20.0)])
    process = cli(own_db, standin, "--title", "doomed", "--max-results", "20")
    try:
        for _ in range(300):
            if len(standin.calls()) >= 2:
                break
            await asyncio.sleep(0.05)
        assert await own_conn.fetchval("SELECT slices_done FROM arxiv.search_jobs") == 1
    finally:
        process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(process.wait, 10)
    config = arxiv_settings(standin, stall_after_s=0.5)
    async with app_client(
        accounts_settings(own_db, smtp), (accounts.service, arxiv.service), service_settings=[config]
    ) as client:
        await asyncio.sleep(0.6)
        job: dict[str, Any] = (await client.get("/arxiv/api/v1/searches/1")).json()
    assert (job["state"], job["slices_done"], job["query_id"]) == ("stalled", 1, None)
    assert await own_conn.fetchval("SELECT count(*) FROM arxiv.queries") == 0


async def test_two_runners_take_each_queued_job_once(
    own_db: str, own_conn: asyncpg.Connection, smtp: Inbox, standin: ArxivStandIn
) -> None:
    for topic in ("a", "b", "c", "d"):
        standin.corpus[f"ti:{topic}"] = entries(15, first=100 * ord(topic), topic=topic)
    config = arxiv_settings(standin, runner=True, page_size=10, job_poll_s=0.1)
    app_settings = accounts_settings(own_db, smtp)
    services = (accounts.service, arxiv.service)
    async with (
        app_client(app_settings, services, service_settings=[config]) as first,
        app_client(app_settings, services, service_settings=[config]) as second,
    ):
        users = Accounts(first, own_conn)
        _, headers = await users.bearer("searcher", groups=(await users.group("arxiv.search"),))
        answers = [
            await client.post(URL, json={"search_query": f"ti:{topic}", "max_results": 20}, headers=headers)
            for client, topic in zip((first, second, first, second), "abcd", strict=True)
        ]
        jobs = [await wait_for_job(first, answer.json()["id"]) for answer in answers]
    assert [job["state"] for job in jobs] == ["done"] * 4
    runners = {first.app.state.arxiv_runner.worker, second.app.state.arxiv_runner.worker}
    taken = await own_conn.fetch("SELECT worker FROM arxiv.search_jobs")
    assert {row["worker"] for row in taken} <= runners
    assert await own_conn.fetchval("SELECT count(*) FROM arxiv.queries") == 4
    assert len(standin.calls()) == 8  # two slices per job, each fetched once
