"""network_delay/: delay between locations (specs/ihr-api.md §1b, §7 request 6)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import (
    RANGE,
    column,
    get,
    iso,
    page,
    rows,
    span,
)
from tests.support.app import AppClient

PATH = "network_delay/"
FIELDS = [
    "timebin",
    "startpoint_type",
    "startpoint_name",
    "startpoint_af",
    "endpoint_type",
    "endpoint_name",
    "endpoint_af",
    "median",
    "nbtracks",
    "nbprobes",
    "entropy",
    "hop",
    "nbrealrtts",
]
LOCATION = {id_: (name, kind, af) for id_, name, kind, af in data.LOCATIONS}
AMSTERDAM = LOCATION[3][0]
NEW_YORK = LOCATION[4][0]
# As data.load writes ihr_atlas_delay: every 4th bin, from location 1 to locations 2, 3 and 4.
BINS = data.BINS[::4]
START = 1
ENDS = (2, 3, 4)


def median(end: int) -> float:
    return 10.5 + end


def row_for(timebin: Any, end: int) -> dict[str, Any]:
    start_name, start_type, start_af = LOCATION[START]
    end_name, end_type, end_af = LOCATION[end]
    return {
        "timebin": iso(timebin),
        "startpoint_type": start_type,
        "startpoint_name": start_name,
        "startpoint_af": start_af,
        "endpoint_type": end_type,
        "endpoint_name": end_name,
        "endpoint_af": end_af,
        "median": median(end),
        "nbtracks": 3,
        "nbprobes": 2,
        "entropy": 0.5,
        "hop": 4,
        "nbrealrtts": 12,
    }


def ends(found: list[dict[str, Any]]) -> dict[int, int]:
    """How many rows go to each end location (by name, type and af)."""
    by_key = {(name, kind, af): id_ for id_, (name, kind, af) in LOCATION.items()}
    counts: dict[int, int] = {}
    for row in found:
        id_ = by_key[(row["endpoint_name"], row["endpoint_type"], row["endpoint_af"])]
        counts[id_] = counts.get(id_, 0) + 1
    return counts


def every(*end_ids: int) -> dict[int, int]:
    return dict.fromkeys(end_ids, len(BINS))


async def test_fields_and_known_rows(api: AppClient) -> None:
    answer = await page(api, PATH, timebin=iso(BINS[0]), ordering="median")
    assert '"median":12.5' in answer.text
    found = answer.json()["results"]
    assert [list(row) for row in found] == [FIELDS] * len(ENDS)
    assert found == [row_for(BINS[0], end) for end in ENDS]


async def test_representative_request_6(api: AppClient) -> None:
    found = await rows(
        api,
        PATH,
        startpoint_key="AS42497",
        endpoint_key=f"AS415169|CT4{AMSTERDAM}",
        **RANGE,
        ordering="timebin",
    )
    assert ends(found) == every(2, 3)
    times = column(found, "timebin")
    assert times == sorted(times)
    assert sorted(found, key=lambda row: (row["timebin"], row["median"])) == [
        row_for(t, end) for t in BINS for end in (2, 3)
    ]


async def test_whole_range(api: AppClient) -> None:
    assert ends(await rows(api, PATH, **RANGE)) == every(*ENDS)


async def test_name_lists_split_on_bars_only(api: AppClient) -> None:
    assert ends(await rows(api, PATH, **RANGE, startpoint_name="2497")) == every(*ENDS)
    assert ends(await rows(api, PATH, **RANGE, endpoint_name=f"15169|{AMSTERDAM}")) == every(2, 3)
    # A comma is part of a city name, not a separator.
    assert ends(await rows(api, PATH, **RANGE, endpoint_name=AMSTERDAM)) == every(3)
    assert await rows(api, PATH, **RANGE, endpoint_name="15169,2497") == []
    assert await rows(api, PATH, **RANGE, endpoint_name="amsterdam, north holland, nl") == []
    assert await rows(api, PATH, **RANGE, startpoint_name="15169") == []


async def test_types_and_afs(api: AppClient) -> None:
    assert ends(await rows(api, PATH, **RANGE, startpoint_type="AS")) == every(*ENDS)
    assert ends(await rows(api, PATH, **RANGE, endpoint_type="CT")) == every(3, 4)
    assert ends(await rows(api, PATH, **RANGE, endpoint_type="AS")) == every(2)
    assert await rows(api, PATH, **RANGE, startpoint_type="CT") == []
    assert await rows(api, PATH, **RANGE, endpoint_type="ct") == []
    assert ends(await rows(api, PATH, **RANGE, startpoint_af=4, endpoint_af=4)) == every(*ENDS)
    assert await rows(api, PATH, **RANGE, startpoint_af=6) == []
    assert await rows(api, PATH, **RANGE, endpoint_af=6) == []


async def test_keys(api: AppClient) -> None:
    assert ends(await rows(api, PATH, **RANGE, startpoint_key="AS42497")) == every(*ENDS)
    # Location 5 is AS2497 over IPv6: no delays start there.
    assert await rows(api, PATH, **RANGE, startpoint_key="AS62497") == []
    assert ends(await rows(api, PATH, **RANGE, endpoint_key=f"CT4{NEW_YORK}")) == every(4)
    assert ends(await rows(api, PATH, **RANGE, endpoint_key=f"CT4{NEW_YORK}|AS415169")) == every(2, 4)
    # Each key is (type AND af AND name).
    assert await rows(api, PATH, **RANGE, endpoint_key=f"CT6{AMSTERDAM}") == []
    assert await rows(api, PATH, **RANGE, endpoint_key=f"AS4{AMSTERDAM}") == []
    assert await rows(api, PATH, **RANGE, endpoint_key="AS41516") == []


async def test_median_exact_gte_lte(api: AppClient) -> None:
    middle = median(3)
    assert ends(await rows(api, PATH, **RANGE, median=middle)) == every(3)
    assert ends(await rows(api, PATH, **RANGE, median__gte=middle)) == every(
        *(e for e in ENDS if median(e) >= middle)
    )
    assert ends(await rows(api, PATH, **RANGE, median__lte=middle)) == every(
        *(e for e in ENDS if median(e) <= middle)
    )


async def test_timebin(api: AppClient) -> None:
    found = await rows(api, PATH, timebin=iso(BINS[7]))
    assert sorted(found, key=lambda row: row["median"]) == [row_for(BINS[7], end) for end in ENDS]
    assert await rows(api, PATH, timebin=iso(data.BINS[1])) == []
    # A timebin on top of a range (as the website's clicks send): ANDed.
    assert ends(await rows(api, PATH, **RANGE, timebin=iso(BINS[7]), endpoint_type="CT")) == {3: 1, 4: 1}


async def test_the_longest_range(api: AppClient) -> None:
    assert ends(await rows(api, PATH, **span(7, 23))) == every(*ENDS)


async def test_unknown_parameters_are_ignored(api: AppClient) -> None:
    # The website docs send `asn`, which is not a filter here.
    assert ends(await rows(api, PATH, **RANGE, asn=174, format="json")) == every(*ENDS)


async def test_ordering(api: AppClient) -> None:
    at = {"timebin": iso(BINS[0])}
    by_median = [row_for(BINS[0], end)["endpoint_name"] for end in ENDS]
    assert column(await rows(api, PATH, **at, ordering="median"), "endpoint_name") == by_median
    assert column(await rows(api, PATH, **at, ordering="-median"), "endpoint_name") == by_median[::-1]
    names = sorted(LOCATION[end][0] for end in ENDS)
    assert column(await rows(api, PATH, **at, ordering="endpoint__name"), "endpoint_name") == names
    assert column(await rows(api, PATH, **at, ordering="-endpoint__name"), "endpoint_name") == names[::-1]
    found = await rows(api, PATH, **at, ordering="-endpoint__type,endpoint__name")
    by_type_desc = sorted(
        sorted(ENDS, key=lambda e: LOCATION[e][0]), key=lambda e: LOCATION[e][1], reverse=True
    )
    assert column(found, "endpoint_name") == [LOCATION[e][0] for e in by_type_desc]
    times = column(await rows(api, PATH, **RANGE, endpoint_type="AS", ordering="-timebin"), "timebin")
    assert times == [iso(t) for t in reversed(BINS)]


@pytest.mark.parametrize("ordering", ["bogus,-median", "-median,endpoint_name", "-median,startpoint"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    found = await rows(api, PATH, timebin=iso(BINS[0]), ordering=ordering)
    assert column(found, "median") == sorted((median(e) for e in ENDS), reverse=True)


async def test_hostile_names_in_keys(api: AppClient) -> None:
    """Keys whose name part is hostile: no rows or a 400."""
    for name in ("' OR 1=1--", "%", "_", "x" * 5000, "\x00"):
        answer = await get(api, PATH, **RANGE, endpoint_key=f"CT4{name}")
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 200:
            assert answer.json()["results"] == []
