"""The replaced system's data loads into schema arxiv; its routes answer as before, fixed where wrong."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from tests.accounts.conftest import Accounts, accounts_settings
from tests.arxiv.conftest import arxiv_settings, entries
from tests.support.app import AppClient, app_client
from tests.support.arxiv import ArxivStandIn
from tests.support.smtp import Inbox

from dockyard import accounts, arxiv
from dockyard.arxiv.legacy import load_legacy

LEGACY_SQL = Path(__file__).parent / "fixtures" / "legacy_data.sql"
FIRST_TWO = [
    {
        "query": "ArXiv Query: search_query=au:Hinton AND ti:deep&id_list=&start=0&max_results=2",
        "timestamp": "2024-05-01T11:00:00",
        "status": 200,
        "num_results": 1234,
    },
    {
        "query": "ArXiv Query: search_query=jr:Nature&id_list=&start=0&max_results=8",
        "timestamp": "2024-05-02T11:00:00",
        "status": 200,
        "num_results": 3,
    },
]


@pytest.fixture
async def loaded(own_db: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(own_db)
    try:
        loaded = await load_legacy(conn, LEGACY_SQL.read_text(encoding="utf-8"))
        assert (loaded.queries, loaded.results) == (3, 5)
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def legacy_client(
    own_db: str, loaded: asyncpg.Connection, smtp: Inbox, standin: ArxivStandIn
) -> AsyncIterator[AppClient]:
    config = arxiv_settings(standin)
    async with app_client(
        accounts_settings(own_db, smtp), (accounts.service, arxiv.service), service_settings=[config]
    ) as client:
        yield client


async def test_the_data_loads_with_its_ids(loaded: asyncpg.Connection) -> None:
    rows = await loaded.fetch("SELECT id, query_id, timestamp, num_entries FROM arxiv.queries ORDER BY id")
    assert [tuple(row) for row in rows] == [
        (1, 1, 1714561200, 2),
        (2, 2, 1714647600, 2),
        (7, 7, 1714734000, 1),
    ]
    title = await loaded.fetchval("SELECT title FROM arxiv.results WHERE result_number = 0 AND query_id = 1")
    assert title == "Reducing the dimensionality of data\n  with neural networks"


async def test_the_queries_file_answers_as_before(legacy_client: AppClient) -> None:
    answer = await legacy_client.get(
        "/arxiv/queries",
        params={"start_timestamp": "2024-05-01T00:00:00", "end_timestamp": "2024-05-02T23:59:59"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == "attachment; filename=query_data.json"
    assert answer.json() == FIRST_TWO
    everything = await legacy_client.get("/arxiv/queries", params={"start_timestamp": "2024-05-01T00:00:00"})
    assert [record["timestamp"] for record in everything.json()] == [
        "2024-05-01T11:00:00",
        "2024-05-02T11:00:00",
        "2024-05-03T11:00:00",
    ]


async def test_times_are_utc_unless_they_carry_an_offset(legacy_client: AppClient) -> None:
    answer = await legacy_client.get(
        "/arxiv/queries",
        params={"start_timestamp": "2024-05-01T13:00:00+02:00", "end_timestamp": "2024-05-01T13:00:00+02:00"},
    )
    assert answer.json() == FIRST_TWO[:1]


async def test_posting_the_range_answers_json(legacy_client: AppClient) -> None:
    answer = await legacy_client.post(
        "/arxiv/queries",
        json={"start_timestamp": "2024-05-01T00:00:00", "end_timestamp": "2024-05-02T23:59:59"},
    )
    assert answer.status_code == 200
    assert "content-disposition" not in answer.headers
    assert answer.json() == FIRST_TWO


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({}, "Required parameter missing: start_timestamp"),
        ({"start_timestamp": "yesterday"}, "start_timestamp must be a time like 2024-05-01T00:00:00"),
        ({"start_timestamp": "2024-05-01T00:00:00", "end_timestamp": "2024-13-01"}, "end_timestamp must be"),
    ],
)
async def test_a_bad_range_is_400_in_the_old_shape(
    legacy_client: AppClient, params: dict[str, str], says: str
) -> None:
    answer = await legacy_client.get("/arxiv/queries", params=params)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert says in answer.json()["detail"]
    posted = await legacy_client.post("/arxiv/queries", json=params)
    assert posted.status_code == 400
    assert says in posted.json()["detail"]


async def test_results_page_in_a_stable_order(legacy_client: AppClient) -> None:
    first = await legacy_client.get("/arxiv/results", params={"page": 0, "items_per_page": 2})
    second = await legacy_client.get("/arxiv/results", params={"page": 1, "items_per_page": 2})
    assert first.json() == [
        {
            "author": "Geoffrey Hinton, Ruslan Salakhutdinov",
            "title": "Reducing the dimensionality of data\n  with neural networks",
            "journal": "Science 313 (2006) 504",
        },
        {"author": "Geoffrey Hinton", "title": "Deep belief nets", "journal": ""},
    ]
    assert [item["title"] for item in second.json()] == ["A result in Nature", "Another result"]
    assert (await legacy_client.get("/arxiv/results", params={"page": 99})).json() == []
    assert len((await legacy_client.get("/arxiv/results")).json()) == 5  # 10 per page by default
    refused = await legacy_client.get("/arxiv/results", params={"page": -1})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "query.page"


async def test_searching_answers_the_old_shape_and_takes_new_ids(
    legacy_client: AppClient, loaded: asyncpg.Connection, standin: ArxivStandIn
) -> None:
    anonymous = await legacy_client.get("/arxiv/arxiv", params={"author": "Hinton"})
    assert anonymous.status_code == 401
    assert set(anonymous.json()) == {"detail"}
    users = Accounts(legacy_client, loaded)
    _, headers = await users.bearer("searcher", groups=(await users.group("arxiv.search"),))
    standin.corpus["au:Hinton AND ti:deep AND ti:belief"] = entries(3)
    answer = await legacy_client.get(
        "/arxiv/arxiv", params={"author": "Hinton", "title": "deep belief", "max_results": 2}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"timestamp", "status", "num_results", "num_entries"}
    assert (body["status"], body["num_results"], body["num_entries"]) == (200, 3, 2)
    assert isinstance(body["timestamp"], float)
    assert standin.calls()[0].params["search_query"] == "au:Hinton AND ti:deep AND ti:belief"
    newest = await loaded.fetchrow(
        "SELECT id, query_id, timestamp FROM arxiv.queries ORDER BY id DESC LIMIT 1"
    )
    assert newest["id"] == newest["query_id"] == 8  # past every legacy id and query id
    assert newest["timestamp"] == int(body["timestamp"])
    zero = await legacy_client.get("/arxiv/arxiv", params={"journal": "Nowhere"}, headers=headers)
    assert zero.status_code == 200
    assert (zero.json()["num_results"], zero.json()["num_entries"]) == (0, 0)
    nothing = await legacy_client.get("/arxiv/arxiv", headers=headers)
    assert nothing.status_code == 400
    assert nothing.json() == {
        "detail": "At least one search parameter must be provided (author, title or journal)."
    }


async def test_the_cli_loads_legacy_data(own_db: str) -> None:
    environment = {**os.environ, "DATABASE_URL": own_db, "LOG_FORMAT": "console"}
    done = await asyncio.to_thread(
        subprocess.run,
        [str(Path(sys.executable).parent / "dockyard"), "arxiv", "load-legacy", str(LEGACY_SQL)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded 3 queries and 5 results"
    again = await asyncio.to_thread(
        subprocess.run,
        [str(Path(sys.executable).parent / "dockyard"), "arxiv", "load-legacy", str(LEGACY_SQL)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # The dump's explicit ids are already taken: nothing of the second load is kept.
    assert again.returncode == 1
    conn = await asyncpg.connect(own_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM arxiv.queries") == 3
    finally:
        await conn.close()
