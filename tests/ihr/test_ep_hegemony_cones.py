"""hegemony/cones/: customer cone sizes, ordered by timebin by default (spec §1b, §7 request 3)."""

from __future__ import annotations

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

PATH = "hegemony/cones/"
FIELDS = ["timebin", "asn", "conesize", "af"]
# As data.load writes ihr_hegemonycone: every 4th bin, AS174 growing from 3000, AS2497 at 2, af 4.
BINS = data.BINS[::4]
CONES = {(iso(t), 174): 3000 + i for i, t in enumerate(BINS)} | {(iso(t), 2497): 2 for t in BINS}


def sizes(found: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    return {(row["timebin"], row["asn"]): row["conesize"] for row in found}


async def test_fields_and_a_known_row(api: AppClient) -> None:
    answer = await page(api, PATH, asn=174, timebin=iso(BINS[1]))
    (row,) = answer.json()["results"]
    assert list(row) == FIELDS
    assert row == {"timebin": iso(BINS[1]), "asn": 174, "conesize": 3001, "af": 4}
    assert answer.text.endswith(
        '"results":[{"timebin":"2024-05-01T01:00:00Z","asn":174,"conesize":3001,"af":4}]}'
    )


async def test_representative_request_3(api: AppClient) -> None:
    found = await rows(api, PATH, asn=2497, af=4, **RANGE, ordering="timebin")
    assert found == [{"timebin": iso(t), "asn": 2497, "conesize": 2, "af": 4} for t in BINS]


async def test_asn_list(api: AppClient) -> None:
    assert sizes(await rows(api, PATH, **RANGE, asn="174,2497")) == CONES
    assert sizes(await rows(api, PATH, **RANGE, asn=",174")) == {
        k: v for k, v in CONES.items() if k[1] == 174
    }
    assert sizes(await rows(api, PATH, **RANGE)) == CONES
    assert await rows(api, PATH, **RANGE, asn=1299) == []


async def test_af(api: AppClient) -> None:
    assert len(await rows(api, PATH, **RANGE, af=4)) == len(CONES)
    assert await rows(api, PATH, **RANGE, af=6) == []


async def test_timebin(api: AppClient) -> None:
    at = iso(BINS[5])
    assert sizes(await rows(api, PATH, timebin=at)) == {k: v for k, v in CONES.items() if k[0] == at}
    assert await rows(api, PATH, timebin=iso(data.BINS[1])) == []
    window = {"timebin__gte": iso(BINS[2]), "timebin__lte": iso(BINS[3])}
    found = await rows(api, PATH, asn=174, **window)
    assert column(found, "conesize") == [3002, 3003]


async def test_default_ordering_is_timebin(api: AppClient) -> None:
    times = column(await rows(api, PATH, **RANGE, asn=174), "timebin")
    assert times == [iso(t) for t in BINS]


@pytest.mark.parametrize("ordering", ["bogus", "-nope", "conesize__x", ""])
async def test_only_invalid_ordering_falls_back_to_timebin(api: AppClient, ordering: str) -> None:
    times = column(await rows(api, PATH, **RANGE, asn=174, ordering=ordering), "timebin")
    assert times == [iso(t) for t in BINS]


async def test_ordering(api: AppClient) -> None:
    found = await rows(api, PATH, **RANGE, asn=174, ordering="-timebin")
    assert column(found, "timebin") == [iso(t) for t in BINS][::-1]
    found = await rows(api, PATH, **RANGE, ordering="-conesize")
    assert column(found, "conesize") == sorted(CONES.values(), reverse=True)
    found = await rows(api, PATH, **RANGE, ordering="bogus,asn,-timebin")
    # Ascending asn, then descending timebin (a stable sort of the reversed keys).
    expected = sorted(sorted(CONES, reverse=True), key=lambda key: key[1])
    assert [(row["timebin"], row["asn"]) for row in found] == expected


async def test_the_longest_range(api: AppClient) -> None:
    assert sizes(await rows(api, PATH, **span(7, 23))) == CONES
