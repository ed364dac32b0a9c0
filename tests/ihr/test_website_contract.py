"""What the IHR website (ihr-website, src/plugins/IhrApi.js and IhrQuery.js) relies on, request by
request as it sends them (specs/ihr-api.md §5): raw URLs, not re-encoded by the test client."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import iso
from tests.support.app import AppClient

API = "/ihr/api/"
# The website's dates: JavaScript's toISOString(), with milliseconds.
FROM, TO = "2024-05-01T00:00:00.000Z", "2024-05-02T23:59:59.000Z"


async def results(api: AppClient, url: str) -> list[dict[str, Any]]:
    """Follow `next` as the website does (absolute URLs, until null); the rows in order."""
    rows: list[dict[str, Any]] = []
    while url:
        answer = await api.get(url)
        assert answer.status_code == 200, answer.text
        # The website drops any answer whose type is not exactly this.
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        rows += body["results"]
        url = body["next"]
        assert url is None or url.startswith("http://testserver/ihr/api/"), "absolute links"
    return rows


async def test_javascript_iso_times_with_milliseconds(api: AppClient) -> None:
    url = f"{API}hegemony/?originasn=2497&af=4&timebin__gte={FROM}&timebin__lte={TO}&ordering=timebin"
    rows = await results(api, url)
    assert len(rows) == len(data.BINS) * len(data.LOCAL_2497)
    assert rows[0]["timebin"] == iso(data.BINS[0])
    assert rows[-1]["timebin"] == iso(data.BINS[-1])


@pytest.mark.parametrize(
    "keys",
    [
        # `+` for the spaces and %7C for `|`, as the browser encodes the website's query.
        "AS415169%7CCT4Amsterdam,+North+Holland,+NL%7CCT4New+York+City,+New+York,+US",
        "AS415169%7CCT4Amsterdam%2C%20North%20Holland%2C%20NL%7CCT4New%20York%20City%2C%20New%20York%2C%20US",
        "AS415169|CT4Amsterdam, North Holland, NL|CT4New York City, New York, US",
    ],
)
async def test_location_keys_as_the_website_encodes_them(api: AppClient, keys: str) -> None:
    url = (
        f"{API}network_delay/?startpoint_name=2497&startpoint_type=AS&endpoint_key={keys}"
        f"&timebin__gte={FROM}&timebin__lte={TO}&ordering=timebin"
    )
    rows = await results(api, url)
    assert {row["endpoint_name"] for row in rows} == {
        "15169",
        "Amsterdam, North Holland, NL",
        "New York City, New York, US",
    }
    assert {(row["startpoint_type"], row["startpoint_name"], row["startpoint_af"]) for row in rows} == {
        ("AS", "2497", 4)
    }


async def test_as4_start_keys_with_city_end_keys(api: AppClient) -> None:
    url = (
        f"{API}network_delay/?startpoint_key=AS42497&endpoint_key=CT4Amsterdam,+North+Holland,+NL"
        f"&timebin__gte={FROM}&timebin__lte={TO}&ordering=timebin"
    )
    rows = await results(api, url)
    assert rows
    assert {row["endpoint_name"] for row in rows} == {"Amsterdam, North Holland, NL"}
    times = [row["timebin"] for row in rows]
    assert times == sorted(times)


@pytest.mark.parametrize(
    ("typed", "expected"), [("msterd", {3}), ("YORK", {4}), ("2497", {1, 5}), ("zz", set())]
)
async def test_location_search_is_a_substring_in_any_case(
    api: AppClient, typed: str, expected: set[int]
) -> None:
    rows = await results(api, f"{API}network_delay/locations/?name={typed}&ordering=name")
    by_key = {(name, kind, af): id_ for id_, name, kind, af in data.LOCATIONS}
    assert {by_key[row["name"], row["type"], row["af"]] for row in rows} == expected


async def test_disco_with_an_empty_streamname_lists_every_stream(api: AppClient) -> None:
    window = f"starttime__gte={FROM}&endtime__lte=2024-05-08T00:00:00.000Z&ordering=starttime"
    every = await results(api, f"{API}disco/events/?streamname=&{window}")
    assert [row["streamname"] for row in every] == ["20712", "JP"]
    one = await results(api, f"{API}disco/events/?streamname=20712&{window}")
    assert [row["streamname"] for row in one] == ["20712"]
    assert len(one[0]["discoprobes"]) == 2


@pytest.mark.parametrize("kind", ["selection", "deployment"])
async def test_metis_without_time_parameters_the_server_picks_the_window(api: AppClient, kind: str) -> None:
    rows = await results(
        api, f"{API}metis/atlas/{kind}/?rank__lte=2&af=4&metric=as_path_length&ordering=timebin"
    )
    assert {row["timebin"] for row in rows} == {iso(data.RECENT[0])}, "the last week only"
    assert sorted(row["rank"] for row in rows) == [0, 1, 2]


async def test_the_global_report_queries(api: AppClient) -> None:
    window = f"timebin__gte={FROM}&timebin__lte={TO}"
    high = await results(api, f"{API}hegemony/alarms/?deviation__gte=20&{window}")
    low = await results(api, f"{API}hegemony/alarms/?deviation__lte=-20&{window}")
    assert [row["deviation"] for row in high] == [25.5]
    assert [row["deviation"] for row in low] == [-30.0]
    delay = await results(api, f"{API}network_delay/alarms/?deviation__gte=20&startpoint_type=AS&{window}")
    assert all(row["startpoint_type"] == "AS" and row["deviation"] >= 20 for row in delay)


async def test_search_as_the_website_sends_it(api: AppClient) -> None:
    rows = await results(api, f"{API}networks/?search=AS2497&ordering=number")
    assert [row["number"] for row in rows] == [2497]


async def test_the_api_page_loads_the_document_from_openapi_json(api: AppClient) -> None:
    answer = await api.get(f"{API}openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    document = answer.json()
    assert document == (await api.get(f"{API}swagger.json")).json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Internet Health Report API"
    assert all(path.startswith("/ihr/") for path in document["paths"])
    hegemony = document["paths"]["/ihr/api/hegemony/"]["get"]
    schemas = {parameter["name"]: parameter["schema"] for parameter in hegemony["parameters"]}
    assert schemas["hege__gte"] == {"type": "number"}
    assert schemas["timebin__gte"]["format"] == "date-time"
    assert "pattern" in schemas["originasn"]
