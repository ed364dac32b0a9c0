"""network_delay/alarms/: network delay alarms (specs/ihr-api.md §1b, §7 request 7)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import (
    RANGE,
    iso,
    page,
    rows,
    span,
)
from tests.support.app import AppClient

PATH = "network_delay/alarms/"
FIELDS = [
    "timebin",
    "startpoint_type",
    "startpoint_name",
    "startpoint_af",
    "endpoint_type",
    "endpoint_name",
    "endpoint_af",
    "deviation",
]
LOCATION = {id_: (name, kind, af) for id_, name, kind, af in data.LOCATIONS}
# id: (timebin, deviation, endpoint, startpoint), as data.load writes ihr_atlas_delay_alarms.
ALARMS = {1: (data.BINS[5], 25.0, 3, 1), 2: (data.BINS[6], 12.0, 4, 1)}


def alarm(number: int) -> dict[str, Any]:
    timebin, deviation, end, start = ALARMS[number]
    return {
        "timebin": iso(timebin),
        "startpoint_type": LOCATION[start][1],
        "startpoint_name": LOCATION[start][0],
        "startpoint_af": LOCATION[start][2],
        "endpoint_type": LOCATION[end][1],
        "endpoint_name": LOCATION[end][0],
        "endpoint_af": LOCATION[end][2],
        "deviation": deviation,
    }


def ids(found: list[dict[str, Any]]) -> list[int]:
    by_time = {iso(values[0]): number for number, values in ALARMS.items()}
    return [by_time[row["timebin"]] for row in found]


def where(test: Any) -> set[int]:
    return {number for number, values in ALARMS.items() if test(*values)}


async def test_fields_and_known_rows(api: AppClient) -> None:
    answer = await page(api, PATH, **RANGE, ordering="timebin")
    assert '"deviation":25.0' in answer.text
    found = answer.json()["results"]
    assert [list(row) for row in found] == [FIELDS] * len(ALARMS)
    assert found == [alarm(1), alarm(2)]


async def test_representative_request_7(api: AppClient) -> None:
    found = await rows(api, PATH, deviation__gte=20, startpoint_type="AS", **RANGE)
    assert found == [alarm(n) for n in sorted(where(lambda *v: v[1] >= 20))]


async def test_deviation_gte_lte(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, **RANGE, deviation__gte=12))) == where(lambda *v: v[1] >= 12)
    assert set(ids(await rows(api, PATH, **RANGE, deviation__lte=12))) == where(lambda *v: v[1] <= 12)
    assert await rows(api, PATH, **RANGE, deviation__gte=25.5) == []


async def test_deviation_exact_and_median_are_not_filters(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, **RANGE, deviation=25, median=1))) == set(ALARMS)


async def test_location_filters(api: AppClient) -> None:
    new_york = LOCATION[4][0]
    amsterdam = LOCATION[3][0]
    assert set(ids(await rows(api, PATH, **RANGE, startpoint_name="2497"))) == set(ALARMS)
    assert set(ids(await rows(api, PATH, **RANGE, endpoint_name=new_york))) == {2}
    assert set(ids(await rows(api, PATH, **RANGE, endpoint_name=f"{new_york}|{amsterdam}"))) == {1, 2}
    assert set(ids(await rows(api, PATH, **RANGE, endpoint_type="CT"))) == {1, 2}
    assert await rows(api, PATH, **RANGE, endpoint_type="AS") == []
    assert await rows(api, PATH, **RANGE, startpoint_af=6) == []
    assert set(ids(await rows(api, PATH, **RANGE, endpoint_af=4))) == {1, 2}
    assert set(ids(await rows(api, PATH, **RANGE, endpoint_key=f"CT4{amsterdam}"))) == {1}
    assert set(ids(await rows(api, PATH, **RANGE, startpoint_key="AS42497|AS415169"))) == {1, 2}
    assert await rows(api, PATH, **RANGE, startpoint_key="AS62497") == []


async def test_timebin(api: AppClient) -> None:
    assert ids(await rows(api, PATH, timebin=iso(data.BINS[6]))) == [2]
    assert await rows(api, PATH, timebin=iso(data.BINS[7])) == []
    window = {"timebin__gte": iso(data.BINS[0]), "timebin__lte": iso(data.BINS[5])}
    assert ids(await rows(api, PATH, **window)) == [1]


async def test_the_longest_range(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, **span(7, 23)))) == set(ALARMS)


async def test_ordering(api: AppClient) -> None:
    assert ids(await rows(api, PATH, **RANGE, ordering="deviation")) == [2, 1]
    assert ids(await rows(api, PATH, **RANGE, ordering="-deviation")) == [1, 2]
    assert ids(await rows(api, PATH, **RANGE, ordering="-timebin")) == [2, 1]
    assert ids(await rows(api, PATH, **RANGE, ordering="-endpoint__name")) == sorted(
        ALARMS, key=lambda n: LOCATION[ALARMS[n][2]][0], reverse=True
    )


@pytest.mark.parametrize("ordering", ["bogus,-timebin", "-timebin,endpoint_name", "median,-timebin"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    assert ids(await rows(api, PATH, **RANGE, ordering=ordering)) == [2, 1]
