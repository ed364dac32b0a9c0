"""link/delay/ and link/forwarding/: anomalies per AS (specs/ihr-api.md §1b; ihr_delay, ihr_forwarding).

The two endpoints behave alike; every test runs against both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import (
    RANGE,
    column,
    iso,
    page,
    rows,
    span,
)
from tests.support.app import AppClient

FIELDS = ["asn", "timebin", "magnitude", "asn_name"]
# As data.load writes both tables: every 8th bin, one AS, one magnitude each.
BINS = data.BINS[::8]


@dataclass(frozen=True)
class Link:
    path: str
    asn: int
    magnitude: float
    other_asn: int  # an AS with no row in this table


@pytest.fixture(
    params=[Link("link/delay/", 2497, 0.5, 174), Link("link/forwarding/", 174, 1.5, 2497)],
    ids=["delay", "forwarding"],
)
def ep(request: pytest.FixtureRequest) -> Link:
    return request.param  # type: ignore[no-any-return]


def times(found: list[dict[str, Any]]) -> list[str]:
    return sorted(column(found, "timebin"))


def expected_times(low: str = "0", high: str = "9") -> list[str]:
    return [iso(t) for t in BINS if low <= iso(t) <= high]


async def test_fields_and_a_known_row(api: AppClient, ep: Link) -> None:
    answer = await page(api, ep.path, timebin=iso(BINS[1]))
    assert f'"magnitude":{ep.magnitude}' in answer.text
    (row,) = answer.json()["results"]
    assert list(row) == FIELDS
    assert row == {
        "asn": ep.asn,
        "timebin": iso(BINS[1]),
        "magnitude": ep.magnitude,
        "asn_name": data.ASNS[ep.asn],
    }


async def test_whole_range(api: AppClient, ep: Link) -> None:
    found = await rows(api, ep.path, **RANGE)
    assert len(found) == len(BINS)
    assert times(found) == expected_times()
    assert all(list(row) == FIELDS for row in found)


async def test_asn_list(api: AppClient, ep: Link) -> None:
    assert len(await rows(api, ep.path, **RANGE, asn=ep.asn)) == len(BINS)
    assert len(await rows(api, ep.path, **RANGE, asn=f"{ep.other_asn},{ep.asn}")) == len(BINS)
    assert len(await rows(api, ep.path, **RANGE, asn=f",{ep.asn},,")) == len(BINS)
    assert await rows(api, ep.path, **RANGE, asn=ep.other_asn) == []


async def test_timebin_exact(api: AppClient, ep: Link) -> None:
    assert times(await rows(api, ep.path, timebin=iso(BINS[3]))) == [iso(BINS[3])]
    # A bin between two rows.
    assert await rows(api, ep.path, timebin=iso(data.BINS[1])) == []


async def test_timebin_range(api: AppClient, ep: Link) -> None:
    second_day = {"timebin__gte": "2024-05-02T00:00:00Z", "timebin__lte": "2024-05-02T12:00:00Z"}
    assert times(await rows(api, ep.path, **second_day)) == expected_times(
        "2024-05-02T00:00:00Z", "2024-05-02T12:00:00Z"
    )
    # Both bounds are inclusive.
    bounds = {"timebin__gte": iso(BINS[2]), "timebin__lte": iso(BINS[4])}
    assert times(await rows(api, ep.path, **bounds)) == [iso(t) for t in BINS[2:5]]


async def test_timebin_with_range_is_anded(api: AppClient, ep: Link) -> None:
    assert times(await rows(api, ep.path, timebin=iso(BINS[3]), **RANGE)) == [iso(BINS[3])]
    later = {"timebin__gte": iso(BINS[4]), "timebin__lte": "2030-01-01T00:00:00Z"}
    assert await rows(api, ep.path, timebin=iso(BINS[3]), **later) == []


async def test_magnitude_exact(api: AppClient, ep: Link) -> None:
    assert len(await rows(api, ep.path, **RANGE, magnitude=ep.magnitude)) == len(BINS)
    assert await rows(api, ep.path, **RANGE, magnitude=ep.magnitude + 1) == []
    # magnitude has no __gte filter: ignored.
    assert len(await rows(api, ep.path, **RANGE, magnitude__gte=ep.magnitude + 1)) == len(BINS)


async def test_the_longest_range(api: AppClient, ep: Link) -> None:
    found = await rows(api, ep.path, **span(7, 23))
    assert len(found) == len(BINS)


async def test_ordering_by_timebin(api: AppClient, ep: Link) -> None:
    ascending = [iso(t) for t in BINS]
    assert column(await rows(api, ep.path, **RANGE, ordering="timebin"), "timebin") == ascending
    assert column(await rows(api, ep.path, **RANGE, ordering="-timebin"), "timebin") == ascending[::-1]
    found = await rows(api, ep.path, **RANGE, ordering="asn__name,magnitude,-timebin")
    assert column(found, "timebin") == ascending[::-1]


@pytest.mark.parametrize("ordering", ["bogus,-timebin", "-timebin,asn_name", "-x,-timebin"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ep: Link, ordering: str) -> None:
    ascending = [iso(t) for t in BINS]
    assert column(await rows(api, ep.path, **RANGE, ordering=ordering), "timebin") == ascending[::-1]
