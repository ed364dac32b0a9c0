"""POST /arxiv/api/v1/searches against the arXiv stand-in: storage, manners, failures, budgets."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from tests.accounts.conftest import Accounts
from tests.arxiv.conftest import arxiv_settings, entries
from tests.support.app import AppClient, app_client
from tests.support.arxiv import ArxivStandIn
from tests.support.arxiv.feeds import fixture_entries

from dockyard import accounts, arxiv
from dockyard.core.config import Settings

URL = "/arxiv/api/v1/searches"
Auth = tuple[int, dict[str, str]]


async def search(client: AppClient, headers: dict[str, str], **body: Any) -> Any:
    return await client.post(URL, json=body, headers=headers)


class TestWhoMaySearch:
    async def test_anonymous_is_401(self, client: AppClient, standin: ArxivStandIn) -> None:
        answer = await client.post(URL, json={"search_query": "all:electron"})
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert standin.calls() == []

    async def test_without_the_permission_is_403(
        self, client: AppClient, users: Accounts, standin: ArxivStandIn
    ) -> None:
        _, headers = await users.bearer("reader")
        answer = await client.post(URL, json={"search_query": "all:electron"}, headers=headers)
        assert answer.status_code == 403
        assert "arxiv.search" in answer.json()["detail"]
        assert standin.calls() == []


class TestOneSlice:
    async def test_stores_the_query_its_papers_ranks_and_legacy_rows(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, db: asyncpg.Connection, word: str
    ) -> None:
        user_id, headers = searcher
        standin.corpus[f"ti:{word}"] = list(fixture_entries().values())
        answer = await search(client, headers, search_query=f"ti:{word}", max_results=10)
        assert answer.status_code == 201, answer.text
        job = answer.json()
        assert answer.headers["location"] == f"/arxiv/api/v1/searches/{job['id']}"
        assert (job["state"], job["slices_done"], job["entries_done"], job["total_results"]) == (
            "done",
            1,
            4,
            4,
        )
        query = await db.fetchrow("SELECT * FROM arxiv.queries WHERE id = $1", job["query_id"])
        assert query["query_id"] == query["id"]
        assert (query["status"], query["num_results"], query["num_entries"], query["user_id"]) == (
            200,
            4,
            4,
            user_id,
        )
        assert (
            query["query"]
            == f"search_query=ti:{word}&id_list=&start=0&max_results=10&sortBy=relevance&sortOrder=descending"
        )
        ranks = await db.fetch(
            "SELECT qr.rank, p.arxiv_id, p.version, p.title FROM arxiv.query_results qr "
            "JOIN arxiv.papers p ON p.id = qr.paper_id WHERE qr.query_id = $1 ORDER BY qr.rank",
            query["id"],
        )
        assert [(r["rank"], r["arxiv_id"], r["version"]) for r in ranks] == [
            (0, "2103.04521", 2),
            (1, "2103.04521", 1),
            (2, "1907.01234", 3),
            (3, "hep-ex/0307015", 1),
        ]
        legacy = await db.fetch(
            "SELECT result_number, author, title, journal FROM arxiv.results WHERE query_id = $1 ORDER BY id",
            query["query_id"],
        )
        assert [row["result_number"] for row in legacy] == [0, 1, 2, 3]
        assert legacy[0]["author"] == "Hanna Virtanen, Kwame Mensah, Luis Ortega"
        assert legacy[0]["journal"] == "Phys. Rev. B 104, 045112 (2021)"
        assert legacy[1]["journal"] == ""
        assert legacy[0]["title"] == "Thermal conductivity of electrons in a strongly correlated lattice"

    async def test_the_call_is_polite_and_canonical(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, word: str
    ) -> None:
        _, headers = searcher
        body = {
            "query": {
                "op": "AND",
                "items": [
                    {"field": "au", "value": word},
                    {"field": "ti", "value": "quantum criticality", "phrase": True},
                ],
            },
            "start": 5,
            "max_results": 3,
            "sort_by": "submittedDate",
            "sort_order": "ascending",
        }
        answer = await client.post(URL, json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        (call,) = standin.calls()
        assert call.params == {
            "search_query": f'au:{word} AND ti:"quantum criticality"',
            "id_list": "",
            "start": "5",
            "max_results": "3",
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
        }
        assert "ops@dockyard.example" in call.headers["user-agent"]
        assert call.headers["user-agent"].startswith("Dockyard/")
        assert answer.json()["canonical"].startswith(
            f'search_query=au:{word} AND ti:"quantum criticality"&id_list=&start=5'
        )

    async def test_zero_hits_is_200_with_nothing_stored_but_the_query(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, db: asyncpg.Connection, word: str
    ) -> None:
        _, headers = searcher
        answer = await search(client, headers, search_query=f"abs:{word}")
        assert answer.status_code == 201
        job = answer.json()
        assert (job["state"], job["total_results"], job["entries_done"]) == ("done", 0, 0)
        papers = await client.get(f"/arxiv/api/v1/queries/{job['query_id']}/papers")
        assert papers.status_code == 200
        assert papers.json() == {"count": 0, "next_cursor": None, "results": []}
        assert await db.fetchval("SELECT num_results FROM arxiv.queries WHERE id = $1", job["query_id"]) == 0

    async def test_id_list_pins_versions_and_finds_the_latest(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, db: asyncpg.Connection
    ) -> None:
        _, headers = searcher
        answer = await search(
            client, headers, id_list=["2103.04521v1", "1907.01234"], max_results=2, sort_by="lastUpdatedDate"
        )
        assert answer.status_code == 201, answer.text
        found = await db.fetch(
            "SELECT p.arxiv_id, p.version FROM arxiv.query_results qr "
            "JOIN arxiv.papers p ON p.id = qr.paper_id "
            "WHERE qr.query_id = $1 ORDER BY rank",
            answer.json()["query_id"],
        )
        assert [(row["arxiv_id"], row["version"]) for row in found] == [("2103.04521", 1), ("1907.01234", 3)]
        assert standin.calls()[0].params["id_list"] == "2103.04521v1,1907.01234"


class TestRefusedBeforeCalling:
    @pytest.mark.parametrize(
        ("body", "says"),
        [
            ({"search_query": "electron"}, "has no field"),
            ({"search_query": "ti:a AND (ti:b"}, "never closed"),
            ({"id_list": ["12.34"]}, "not an arXiv identifier"),
            ({"search_query": "all:x", "start": 29990, "max_results": 20}, "at most 30000"),
            ({}, "give `query`, `search_query` or `id_list`"),
        ],
    )
    async def test_a_search_arxiv_would_misread_is_400(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, body: dict[str, Any], says: str
    ) -> None:
        answer = await client.post(URL, json=body, headers=searcher[1])
        assert answer.status_code == 400
        assert says in answer.json()["detail"]
        assert standin.calls() == []

    async def test_malformed_bodies_are_422(self, client: AppClient, searcher: Auth) -> None:
        for body in (
            {"search_query": "all:x", "max_results": 0},
            {"search_query": "all:x", "sort_by": "title"},
            {"query": {"field": "xx", "value": "a"}},
            {"search_query": "all:x", "extra": 1},
        ):
            answer = await client.post(URL, json=body, headers=searcher[1])
            assert answer.status_code == 422, body
            assert answer.json()["errors"]


class TestArxivFailures:
    async def test_the_error_entry_is_400_with_arxivs_message_and_never_a_paper(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, db: asyncpg.Connection, word: str
    ) -> None:
        standin.errors[f"jr:{word}"] = "max_results must be an integer"
        papers_before = await db.fetchval("SELECT count(*) FROM arxiv.papers")
        answer = await search(client, searcher[1], search_query=f"jr:{word}")
        assert answer.status_code == 400
        assert answer.json()["detail"] == "arXiv refused the query: max_results must be an integer"
        assert len(standin.calls()) == 1  # not retried
        assert await db.fetchval("SELECT count(*) FROM arxiv.papers") == papers_before
        assert await db.fetchval("SELECT count(*) FROM arxiv.papers WHERE title = 'Error'") == 0
        job = await db.fetchrow(
            "SELECT state, error, error_status FROM arxiv.search_jobs WHERE canonical LIKE $1", f"%jr:{word}%"
        )
        assert (job["state"], job["error_status"]) == ("failed", 400)
        assert "max_results must be an integer" in job["error"]

    @pytest.mark.parametrize("status", [429, 503, 500])
    async def test_busy_answers_are_retried(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, word: str, status: int
    ) -> None:
        standin.corpus[f"co:{word}"] = entries(2)
        standin.script.extend([status, status])
        answer = await search(client, searcher[1], search_query=f"co:{word}")
        assert answer.status_code == 201, answer.text
        assert answer.json()["entries_done"] == 2
        assert len(standin.calls()) == 3

    async def test_an_empty_page_is_retried(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, word: str
    ) -> None:
        standin.corpus[f"rn:{word}"] = entries(3)
        standin.script.append("empty")
        answer = await search(client, searcher[1], search_query=f"rn:{word}")
        assert answer.status_code == 201
        assert answer.json()["entries_done"] == 3
        assert len(standin.calls()) == 2

    async def test_busy_after_every_retry_is_503_and_nothing_stored(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, db: asyncpg.Connection, word: str
    ) -> None:
        standin.corpus[f"co:{word}"] = entries(2)
        standin.script.extend([503, 503, 503])
        answer = await search(client, searcher[1], search_query=f"co:{word}")
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "60"
        assert "arXiv is busy (HTTP 503, 3 attempts)" in answer.json()["detail"]
        assert (
            await db.fetchval("SELECT count(*) FROM arxiv.queries WHERE search_query = $1", f"co:{word}") == 0
        )

    async def test_empty_pages_after_every_retry_are_502(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, word: str
    ) -> None:
        standin.corpus[f"co:{word}"] = entries(2)
        standin.script.extend(["empty", "empty", "empty"])
        answer = await search(client, searcher[1], search_query=f"co:{word}")
        assert answer.status_code == 502
        assert "empty pages" in answer.json()["detail"]

    async def test_a_page_that_is_not_atom_is_502(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, word: str
    ) -> None:
        standin.script.append("garbage")
        answer = await search(client, searcher[1], search_query=f"co:{word}")
        assert answer.status_code == 502
        assert "not an Atom feed" in answer.json()["detail"]


class TestUnreachable:
    async def test_no_network_is_502_saying_why(
        self, settings: Settings, users_factory: Any, word: str
    ) -> None:
        await users_factory(502, word)

    async def test_no_answer_in_time_is_504(self, settings: Settings, users_factory: Any, word: str) -> None:
        await users_factory(504, word)


@pytest.fixture
def users_factory(settings: Settings, db: asyncpg.Connection, standin: ArxivStandIn) -> Any:
    """Run one search on an app whose upstream is closed (502) or too slow (504)."""

    async def run(expected: int, word: str) -> None:
        if expected == 502:
            config = arxiv_settings(standin, api_url="http://127.0.0.1:9/api/query")
        else:
            config = arxiv_settings(standin, timeout_s=0.3, retries=0)
            standin.script.append(("slow", 1.0))
        async with app_client(
            settings, (accounts.service, arxiv.service), service_settings=[config]
        ) as client:
            users = Accounts(client, db)
            _, headers = await users.bearer("searcher", groups=(await users.group("arxiv.search"),))
            answer = await search(client, headers, search_query=f"all:{word}")
        assert answer.status_code == expected, answer.text
        detail = answer.json()["detail"]
        if expected == 502:
            assert "Could not reach arXiv at 127.0.0.1:9" in detail
        else:
            assert "did not answer within 0.3 s" in detail

    return run


class TestCache:
    async def test_the_same_search_twice_calls_arxiv_once(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, db: asyncpg.Connection, word: str
    ) -> None:
        standin.corpus[f"all:{word}"] = entries(3)
        first = await search(client, searcher[1], search_query=f"all:{word}")
        second = await search(client, searcher[1], search_query=f"all:{word}")
        assert (first.status_code, second.status_code) == (201, 201)
        assert len(standin.calls()) == 1
        rows = await db.fetch(
            "SELECT from_cache, num_entries FROM arxiv.queries WHERE id = ANY($1::bigint[]) ORDER BY id",
            [first.json()["query_id"], second.json()["query_id"]],
        )
        assert [(row["from_cache"], row["num_entries"]) for row in rows] == [(False, 3), (True, 3)]

    async def test_another_page_or_order_is_another_call(
        self, client: AppClient, searcher: Auth, standin: ArxivStandIn, word: str
    ) -> None:
        standin.corpus[f"all:{word}"] = entries(3)
        await search(client, searcher[1], search_query=f"all:{word}")
        await search(client, searcher[1], search_query=f"all:{word}", sort_order="ascending")
        await search(client, searcher[1], search_query=f"all:{word}", start=1)
        assert len(standin.calls()) == 3


class TestBudgetAndConcurrency:
    @pytest.fixture
    def arxiv_config(self, standin: ArxivStandIn) -> Any:
        return arxiv_settings(standin, search_rate="2/minute", spacing_s=0.3)

    async def test_searches_are_limited_per_account(
        self, client: AppClient, users: Accounts, standin: ArxivStandIn, word: str
    ) -> None:
        group = await users.group("arxiv.search")
        _, ada = await users.bearer("ada", groups=(group,))
        _, bob = await users.bearer("bob", groups=(group,))
        for _ in range(2):
            assert (await search(client, ada, search_query=f"ti:{word}")).status_code == 201
        refused = await search(client, ada, search_query=f"ti:{word}")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "arXiv searches" in refused.json()["detail"]
        assert (await search(client, bob, search_query=f"ti:{word}")).status_code == 201

    async def test_two_searches_at_once_share_one_connection_and_the_spacing(
        self, client: AppClient, users: Accounts, standin: ArxivStandIn, db: asyncpg.Connection, word: str
    ) -> None:
        group = await users.group("arxiv.search")
        _, ada = await users.bearer("ada", groups=(group,))
        _, bob = await users.bearer("bob", groups=(group,))
        shared = entries(2, first=500)
        standin.corpus[f"ti:{word}"] = shared
        standin.corpus[f"abs:{word}"] = shared
        first, second = await asyncio.gather(
            search(client, ada, search_query=f"ti:{word}"), search(client, bob, search_query=f"abs:{word}")
        )
        assert (first.status_code, second.status_code) == (201, 201)
        calls = standin.calls()
        assert len(calls) == 2
        assert standin.most_in_flight == 1
        assert calls[1].at - calls[0].at >= 0.3
        # Both found the same two papers: stored once, ranked twice.
        ids = await db.fetch(
            "SELECT DISTINCT paper_id FROM arxiv.query_results WHERE query_id = ANY($1::bigint[])",
            [first.json()["query_id"], second.json()["query_id"]],
        )
        assert len(ids) == 2


async def test_a_paper_arxiv_describes_anew_is_updated_not_duplicated(
    client: AppClient, searcher: Auth, standin: ArxivStandIn, db: asyncpg.Connection, word: str
) -> None:
    (entry,) = entries(1, first=7000 + int(word[1:7], 16) % 90000)
    standin.corpus[f"ti:{word}"] = [entry]
    assert (await search(client, searcher[1], search_query=f"ti:{word}")).status_code == 201
    later = entry.replace(
        "</summary>",
        '</summary>\n    <arxiv:journal_ref xmlns:arxiv="http://arxiv.org/schemas/atom">'
        "J. Later 1 (2025) 2</arxiv:journal_ref>",
    )
    standin.corpus[f"abs:{word}"] = [later]
    assert (await search(client, searcher[1], search_query=f"abs:{word}")).status_code == 201
    arxiv_id = entry.split("/abs/")[1].split("v1<")[0]
    rows = await db.fetch("SELECT journal_ref FROM arxiv.papers WHERE arxiv_id = $1", arxiv_id)
    assert [row["journal_ref"] for row in rows] == ["J. Later 1 (2025) 2"]
