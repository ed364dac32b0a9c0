"""hegemony/: AS hegemony scores (specs/ihr-api.md §1b, §7 requests 1-2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import (
    RANGE,
    column,
    get,
    iso,
    one_of,
    page,
    rows,
    span,
)
from tests.support.app import AppClient

PATH = "hegemony/"
FIELDS = ["timebin", "originasn", "asn", "hege", "af", "asn_name", "originasn_name"]
FIRST = iso(data.BINS[0])
ONE_OF = one_of("originasn", "asn")


def at_first_bin() -> list[tuple[int, int, int, float]]:
    """Every (originasn, asn, af, hege) of the data set at the first fixed bin."""
    found = [(2497, asn, 4, hege) for asn, hege in data.LOCAL_2497.items()]
    found += [(0, asn, 4, hege) for asn, hege in data.GLOBAL.items()]
    found += [(2497, asn, 6, hege) for asn, hege in data.HEGEMONY_V6.items()]
    return found


def keys(found: list[dict[str, Any]]) -> set[tuple[int, int, int, float]]:
    return {(row["originasn"], row["asn"], row["af"], row["hege"]) for row in found}


async def test_fields_and_a_known_row(api: AppClient) -> None:
    answer = await page(api, PATH, originasn=2497, asn=2497, af=4, timebin=FIRST)
    assert '"hege":1.0' in answer.text
    (row,) = answer.json()["results"]
    assert list(row) == FIELDS
    assert row == {
        "timebin": "2024-05-01T00:00:00Z",
        "originasn": 2497,
        "asn": 2497,
        "hege": 1.0,
        "af": 4,
        "asn_name": data.ASNS[2497],
        "originasn_name": data.ASNS[2497],
    }
    assert isinstance(row["hege"], float)


async def test_representative_request_1_local_graph_over_two_days(api: AppClient) -> None:
    found = await rows(api, PATH, originasn=2497, af=4, **RANGE, ordering="timebin")
    assert len(found) == len(data.BINS) * len(data.LOCAL_2497)
    assert all(list(row) == FIELDS for row in found)
    times = column(found, "timebin")
    assert times == sorted(times)
    assert times[0] == iso(data.BINS[0])
    assert times[-1] == iso(data.BINS[-1])
    assert {(row["asn"], row["hege"]) for row in found} == set(data.LOCAL_2497.items())
    assert {row["originasn_name"] for row in found} == {data.ASNS[2497]}


async def test_representative_request_2_dependents_of_an_as(api: AppClient) -> None:
    found = await rows(api, PATH, asn=2497, af=4, timebin=FIRST)
    assert found == [
        {
            "timebin": FIRST,
            "originasn": 2497,
            "asn": 2497,
            "hege": data.LOCAL_2497[2497],
            "af": 4,
            "asn_name": data.ASNS[2497],
            "originasn_name": data.ASNS[2497],
        }
    ]


async def test_asn_list(api: AppClient) -> None:
    expected = {key for key in at_first_bin() if key[1] in (174, 1299)}
    assert keys(await rows(api, PATH, asn="174,1299", timebin=FIRST)) == expected
    assert keys(await rows(api, PATH, asn=",174,,1299,", timebin=FIRST)) == expected
    assert await rows(api, PATH, asn="15169", timebin=FIRST) == []


async def test_originasn_list_and_global_graph(api: AppClient) -> None:
    global_graph = await rows(api, PATH, originasn=0, timebin=FIRST)
    assert keys(global_graph) == {key for key in at_first_bin() if key[0] == 0}
    assert {row["originasn_name"] for row in global_graph} == {data.ASNS[0]}
    both = await rows(api, PATH, originasn="0,2497", timebin=FIRST)
    assert keys(both) == set(at_first_bin())


async def test_empty_one_of_value_counts_as_present_and_filters_nothing(api: AppClient) -> None:
    assert keys(await rows(api, PATH, asn="", timebin=FIRST)) == set(at_first_bin())
    assert keys(await rows(api, PATH, originasn="", timebin=FIRST)) == set(at_first_bin())


async def test_af(api: AppClient) -> None:
    for af in (4, 6):
        found = await rows(api, PATH, originasn=2497, af=af, timebin=FIRST)
        assert keys(found) == {key for key in at_first_bin() if key[0] == 2497 and key[2] == af}
    assert await rows(api, PATH, originasn=2497, af=5, timebin=FIRST) == []


async def test_hege_exact_gte_lte(api: AppClient) -> None:
    local = [key for key in at_first_bin() if key[0] == 2497]
    assert keys(await rows(api, PATH, originasn=2497, timebin=FIRST, hege=0.25)) == {
        key for key in local if key[3] == 0.25
    }
    assert keys(await rows(api, PATH, originasn=2497, timebin=FIRST, hege__gte=0.25)) == {
        key for key in local if key[3] >= 0.25
    }
    assert keys(await rows(api, PATH, originasn=2497, timebin=FIRST, hege__lte=0.125)) == {
        key for key in local if key[3] <= 0.125
    }


async def test_timebin_exact_and_range(api: AppClient) -> None:
    second_day = {"timebin__gte": "2024-05-02T00:00:00Z", "timebin__lte": "2024-05-02T23:59:59Z"}
    found = await rows(api, PATH, originasn=2497, af=4, **second_day)
    assert len(found) == data.HEGEMONY_PER_DAY_2497
    assert {row["timebin"][:10] for row in found} == {"2024-05-02"}
    at_bin = await rows(api, PATH, originasn=2497, af=4, timebin=iso(data.BINS[100]))
    assert set(column(at_bin, "timebin")) == {iso(data.BINS[100])}
    assert len(at_bin) == len(data.LOCAL_2497)
    # Other offsets and formats of the same instant.
    for same in ("2024-05-01T09:00:00+09:00", "2024-05-01 00:00", "2024-05-01T00:00:00.000Z"):
        assert keys(await rows(api, PATH, originasn=2497, timebin=same)) == keys(
            await rows(api, PATH, originasn=2497, timebin=FIRST)
        )


async def test_timebin_with_range_is_anded_and_not_range_checked(api: AppClient) -> None:
    far = {"timebin__gte": "2024-05-01T00:00:00Z", "timebin__lte": "2030-01-01T00:00:00Z"}
    found = await rows(api, PATH, originasn=2497, af=4, timebin=FIRST, **far)
    assert len(found) == len(data.LOCAL_2497)
    later = {"timebin__gte": "2024-05-02T00:00:00Z", "timebin__lte": "2030-01-01T00:00:00Z"}
    assert await rows(api, PATH, originasn=2497, timebin=FIRST, **later) == []
    # With `timebin`, one bound alone is no half range.
    found = await rows(api, PATH, originasn=2497, af=4, timebin=FIRST, timebin__lte="2030-01-01T00:00:00Z")
    assert len(found) == len(data.LOCAL_2497)


async def test_default_window_without_timebin(api: AppClient) -> None:
    found = await rows(api, PATH, originasn=2497, ordering="timebin")
    assert column(found, "timebin") == [iso(t) for t in data.RECENT]
    assert {(row["asn"], row["hege"]) for row in found} == {(174, 0.75)}
    assert iso(data.TOO_OLD_FOR_DEFAULT) not in column(found, "timebin")


async def test_too_old_row_needs_an_explicit_range(api: AppClient) -> None:
    old = data.TOO_OLD_FOR_DEFAULT
    found = await rows(api, PATH, originasn=2497, timebin=iso(old))
    assert column(found, "timebin") == [iso(old)]


async def test_the_longest_range(api: AppClient) -> None:
    found = await rows(api, PATH, originasn=2497, af=4, **span(7, 23))
    assert len(found) == len(data.BINS) * len(data.LOCAL_2497)


async def test_ordering_by_hege(api: AppClient) -> None:
    local = sorted(data.LOCAL_2497, key=data.LOCAL_2497.__getitem__)
    found = await rows(api, PATH, originasn=2497, af=4, timebin=FIRST, ordering="hege")
    assert column(found, "asn") == local
    found = await rows(api, PATH, originasn=2497, af=4, timebin=FIRST, ordering="-hege")
    assert column(found, "asn") == local[::-1]


async def test_ordering_by_related_names(api: AppClient) -> None:
    by_name = sorted(data.LOCAL_2497, key=data.ASNS.__getitem__)
    found = await rows(api, PATH, originasn=2497, af=4, timebin=FIRST, ordering="asn__name")
    assert column(found, "asn") == by_name
    found = await rows(api, PATH, originasn=2497, af=4, timebin=FIRST, ordering="-asn__name")
    assert column(found, "asn") == by_name[::-1]
    origins = sorted((0, 2497), key=data.ASNS.__getitem__)
    found = await rows(api, PATH, asn=174, af=4, timebin=FIRST, ordering="originasn__name")
    assert column(found, "originasn") == origins
    found = await rows(api, PATH, asn=174, af=4, timebin=FIRST, ordering="-originasn__name")
    assert column(found, "originasn") == origins[::-1]


async def test_ordering_by_several_fields(api: AppClient) -> None:
    found = await rows(api, PATH, asn="174,1299", af=4, timebin=FIRST, ordering="-originasn,hege")
    expected = sorted(
        ((origin, asn, hege) for origin, asn, af, hege in at_first_bin() if asn in (174, 1299) and af == 4),
        key=lambda key: (-key[0], key[2]),
    )
    assert [(row["originasn"], row["asn"], row["hege"]) for row in found] == expected


@pytest.mark.parametrize("ordering", ["bogus,-hege", "-nope,-hege", "asn_name,-hege", "hege__x,-hege"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    local = sorted(data.LOCAL_2497, key=data.LOCAL_2497.__getitem__, reverse=True)
    found = await rows(api, PATH, originasn=2497, af=4, timebin=FIRST, ordering=ordering)
    assert column(found, "asn") == local


async def test_unknown_parameters_are_ignored(api: AppClient) -> None:
    found = await rows(api, PATH, originasn=2497, af=4, timebin=FIRST, format="json", page=1, foo="bar")
    assert set(column(found, "asn")) == set(data.LOCAL_2497)


async def test_reversed_range_passes_the_check_and_matches_nothing(api: AppClient) -> None:
    reversed_range = {"timebin__gte": "2024-05-02T00:00:00Z", "timebin__lte": "2024-05-01T00:00:00Z"}
    assert await rows(api, PATH, originasn=2497, **reversed_range) == []


@pytest.mark.parametrize("number", ["0", "2", "-1", "x", "1.5"])
async def test_invalid_page(api: AppClient, number: str) -> None:
    answer = await get(api, PATH, originasn=2497, af=4, timebin=FIRST, page=number)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"detail": "Invalid page."}


async def test_first_page_and_missing_slash(api: AppClient) -> None:
    found = await rows(api, PATH, originasn=2497, af=4, timebin=FIRST, page=1)
    assert set(column(found, "asn")) == set(data.LOCAL_2497)
    answer = await api.get("/ihr/api/hegemony?originasn=2497&af=4")
    assert answer.status_code == 301
    assert answer.headers["location"].endswith("/ihr/api/hegemony/?originasn=2497&af=4")
