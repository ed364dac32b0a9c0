"""Behaviour every IHR list shares: pagination, links, ordering, formats, redirects, caching, docs."""

from __future__ import annotations

import asyncio
import math
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from dockyard import ihr
from dockyard.ihr import plan, queries
from tests.ihr import data
from tests.support.app import AppClient, app_client, settings_for

RANGE = "timebin__gte=2024-05-01T00:00:00Z&timebin__lte=2024-05-02T23:45:00Z"
LOCAL = f"/ihr/api/hegemony/?originasn=2497&af=4&{RANGE}"
LOCAL_ROWS = len(data.BINS) * len(data.LOCAL_2497)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    """Pages of 100 rows, streamed above 30: the large-page paths on a small data set."""
    monkeypatch.setattr(plan, "PAGE_SIZE", 100)
    monkeypatch.setattr(queries, "SMALL_PAGE", 30)
    monkeypatch.setattr(queries, "FETCH_BATCH", 7)
    return 100


def key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["timebin"], row["originasn"], row["asn"], row["af"])


async def follow_next(api: AppClient, url: str) -> tuple[list[dict[str, Any]], int]:
    """What the IHR website does: follow `next` until null, concatenating results."""
    results: list[dict[str, Any]] = []
    count = -1
    while url:
        answer = await api.get(url)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        count = body["count"]
        results += body["results"]
        url = body["next"]
    return results, count


