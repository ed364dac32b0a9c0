"""Reading what was recorded (public): history, papers with filters, one paper, CSV and BibTeX exports.

A database of the module's own holds the demo data set (4 searches, 16 papers) plus one search of
the recorded fixture entries, so counts and orders are known exactly.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import bibtexparser
import pytest
from tests.accounts.conftest import accounts_settings
from tests.arxiv.conftest import arxiv_settings
from tests.support.app import AppClient, app_client
from tests.support.arxiv import arxiv_standin
from tests.support.arxiv.feeds import canonical, feed, fixture_entries
from tests.support.postgres import PgServer
from tests.support.smtp import Inbox

from dockyard import accounts, arxiv
from dockyard.arxiv import syntax
from dockyard.arxiv.atom import parse_feed
from dockyard.arxiv.seed import seed
from dockyard.arxiv.store import store_search

V1 = "/arxiv/api/v1"


async def _prepare(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await seed(conn, "demo", lambda done, total: None)
            parsed = parse_feed(
                feed(list(fixture_entries().values()), query=canonical("all:x", "", 0, 10), total=4, start=0)
            )
            await store_search(
                conn,
                request=syntax.Request("all:electron", (), 0, 10),
                ranked=list(enumerate(parsed.entries)),
                total_results=4,
                status=200,
                from_cache=False,
                user_id=None,
                duration_ms=1,
            )
            # The demo searches all happened "now": spread them over days to filter by time.
            await conn.execute(
                "UPDATE arxiv.queries "
                "SET timestamp = 1704067200 + id * 86400, status = CASE WHEN id = 4 THEN 0 ELSE 200 END"
            )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def browse_db(pg: PgServer) -> Iterator[str]:
    with pg.fresh_database("dy_arxiv_browse") as url:
        pg.migrate(url)
        asyncio.run(_prepare(url))
        yield url


@pytest.fixture
async def client(browse_db: str, smtp: Inbox) -> AsyncIterator[AppClient]:
    with arxiv_standin() as standin:
        config = arxiv_settings(standin)
        async with app_client(
            accounts_settings(browse_db, smtp), (accounts.service, arxiv.service), service_settings=[config]
        ) as client:
            yield client


async def get(client: AppClient, path: str, **params: Any) -> Any:
    answer = await client.get(V1 + path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


class TestHistory:
    async def test_newest_first_with_the_total(self, client: AppClient) -> None:
        page = await get(client, "/queries", limit=2)
        assert page["count"] == 5
        assert [item["id"] for item in page["results"]] == [5, 4]
        first = page["results"][1]
        assert first["searched_at"] == "2024-01-05T00:00:00.000000Z"
        assert first["query"].startswith('search_query=ti:"perpetual motion"&id_list=&start=0')
        assert [
            item["id"]
            for item in (await get(client, "/queries", order="oldest", offset=1, limit=2))["results"]
        ] == [2, 3]

    async def test_filters(self, client: AppClient) -> None:
        assert [
            q["id"]
            for q in (await get(client, "/queries", since="2024-01-03T00:00:00Z", until="2024-01-05"))[
                "results"
            ]
        ] == [3, 2]
        assert [
            q["id"]
            for q in (
                await get(client, "/queries", since="2024-01-03T01:00:00+01:00", until="2024-01-03T00:00:01")
            )["results"]
        ] == [2]
        assert [q["id"] for q in (await get(client, "/queries", text="LOVELACE"))["results"]] == [2]
        assert (await get(client, "/queries", text="100%_"))["count"] == 0
        assert [q["id"] for q in (await get(client, "/queries", status=0))["results"]] == [4]
        assert (await get(client, "/queries", user=123456))["count"] == 0

    async def test_ndjson_and_files(self, client: AppClient) -> None:
        answer = await client.get(
            V1 + "/queries", params={"format": "ndjson", "order": "oldest", "download": "true"}
        )
        assert answer.headers["content-type"] == "application/x-ndjson"
        assert answer.headers["content-disposition"] == "attachment; filename=queries.ndjson"
        lines = [json.loads(line) for line in answer.text.splitlines()]
        assert [line["id"] for line in lines] == [1, 2, 3, 4, 5]
        limited = await client.get(V1 + "/queries", params={"format": "ndjson", "limit": 2})
        assert len(limited.text.splitlines()) == 2
        file = await client.get(V1 + "/queries", params={"download": "true"})
        assert file.headers["content-disposition"] == "attachment; filename=queries.json"
        assert file.json()["count"] == 5

    async def test_bad_filters_are_422(self, client: AppClient) -> None:
        for params in (
            {"since": "last week"},
            {"limit": 0},
            {"order": "random"},
            {"user": 0},
            {"format": "xml"},
        ):
            answer = await client.get(V1 + "/queries", params=params)
            assert answer.status_code == 422, params
            assert answer.json()["errors"]

    async def test_one_query_and_404(self, client: AppClient) -> None:
        assert (await get(client, "/queries/1"))["num_entries"] == 6
        missing = await client.get(V1 + "/queries/999999")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "No query has id 999999."
        assert (await client.get(V1 + "/queries/9223372036854775808")).status_code == 422


class TestPapers:
    async def test_newest_first_then_by_id(self, client: AppClient) -> None:
        page = await get(client, "/papers", limit=3, count="true")
        assert page["count"] == 20
        published = [paper["published"] for paper in page["results"]]
        assert published == sorted(published, reverse=True)
        last = await get(client, "/papers", offset=19)
        assert [paper["arxiv_id"] for paper in last["results"]] == ["hep-ex/0307015"]

    async def test_filters(self, client: AppClient) -> None:
        assert {p["arxiv_id"] for p in (await get(client, "/papers", author="weiß"))["results"]} == {
            "1907.01234"
        }
        assert (await get(client, "/papers", author="Kwame Mensah", count="true"))["count"] == 2
        assert (await get(client, "/papers", category="cs.LG", count="true"))["count"] == 5
        assert (await get(client, "/papers", category="physics.data-an", count="true"))["count"] == 7
        by_text = await get(client, "/papers", text="thermal conductivity")
        assert [(p["arxiv_id"], p["version"]) for p in by_text["results"]] == [
            ("2103.04521", 2),
            ("2103.04521", 1),
        ]
        assert (await get(client, "/papers", text='"error correction" -bosonic', count="true"))["count"] == 3
        assert (
            await get(client, "/papers", published_from="2003-01-01", published_to="2004-01-01", count="true")
        )["count"] == 1
        assert (await get(client, "/papers", updated_from="2021-06-01T00:00:00Z", count="true"))[
            "count"
        ] >= 16
        ranked = await get(client, "/papers", query=5, order="rank")
        assert [p["rank"] for p in ranked["results"]] == [0, 1, 2, 3]

    async def test_cursor_pages_continue_without_overlap(self, client: AppClient) -> None:
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 6, **({"cursor": cursor} if cursor else {})}
            page = await get(client, "/papers", **params)
            seen.extend(paper["id"] for paper in page["results"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert page["count"] is None
        everything = await get(client, "/papers", limit=50, count="true")
        assert everything["count"] == 20
        assert seen == [paper["id"] for paper in everything["results"]]
        oldest = await get(client, "/papers", order="published", limit=20)
        assert oldest["count"] is None
        assert [p["id"] for p in oldest["results"]] == list(reversed(seen))

    @pytest.mark.parametrize(
        ("params", "status", "says"),
        [
            ({"order": "rank"}, 400, "needs `query`"),
            ({"cursor": "abc"}, 400, "next_cursor"),
            ({"query": 5, "order": "rank", "cursor": "1.1"}, 400, "use `offset`"),
            ({"limit": 1001}, 422, "less than or equal"),
            ({"published_from": "soon"}, 422, "datetime"),
        ],
    )
    async def test_bad_requests(
        self, client: AppClient, params: dict[str, Any], status: int, says: str
    ) -> None:
        answer = await client.get(V1 + "/papers", params=params)
        assert answer.status_code == status
        assert says in json.dumps(answer.json())

    async def test_one_paper_with_versions_and_queries(self, client: AppClient) -> None:
        latest = await get(client, "/papers/2103.04521")
        assert (latest["version"], latest["versions"]) == (2, [1, 2])
        assert latest["queries"] == [
            {
                "id": 5,
                "searched_at": "2024-01-06T00:00:00.000000Z",
                "query": latest["queries"][0]["query"],
                "rank": 0,
            }
        ]
        assert latest["authors"][1] == {
            "name": "Kwame Mensah",
            "affiliations": ["KNUST", "Perimeter Institute"],
        }
        assert (await get(client, "/papers/2103.04521v1"))["version"] == 1
        assert (await get(client, "/papers/hep-ex/0307015"))["journal_ref"] == "Eur.Phys.J. C31 (2003) 17-29"
        missing = await client.get(V1 + "/papers/2103.04521v9")
        assert missing.status_code == 404
        bad = await client.get(V1 + "/papers/not-an-id")
        assert bad.status_code == 400
        assert "not an arXiv identifier" in bad.json()["detail"]


class TestExports:
    async def test_a_querys_papers_as_csv(self, client: AppClient) -> None:
        answer = await client.get(V1 + "/queries/5/export", params={"format": "csv"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        assert answer.headers["content-disposition"] == "attachment; filename=query-5.csv"
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert [row["rank"] for row in rows] == ["0", "1", "2", "3"]
        assert rows[0]["authors"] == "Hanna Virtanen, Kwame Mensah, Luis Ortega"
        assert rows[0]["affiliations"] == "KNUST; Perimeter Institute; University of Helsinki"
        assert rows[0]["categories"] == "cond-mat.str-el cond-mat.stat-mech"
        assert rows[0]["published"] == "2021-03-08T17:59:02.000000Z"
        assert rows[2]["title"].startswith("Über die Quantisierung von Eichfeldern")
        assert rows[3]["arxiv_id"] == "hep-ex/0307015"

    async def test_a_querys_papers_as_bibtex(self, client: AppClient) -> None:
        answer = await client.get(V1 + "/queries/5/export", params={"format": "bibtex"})
        assert answer.headers["content-type"] == "application/x-bibtex; charset=utf-8"
        library = bibtexparser.parse_string(answer.text)
        assert not library.failed_blocks
        entries = library.entries
        assert [entry.key for entry in entries] == [
            "arXiv_2103_04521v2",
            "arXiv_2103_04521v1",
            "arXiv_1907_01234v3",
            "arXiv_hep_ex_0307015v1",
        ]
        first = {field.key: field.value for field in entries[0].fields}
        assert first["author"] == "Hanna Virtanen and Kwame Mensah and Luis Ortega"
        assert first["doi"] == "10.1103/PhysRevB.104.045112"
        assert first["eprint"] == "2103.04521v2"
        assert (first["year"], first["month"], first["archivePrefix"]) == ("2021", "03", "arXiv")
        german = {field.key: field.value for field in entries[2].fields}
        assert "{SU(N)}" in german["title"]
        assert "量子場の理論" in german["abstract"]

    async def test_filtered_papers_export(self, client: AppClient) -> None:
        answer = await client.get(V1 + "/papers/export", params={"category": "cs.LG", "format": "csv"})
        assert answer.headers["content-disposition"] == "attachment; filename=papers.csv"
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert len(rows) == 5
        assert "rank" not in rows[0]
        library = bibtexparser.parse_string(
            (await client.get(V1 + "/papers/export", params={"format": "bibtex"})).text
        )
        assert len(library.entries) == 20
        assert not library.failed_blocks
        assert (await client.get(V1 + "/papers/export", params={"order": "rank"})).status_code == 400
        assert (await client.get(V1 + "/queries/999999/export")).status_code == 404
