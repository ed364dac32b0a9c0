"""link/delay/: delay anomalies per AS (specs/ihr-api.md §1b; table ihr_delay)."""

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
    column,
    get,
    iso,
    page,
    rows,
)
from tests.support.app import AppClient

PATH = "link/delay/"
FIELDS = ["asn", "timebin", "magnitude", "asn_name"]
# As data.load writes ihr_delay: every 8th bin, one AS, one magnitude.
BINS = data.BINS[::8]
ASN = 2497
MAGNITUDE = 0.5


def times(found: list[dict[str, Any]]) -> list[str]:
    return sorted(column(found, "timebin"))


def expected_times(low: str = "0", high: str = "9") -> list[str]:
    return [iso(t) for t in BINS if low <= iso(t) <= high]


async def test_fields_and_a_known_row(api: AppClient) -> None:
    answer = await page(api, PATH, timebin=iso(BINS[1]))
    assert '"magnitude":0.5' in answer.text
    (row,) = answer.json()["results"]
    assert list(row) == FIELDS
    assert row == {"asn": ASN, "timebin": iso(BINS[1]), "magnitude": MAGNITUDE, "asn_name": data.ASNS[ASN]}


async def test_whole_range(api: AppClient) -> None:
    found = await rows(api, PATH, **RANGE)
    assert len(found) == len(BINS)
    assert times(found) == expected_times()
    assert all(list(row) == FIELDS for row in found)


async def test_asn_list(api: AppClient) -> None:
    assert len(await rows(api, PATH, **RANGE, asn=ASN)) == len(BINS)
    assert len(await rows(api, PATH, **RANGE, asn=f"174,{ASN}")) == len(BINS)
    assert len(await rows(api, PATH, **RANGE, asn=f",{ASN},,")) == len(BINS)
    assert await rows(api, PATH, **RANGE, asn=174) == []


async def test_timebin_exact(api: AppClient) -> None:
    assert times(await rows(api, PATH, timebin=iso(BINS[3]))) == [iso(BINS[3])]
    # A bin between two rows.
    assert await rows(api, PATH, timebin=iso(data.BINS[1])) == []


async def test_timebin_range(api: AppClient) -> None:
    second_day = {"timebin__gte": "2024-05-02T00:00:00Z", "timebin__lte": "2024-05-02T12:00:00Z"}
    assert times(await rows(api, PATH, **second_day)) == expected_times(
        "2024-05-02T00:00:00Z", "2024-05-02T12:00:00Z"
    )
    # Both bounds are inclusive.
    bounds = {"timebin__gte": iso(BINS[2]), "timebin__lte": iso(BINS[4])}
    assert times(await rows(api, PATH, **bounds)) == [iso(t) for t in BINS[2:5]]


async def test_timebin_with_range_is_anded(api: AppClient) -> None:
    assert times(await rows(api, PATH, timebin=iso(BINS[3]), **RANGE)) == [iso(BINS[3])]
    later = {"timebin__gte": iso(BINS[4]), "timebin__lte": "2030-01-01T00:00:00Z"}
    assert await rows(api, PATH, timebin=iso(BINS[3]), **later) == []


async def test_magnitude_exact(api: AppClient) -> None:
    assert len(await rows(api, PATH, **RANGE, magnitude=MAGNITUDE)) == len(BINS)
    assert await rows(api, PATH, **RANGE, magnitude=MAGNITUDE + 1) == []
    # magnitude has no __gte filter: ignored.
    assert len(await rows(api, PATH, **RANGE, magnitude__gte=MAGNITUDE + 1)) == len(BINS)


async def test_timebin_required(api: AppClient) -> None:
    await assert_timebin_required(api, PATH)
    await assert_timebin_required(api, PATH, asn=ASN)


async def test_half_range(api: AppClient) -> None:
    await assert_half_range(api, PATH, asn=ASN)


async def test_range_of_seven_days(api: AppClient) -> None:
    found = await assert_range_limit(api, PATH, 7)
    assert len(found) == len(BINS)


async def test_unparseable_timebin(api: AppClient) -> None:
    await assert_unparseable(api, PATH)


async def test_date_only_bound(api: AppClient) -> None:
    await assert_date_only(api, PATH)


async def test_bad_numbers(api: AppClient) -> None:
    await assert_bad_number(api, PATH, "magnitude", **RANGE)


async def test_bad_asn_list(api: AppClient) -> None:
    await assert_bad_integer_list(api, PATH, "asn", **RANGE)


async def test_ordering_by_timebin(api: AppClient) -> None:
    ascending = [iso(t) for t in BINS]
    assert column(await rows(api, PATH, **RANGE, ordering="timebin"), "timebin") == ascending
    assert column(await rows(api, PATH, **RANGE, ordering="-timebin"), "timebin") == ascending[::-1]
    found = await rows(api, PATH, **RANGE, ordering="asn__name,magnitude,-timebin")
    assert column(found, "timebin") == ascending[::-1]


@pytest.mark.parametrize("ordering", ["bogus,-timebin", "-timebin,asn_name", "-x,-timebin"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    ascending = [iso(t) for t in BINS]
    assert column(await rows(api, PATH, **RANGE, ordering=ordering), "timebin") == ascending[::-1]


async def test_hostile_values(api: AppClient) -> None:
    await assert_hostile(api, PATH, "timebin")
    await assert_hostile(api, PATH, "asn", **RANGE)
    await assert_hostile(api, PATH, "magnitude", **RANGE)


async def test_cache_control_is_always_the_default(api: AppClient) -> None:
    # Not among the views given a long max-age for old windows.
    answer = await get(api, PATH, **RANGE)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "max-age=1800"
