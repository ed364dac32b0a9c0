"""hegemony/alarms/: AS hegemony alarms (specs/ihr-api.md §1b)."""

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

PATH = "hegemony/alarms/"
FIELDS = ["timebin", "originasn", "asn", "deviation", "af", "asn_name", "originasn_name"]
# id: (timebin, deviation, af, asn, originasn), as data.load writes ihr_hegemony_alarms.
ALARMS = {
    1: (data.BINS[10], 25.5, 4, 174, 2497),
    2: (data.BINS[20], -30.0, 4, 1299, 2497),
    3: (data.BINS[30], 5.0, 4, 174, 0),
}


def alarm(number: int) -> dict[str, Any]:
    timebin, deviation, af, asn, origin = ALARMS[number]
    return {
        "timebin": iso(timebin),
        "originasn": origin,
        "asn": asn,
        "deviation": deviation,
        "af": af,
        "asn_name": data.ASNS[asn],
        "originasn_name": data.ASNS[origin],
    }


def ids(found: list[dict[str, Any]]) -> list[int]:
    """The alarm ids of rows, in order (rows are told apart by their timebin)."""
    by_time = {iso(values[0]): number for number, values in ALARMS.items()}
    return [by_time[row["timebin"]] for row in found]


def where(test: Any) -> set[int]:
    return {number for number, values in ALARMS.items() if test(*values)}


async def test_fields_and_known_rows(api: AppClient) -> None:
    answer = await page(api, PATH, **RANGE, ordering="timebin")
    assert '"deviation":-30.0' in answer.text
    found = answer.json()["results"]
    assert [list(row) for row in found] == [FIELDS] * len(ALARMS)
    assert found == [alarm(n) for n in sorted(ALARMS)]


async def test_asn_and_originasn_lists(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, **RANGE, asn=174))) == where(lambda *v: v[3] == 174)
    assert set(ids(await rows(api, PATH, **RANGE, asn="174,1299"))) == set(ALARMS)
    assert set(ids(await rows(api, PATH, **RANGE, originasn=0))) == where(lambda *v: v[4] == 0)
    assert set(ids(await rows(api, PATH, **RANGE, originasn="2497,"))) == where(lambda *v: v[4] == 2497)
    assert set(ids(await rows(api, PATH, **RANGE, originasn=2497, asn=174))) == {1}
    assert await rows(api, PATH, **RANGE, asn=15169) == []


async def test_af(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, **RANGE, af=4))) == set(ALARMS)
    assert await rows(api, PATH, **RANGE, af=6) == []


async def test_deviation_gte_lte(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, **RANGE, deviation__gte=20))) == where(lambda *v: v[1] >= 20)
    assert set(ids(await rows(api, PATH, **RANGE, deviation__lte=-20))) == where(lambda *v: v[1] <= -20)
    assert set(ids(await rows(api, PATH, **RANGE, deviation__gte=5, deviation__lte=25.5))) == {1, 3}


async def test_deviation_exact_is_not_a_filter(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, **RANGE, deviation=25.5))) == set(ALARMS)


async def test_timebin(api: AppClient) -> None:
    assert ids(await rows(api, PATH, timebin=iso(data.BINS[20]))) == [2]
    assert await rows(api, PATH, timebin=iso(data.BINS[21])) == []
    window = {"timebin__gte": iso(data.BINS[10]), "timebin__lte": iso(data.BINS[20])}
    assert set(ids(await rows(api, PATH, **window))) == {1, 2}


async def test_the_longest_range(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, **span(7, 23)))) == set(ALARMS)


async def test_ordering(api: AppClient) -> None:
    by_deviation = sorted(ALARMS, key=lambda n: ALARMS[n][1])
    assert ids(await rows(api, PATH, **RANGE, ordering="deviation")) == by_deviation
    assert ids(await rows(api, PATH, **RANGE, ordering="-deviation")) == by_deviation[::-1]
    assert ids(await rows(api, PATH, **RANGE, ordering="-timebin")) == sorted(ALARMS, reverse=True)


async def test_ordering_by_related_names(api: AppClient) -> None:
    by_asn_name = sorted(ALARMS, key=lambda n: (data.ASNS[ALARMS[n][3]], ALARMS[n][0]))
    assert ids(await rows(api, PATH, **RANGE, ordering="asn__name,timebin")) == by_asn_name
    by_origin_name = sorted(ALARMS, key=lambda n: (data.ASNS[ALARMS[n][4]], -ALARMS[n][1]))
    assert ids(await rows(api, PATH, **RANGE, ordering="originasn__name,-deviation")) == by_origin_name


@pytest.mark.parametrize("ordering", ["bogus,-timebin", "-timebin,asn_name", "originasn_name,-timebin"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    assert ids(await rows(api, PATH, **RANGE, ordering=ordering)) == sorted(ALARMS, reverse=True)
