"""hegemony/alarms/: AS hegemony alarms (specs/ihr-api.md §1b)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import (
    RANGE,
    assert_bad_integer_list,
    assert_bad_number,
    assert_date_only,
    assert_half_range,
    assert_hostile,
    assert_range_limit,
    assert_timebin_required,
    assert_unparseable,
    get,
    iso,
    page,
    rows,
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


async def test_timebin_required(api: AppClient) -> None:
    await assert_timebin_required(api, PATH)
    await assert_timebin_required(api, PATH, deviation__gte=20)


async def test_half_range(api: AppClient) -> None:
    await assert_half_range(api, PATH)


async def test_range_of_seven_days(api: AppClient) -> None:
    assert set(ids(await assert_range_limit(api, PATH, 7))) == set(ALARMS)


async def test_unparseable_timebin(api: AppClient) -> None:
    await assert_unparseable(api, PATH)


async def test_date_only_bound(api: AppClient) -> None:
    await assert_date_only(api, PATH)


@pytest.mark.parametrize("name", ["af", "deviation__gte", "deviation__lte"])
async def test_bad_numbers(api: AppClient, name: str) -> None:
    await assert_bad_number(api, PATH, name, **RANGE)


@pytest.mark.parametrize("name", ["asn", "originasn"])
async def test_bad_integer_lists(api: AppClient, name: str) -> None:
    await assert_bad_integer_list(api, PATH, name, **RANGE)


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


async def test_hostile_values(api: AppClient) -> None:
    for name in ("asn", "originasn", "af", "deviation__gte"):
        await assert_hostile(api, PATH, name, **RANGE)
    await assert_hostile(api, PATH, "timebin")


async def test_cache_control(api: AppClient) -> None:
    answer = await get(api, PATH, **RANGE)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "max-age=15552000"
    recent = {"timebin__gte": iso(data.RECENT[0]), "timebin__lte": iso(data.RECENT[-1])}
    answer = await get(api, PATH, **recent)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "max-age=1800"
