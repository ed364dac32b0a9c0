"""Papers' tsvectors are computed after their search commits, and text search finds them before and after."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest
from tests.arxiv.conftest import entries
from tests.support.app import AppClient
from tests.support.arxiv import ArxivStandIn
from tests.support.arxiv.feeds import canonical, feed, generated_entry

from dockyard.arxiv import syntax
from dockyard.arxiv.atom import parse_feed
from dockyard.arxiv.papers import PaperFilter, PaperOrder, papers_json
from dockyard.arxiv.store import SEARCH_TEXT, fill_search_text, store_search

PAPERS = "/arxiv/api/v1/papers"


@pytest.fixture
async def own_conn(own_db: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(own_db)
    try:
        yield conn
    finally:
        await conn.close()


async def _store(conn: asyncpg.Connection, raw_entries: list[str]) -> None:
    parsed = parse_feed(
        feed(raw_entries, query=canonical("all:x", "", 0, 10), total=len(raw_entries), start=0)
    )
    async with conn.transaction():
        await store_search(
            conn,
            request=syntax.Request("all:x", (), 0, 10),
            ranked=list(enumerate(parsed.entries)),
            total_results=len(raw_entries),
            status=200,
            from_cache=False,
            user_id=None,
            duration_ms=1,
        )


async def _found(conn: asyncpg.Connection, text: str) -> list[str]:
    page = json.loads(
        await papers_json(
            conn,
            PaperFilter(text=text),
            order=PaperOrder.oldest,
            limit=50,
            offset=0,
            cursor=None,
            with_count=True,
        )
    )
    assert page["count"] == len(page["results"])
    return [paper["arxiv_id"] for paper in page["results"]]


async def _pending(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM arxiv.papers WHERE search_text IS NULL"))


async def test_found_by_text_before_and_after_the_tsvectors_are_stored(own_conn: asyncpg.Connection) -> None:
    await _store(own_conn, [generated_entry(n, topic="thermoelectric") for n in (1, 2, 3)])
    await _store(own_conn, [generated_entry(4, topic="superconducting")])
    assert await _pending(own_conn) == 4
    ids = ["2401.00001", "2401.00002", "2401.00003"]
    # Stemmed, phrase and negation: the same answers as over stored tsvectors.
    queries = {
        "thermoelectric": ids,
        '"thermoelectric models"': ids,
        "superconductivity": ["2401.00004"],
        "spectral -thermoelectric": ["2401.00004"],
        "nothingmatches": [],
    }
    before = {text: await _found(own_conn, text) for text in queries}
    assert before == queries

    assert await fill_search_text(own_conn, batch=3) == 4
    assert await _pending(own_conn) == 0
    stored, computed = await own_conn.fetchrow(
        f"SELECT search_text, {SEARCH_TEXT.format(p='')} FROM arxiv.papers WHERE arxiv_id = '2401.00001'"
    )
    assert stored == computed
    assert {text: await _found(own_conn, text) for text in queries} == queries
    assert await fill_search_text(own_conn) == 0


async def test_a_changed_abstract_is_searched_by_its_new_words(own_conn: asyncpg.Connection) -> None:
    await _store(own_conn, [generated_entry(7, topic="holographic")])
    await fill_search_text(own_conn)
    await _store(
        own_conn, [generated_entry(7, topic="holographic").replace("bound its", "bound its photonic")]
    )
    assert await _pending(own_conn) == 1
    assert await _found(own_conn, "photonic") == ["2401.00007"]
    await fill_search_text(own_conn)
    assert await _found(own_conn, "photonic") == ["2401.00007"]
    # A change elsewhere (a comment) keeps the stored tsvector.
    await _store(
        own_conn,
        [
            generated_entry(7, topic="holographic")
            .replace("bound its", "bound its photonic")
            .replace("pages</arxiv:comment>", "pages, 3 figures</arxiv:comment>")
        ],
    )
    assert await _pending(own_conn) == 0


async def test_a_search_is_found_by_text_when_it_answers_and_after_the_runner_stored_tsvectors(
    client: AppClient,
    searcher: tuple[int, dict[str, str]],
    standin: ArxivStandIn,
    db: asyncpg.Connection,
    word: str,
) -> None:
    _, headers = searcher
    standin.corpus[f"all:{word}"] = entries(3, first=801, topic=word)
    answer = await client.post(
        "/arxiv/api/v1/searches", json={"search_query": f"all:{word}", "max_results": 10}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    expected = ["2401.00801", "2401.00802", "2401.00803"]

    async def found() -> list[str]:
        listed = await client.get(PAPERS, params={"text": word, "order": "published", "count": "true"})
        assert listed.status_code == 200, listed.text
        return sorted(paper["arxiv_id"] for paper in listed.json()["results"])

    assert await found() == expected
    pending = "SELECT count(*) FROM arxiv.papers WHERE arxiv_id = ANY($1) AND search_text IS NULL"
    for _ in range(300):  # the runner fills them after the commit (at most 30 s)
        if await db.fetchval(pending, expected) == 0:
            break
        await asyncio.sleep(0.1)
    assert await db.fetchval(pending, expected) == 0
    assert await found() == expected
