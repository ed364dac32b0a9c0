"""disco/events/: disconnection events with their probes nested (specs/ihr-api.md §1b, §7 request 8)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import (
    ENTER_A_DATETIME,
    assert_bad_number,
    column,
    error,
    iso,
    page,
    rows,
)
from tests.support.app import AppClient

PATH = "disco/events/"
FIELDS = [
    "id",
    "streamtype",
    "streamname",
    "starttime",
    "endtime",
    "avglevel",
    "nbdiscoprobes",
    "totalprobes",
    "ongoing",
    "discoprobes",
]
PROBE_FIELDS = ["probe_id", "ipv4", "prefixv4", "event", "starttime", "endtime", "level", "lat", "lon"]
B = data.BINS
# What data.load writes in ihr_disco_events and ihr_disco_probes.
PROBES = {
    1: [
        (6001, "192.0.2.10", "192.0.2.0/24", 1, B[8], B[11], 0.5, 51.5, -0.125),
        (6002, "192.0.2.11", "192.0.2.0/24", 1, B[9], B[12], 1.0, 51.25, 0.0),
    ],
    2: [(6003, "198.51.100.7", "198.51.100.0/24", 2, B[40], B[41], 0.5, 35.5, 139.75)],
}
EVENTS = {
    1: ("asn", "20712", B[8], B[12], 0.75, 3, 10, False),
    2: ("country", "JP", B[40], B[41], 0.5, 2, 8, True),
}

ONGOING = 7  # index of `ongoing` in EVENTS' tuples


def event(number: int) -> dict[str, Any]:
    streamtype, streamname, start, end, avglevel, nbdiscoprobes, totalprobes, ongoing = EVENTS[number]
    return {
        "id": number,
        "streamtype": streamtype,
        "streamname": streamname,
        "starttime": iso(start),
        "endtime": iso(end),
        "avglevel": avglevel,
        "nbdiscoprobes": nbdiscoprobes,
        "totalprobes": totalprobes,
        "ongoing": ongoing,
        "discoprobes": [
            dict(zip(PROBE_FIELDS, (*probe[:4], iso(probe[4]), iso(probe[5]), *probe[6:]), strict=True))
            for probe in PROBES[number]
        ],
    }


def ids(found: list[dict[str, Any]]) -> set[int]:
    return set(column(found, "id"))


def where(index: int, compare: Callable[[Any, Any], bool], value: Any) -> set[int]:
    """The events whose value at `index` in EVENTS compares true with `value`."""
    return {number for number, values in EVENTS.items() if compare(values[index], value)}


async def test_fields_and_known_rows(api: AppClient) -> None:
    answer = await page(api, PATH, ordering="id")
    assert '"level":1.0' in answer.text
    assert '"lon":0.0' in answer.text
    found = answer.json()["results"]
    assert [list(row) for row in found] == [FIELDS] * len(EVENTS)
    assert [list(probe) for row in found for probe in row["discoprobes"]] == [PROBE_FIELDS] * sum(
        map(len, PROBES.values())
    )
    assert found == [event(1), event(2)]


async def test_representative_request_8(api: AppClient) -> None:
    found = await rows(
        api,
        PATH,
        streamname="20712",
        starttime__gte="2024-05-01T00:00:00Z",
        endtime__lte="2024-05-08T00:00:00Z",
        ordering="starttime",
    )
    assert found == [event(1)]


async def test_no_rule_whole_table(api: AppClient) -> None:
    assert ids(await rows(api, PATH)) == set(EVENTS)


async def test_stream_filters_are_exact(api: AppClient) -> None:
    assert ids(await rows(api, PATH, streamname="20712")) == {1}
    assert ids(await rows(api, PATH, streamname="JP")) == {2}
    assert await rows(api, PATH, streamname="jp") == []
    assert await rows(api, PATH, streamname="2071") == []
    assert ids(await rows(api, PATH, streamtype="country")) == {2}
    assert ids(await rows(api, PATH, streamtype="asn")) == {1}
    assert await rows(api, PATH, streamtype="ASN") == []
    assert await rows(api, PATH, streamtype="asn", streamname="JP") == []


@pytest.mark.parametrize(("name", "index"), [("starttime", 2), ("endtime", 3)])
async def test_time_filters(api: AppClient, name: str, index: int) -> None:
    for edge in (B[8], B[12], B[40], B[41]):
        assert ids(await rows(api, PATH, **{name: iso(edge)})) == where(index, operator.eq, edge)
        assert ids(await rows(api, PATH, **{f"{name}__gte": iso(edge)})) == where(index, operator.ge, edge)
        assert ids(await rows(api, PATH, **{f"{name}__lte": iso(edge)})) == where(index, operator.le, edge)


@pytest.mark.parametrize(
    ("name", "index", "values"),
    [("avglevel", 4, (0.5, 0.75, 0.625)), ("nbdiscoprobes", 5, (2, 3, 4)), ("totalprobes", 6, (8, 9, 10))],
)
async def test_number_filters(api: AppClient, name: str, index: int, values: tuple[float, ...]) -> None:
    for value in values:
        assert ids(await rows(api, PATH, **{name: value})) == where(index, operator.eq, value)
        assert ids(await rows(api, PATH, **{f"{name}__gte": value})) == where(index, operator.ge, value)
        assert ids(await rows(api, PATH, **{f"{name}__lte": value})) == where(index, operator.le, value)


@pytest.mark.parametrize(("value", "expected"), [("true", {2}), ("True", {2}), ("1", {2})])
async def test_ongoing_true(api: AppClient, value: str, expected: set[int]) -> None:
    assert ids(await rows(api, PATH, ongoing=value)) == expected == where(ONGOING, operator.is_, True)


@pytest.mark.parametrize("value", ["false", "False", "0"])
async def test_ongoing_false(api: AppClient, value: str) -> None:
    assert ids(await rows(api, PATH, ongoing=value)) == where(ONGOING, operator.is_, False) == {1}


@pytest.mark.parametrize("value", ["", "yes", "2", "3", "no", "' OR 1=1--"])
async def test_ongoing_other_values_do_not_filter(api: AppClient, value: str) -> None:
    assert ids(await rows(api, PATH, ongoing=value)) == set(EVENTS)


async def test_date_only_time_is_refused(api: AppClient) -> None:
    assert await error(api, PATH, starttime__gte="2024-05-01") == {"starttime__gte": [ENTER_A_DATETIME]}
    assert await error(api, PATH, endtime="2024-05-01") == {"endtime": [ENTER_A_DATETIME]}
    assert await error(api, PATH, endtime__lte="soon") == {"endtime__lte": [ENTER_A_DATETIME]}


async def test_timebin_is_not_a_filter(api: AppClient) -> None:
    assert ids(await rows(api, PATH, timebin="nonsense", timebin__gte="2030-01-01T00:00Z")) == set(EVENTS)


@pytest.mark.parametrize("name", ["avglevel", "avglevel__gte", "nbdiscoprobes", "totalprobes__lte"])
async def test_bad_numbers(api: AppClient, name: str) -> None:
    await assert_bad_number(api, PATH, name)


async def test_ordering(api: AppClient) -> None:
    assert column(await rows(api, PATH, ordering="starttime"), "id") == [1, 2]
    assert column(await rows(api, PATH, ordering="-starttime"), "id") == [2, 1]
    assert column(await rows(api, PATH, ordering="-avglevel"), "id") == [1, 2]
    assert column(await rows(api, PATH, ordering="streamname"), "id") == [1, 2]
    assert column(await rows(api, PATH, ordering="-ongoing,id"), "id") == [2, 1]


@pytest.mark.parametrize("ordering", ["bogus,-id", "-id,discoprobes__x", "-nope,-id"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    assert column(await rows(api, PATH, ordering=ordering), "id") == [2, 1]