class TestPagination:
    async def test_one_page_envelope(self, api: AppClient) -> None:
        body = (await api.get(LOCAL)).json()
        assert list(body) == ["count", "next", "previous", "results"]
        assert body["count"] == LOCAL_ROWS == len(body["results"])
        assert body["next"] is None
        assert body["previous"] is None

    async def test_website_style_sequential_fetch_is_complete(self, api: AppClient, small_pages: int) -> None:
        results, count = await follow_next(api, LOCAL)
        assert count == LOCAL_ROWS
        assert len(results) == LOCAL_ROWS
        assert len({key(row) for row in results}) == LOCAL_ROWS, "no row twice"

    async def test_abondance_style_parallel_fetch_matches_sequential(
        self, api: AppClient, small_pages: int
    ) -> None:
        first = (await api.get(LOCAL + "&page=1&format=json")).json()
        pages = math.ceil(first["count"] / len(first["results"]))
        rest = await asyncio.gather(*(api.get(LOCAL + f"&page={n}&format=json") for n in range(2, pages + 1)))
        parallel = first["results"] + [row for answer in rest for row in answer.json()["results"]]
        sequential, _ = await follow_next(api, LOCAL)
        assert parallel == sequential
        assert [answer.json()["count"] for answer in rest] == [LOCAL_ROWS] * (pages - 1)

    async def test_links_keep_parameters_sorted_and_page_2_previous_has_no_page(
        self, api: AppClient, small_pages: int
    ) -> None:
        body = (await api.get(LOCAL + "&page=2")).json()
        assert body["next"].startswith("http://testserver/ihr/api/hegemony/?")
        nxt = parse_qs(urlsplit(body["next"]).query)
        assert nxt["page"] == ["3"]
        assert nxt["originasn"] == ["2497"]
        assert nxt["timebin__gte"] == ["2024-05-01T00:00:00Z"]
        names = [pair.split("=")[0] for pair in urlsplit(body["next"]).query.split("&")]
        assert names == sorted(names)
        assert "page" not in parse_qs(urlsplit(body["previous"]).query)
        third = (await api.get(LOCAL + "&page=3")).json()
        assert parse_qs(urlsplit(third["previous"]).query)["page"] == ["2"]

    async def test_links_honour_forwarded_host_and_proto(self, ihr_db: str, small_pages: int) -> None:
        headers = {"X-Forwarded-Host": "www.ihr.live", "X-Forwarded-Proto": "https"}
        behind_proxy = settings_for(ihr_db, trusted_proxies=["127.0.0.1"], allowed_hosts=["www.ihr.live"])
        async with app_client(behind_proxy, (ihr.service,)) as proxied:
            body = (await proxied.get(LOCAL, headers=headers)).json()
        assert body["next"].startswith("https://www.ihr.live/ihr/api/hegemony/?")

    async def test_links_ignore_forwarded_headers_from_an_untrusted_client(
        self, api: AppClient, small_pages: int
    ) -> None:
        headers = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
        body = (await api.get(LOCAL, headers=headers)).json()
        assert body["next"].startswith("http://testserver/ihr/api/hegemony/?")

    async def test_last_page_is_partial_and_has_no_next(self, api: AppClient, small_pages: int) -> None:
        pages = math.ceil(LOCAL_ROWS / small_pages)
        body = (await api.get(LOCAL + f"&page={pages}")).json()
        assert len(body["results"]) == LOCAL_ROWS - (pages - 1) * small_pages
        assert body["next"] is None
        assert body["count"] == LOCAL_ROWS
        assert (await api.get(LOCAL + "&page=last")).json() == body

    async def test_exact_multiple_of_the_page_size(
        self, api: AppClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(plan, "PAGE_SIZE", LOCAL_ROWS // 4)
        monkeypatch.setattr(queries, "SMALL_PAGE", 10)
        last = (await api.get(LOCAL + "&page=4")).json()
        assert len(last["results"]) == LOCAL_ROWS // 4
        assert last["count"] == LOCAL_ROWS
        assert last["next"] is None
        past = await api.get(LOCAL + "&page=5")
        assert past.status_code == 404
        assert past.json() == {"detail": "Invalid page."}

    @pytest.mark.parametrize("page", ["0", "-1", "x", "1.5", "99"])
    async def test_invalid_pages(self, api: AppClient, page: str) -> None:
        answer = await api.get(LOCAL + f"&page={page}")
        assert answer.status_code == 404
        assert answer.json() == {"detail": "Invalid page."}
        assert answer.headers["content-type"] == "application/json"

    async def test_empty_first_page_is_fine(self, api: AppClient) -> None:
        body = (await api.get(f"/ihr/api/hegemony/?originasn=64512&{RANGE}")).json()
        assert body == {"count": 0, "next": None, "previous": None, "results": []}

    async def test_streamed_page_equals_the_same_rows_unstreamed(
        self, api: AppClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        api.app.state.ihr_cache = None  # both answers from PostgreSQL
        buffered = (await api.get(LOCAL)).content
        monkeypatch.setattr(queries, "SMALL_PAGE", 10)
        monkeypatch.setattr(queries, "FETCH_BATCH", 13)
        streamed = await api.get(LOCAL)
        assert streamed.status_code == 200
        assert streamed.headers["content-type"] == "application/json"
        assert "etag" not in streamed.headers
        assert streamed.content == buffered

    async def test_streamed_page_with_a_single_connection_counts_on_it(
        self, api: AppClient, ihr_db: str, small_pages: int
    ) -> None:
        """With no connection to spare, the count runs before the rows on the same connection."""
        expected = (await api.get(LOCAL + "&page=2")).content
        async with app_client(settings_for(ihr_db, db_pool_max=1), (ihr.service,)) as lone:
            answer = await lone.get(LOCAL + "&page=2")
        assert answer.status_code == 200
        assert answer.content == expected
        assert answer.json()["count"] == LOCAL_ROWS


class TestOrdering:
    async def test_default_order_is_the_natural_key(self, api: AppClient) -> None:
        rows = (await api.get(LOCAL)).json()["results"]
        assert [key(row) for row in rows] == sorted(key(row) for row in rows)

    async def test_descending_then_ascending_with_unknown_terms_dropped(self, api: AppClient) -> None:
        rows = (await api.get(LOCAL + "&ordering=-hege,bogus,timebin,;drop table x")).json()["results"]
        expected = sorted(rows, key=lambda row: (-row["hege"], row["timebin"], row["asn"]))
        assert rows == expected
        assert rows[0]["hege"] == 1.0

    async def test_related_name_ordering(self, api: AppClient) -> None:
        rows = (await api.get(LOCAL + "&ordering=-asn__name")).json()["results"]
        names = [row["asn_name"] for row in rows]
        assert names == sorted(names, reverse=True)

    async def test_only_unknown_terms_means_default_order(self, api: AppClient) -> None:
        plain = (await api.get(LOCAL)).json()
        assert (await api.get(LOCAL + "&ordering=asn_name,nope")).json() == plain


class TestFormatsAndUrls:
    async def test_content_type_is_exactly_application_json(self, api: AppClient) -> None:
        answer = await api.get(LOCAL)
        assert answer.headers["content-type"] == "application/json"

    @pytest.mark.parametrize("fmt", ["json", "api", ""])
    async def test_format_json_api_or_empty_answer_json(self, api: AppClient, fmt: str) -> None:
        answer = await api.get(LOCAL + f"&format={fmt}")
        assert answer.status_code == 200
        assert answer.json()["count"] == LOCAL_ROWS

    @pytest.mark.parametrize("fmt", ["csv", "xml", "JSON"])
    async def test_other_formats_are_404(self, api: AppClient, fmt: str) -> None:
        answer = await api.get(LOCAL + f"&format={fmt}")
        assert answer.status_code == 404
        assert answer.json() == {"detail": "Not found."}

    async def test_unknown_parameters_are_ignored(self, api: AppClient) -> None:
        plain = (await api.get(LOCAL)).json()
        assert (await api.get(LOCAL + "&limit=5&foo=bar&asn_name=x")).json() == plain

    async def test_missing_trailing_slash_is_a_301_keeping_the_query(self, api: AppClient) -> None:
        answer = await api.get("/ihr/api/hegemony?originasn=2497&af=4")
        assert answer.status_code == 301
        assert answer.headers["location"] == "/ihr/api/hegemony/?originasn=2497&af=4"
        nested = await api.get("/ihr/api/network_delay/locations")
        assert nested.status_code == 301
        assert nested.headers["location"] == "/ihr/api/network_delay/locations/"

    async def test_repeated_parameter_uses_the_last_value(self, api: AppClient) -> None:
        body = (await api.get(LOCAL + "&af=6&af=4")).json()
        assert body["count"] == LOCAL_ROWS


class TestCaching:
    async def test_etag_and_304(self, api: AppClient) -> None:
        first = await api.get(LOCAL)
        etag = first.headers["etag"]
        again = await api.get(LOCAL, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        other = await api.get(LOCAL, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200

    async def test_cache_control_by_age_and_kind(self, api: AppClient) -> None:
        assert (await api.get(LOCAL)).headers["cache-control"] == "max-age=15552000"
        recent = await api.get("/ihr/api/hegemony/?originasn=2497")
        assert recent.headers["cache-control"] == "max-age=1800"
        assert (await api.get("/ihr/api/networks/")).headers["cache-control"] == "max-age=2592000"
        assert (await api.get("/ihr/api/countries/")).headers["cache-control"] == "max-age=2592000"
        prefixes = await api.get("/ihr/api/hegemony/prefixes/?country=JP")
        assert prefixes.headers["cache-control"] == "max-age=1800", "no timebin sent: the default"
        recent = data.RECENT[0].strftime("%Y-%m-%dT%H:%M:%SZ")
        prefixes = await api.get(f"/ihr/api/hegemony/prefixes/?country=JP&timebin={recent}")
        assert prefixes.headers["cache-control"] == "max-age=21600"


class TestDocs:
    async def test_swagger_json_lists_every_endpoint(self, api: AppClient) -> None:
        answer = await api.get("/ihr/api/swagger.json")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        paths = answer.json()["paths"]
        for endpoint in listing_paths():
            assert f"/ihr/api/{endpoint}" in paths
        hegemony = paths["/ihr/api/hegemony/"]["get"]
        names = {parameter["name"] for parameter in hegemony["parameters"]}
        assert {"originasn", "asn", "timebin__gte", "page", "ordering"} <= names

    async def test_swagger_yaml_is_the_same_document(self, api: AppClient) -> None:
        as_json = (await api.get("/ihr/api/swagger.json")).json()
        answer = await api.get("/ihr/api/swagger.yaml")
        assert answer.status_code == 200
        assert yaml.safe_load(answer.text) == as_json


def listing_paths() -> list[str]:
    from dockyard.ihr.endpoints import ENDPOINTS

    assert len(ENDPOINTS) == 18
    return [endpoint.path for endpoint in ENDPOINTS]


async def test_every_documented_list_is_served_by_its_plain_route(api: AppClient) -> None:
    """The lists run as plain routes; the document's paths and the served ones are the same set."""
    document = (await api.get("/openapi.json")).json()
    documented = {path for path in document["paths"] if path.startswith("/ihr/api/") and path.endswith("/")}
    served = {"/ihr" + route.path for route in ihr.service.plain_routes}
    assert served == documented
    answer = await api.get("/ihr/api/networks/?search=IIJ", headers={"X-Request-ID": "plain-ihr"})
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "plain-ihr", "through every middleware"
    assert (await api.post("/ihr/api/networks/")).status_code == 405, "other methods still answered"
