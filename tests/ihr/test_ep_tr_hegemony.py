"""tr_hegemony/: traceroute hegemony between identifiers (specs/ihr-api.md §1b)."""

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

PATH = "tr_hegemony/"
FIELDS = [
    "timebin",
    "origin_type",
    "origin_name",
    "origin_af",
    "dependency_type",
    "dependency_name",
    "dependency_af",
    "hege",
    "af",
    "nbsamples",
]
IDENTIFIER = {id_: (name, kind, af) for id_, name, kind, af in data.TR_IDENTIFIERS}
# id: (timebin, hege, af, nbsamples, dependency, origin), as data.load writes ihr_tr_hegemony.
TR = {
    1: (data.RECENT[0], 0.5, 4, 30, 2, 1),
    2: (data.RECENT[1], 0.25, 4, 30, 3, 1),
    3: (data.BINS[0], 0.5, 4, 30, 2, 1),
}


def row_for(number: int) -> dict[str, Any]:
    timebin, hege, af, nbsamples, dependency, origin = TR[number]
    return {
        "timebin": iso(timebin),
        "origin_type": IDENTIFIER[origin][1],
        "origin_name": IDENTIFIER[origin][0],
        "origin_af": IDENTIFIER[origin][2],
        "dependency_type": IDENTIFIER[dependency][1],
        "dependency_name": IDENTIFIER[dependency][0],
        "dependency_af": IDENTIFIER[dependency][2],
        "hege": hege,
        "af": af,
        "nbsamples": nbsamples,
    }


def ids(found: list[dict[str, Any]]) -> list[int]:
    by_time = {iso(values[0]): number for number, values in TR.items()}
    return [by_time[row["timebin"]] for row in found]


async def test_fields_and_a_known_row(api: AppClient) -> None:
    answer = await page(api, PATH, **RANGE)
    assert '"hege":0.5' in answer.text
    (row,) = answer.json()["results"]
    assert list(row) == FIELDS
    assert row == row_for(3)
    assert row["dependency_name"] == "174"


async def test_default_window_without_timebin(api: AppClient) -> None:
    # The legacy view discarded its default window (a bug fixed on purpose): only recent rows.
    found = await rows(api, PATH, ordering="timebin")
    assert found == [row_for(n) for n in sorted(TR) if TR[n][0] >= data.RECENT[0]]
    assert 3 not in ids(found)


async def test_whole_range(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, **RANGE))) == {n for n, v in TR.items() if v[0] in data.BINS}


async def test_name_lists_split_on_bars(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, origin_name="2497"))) == {1, 2}
    assert set(ids(await rows(api, PATH, dependency_name="DE-CIX"))) == {2}
    assert set(ids(await rows(api, PATH, dependency_name="174|DE-CIX"))) == {1, 2}
    assert await rows(api, PATH, dependency_name="174,DE-CIX") == []
    assert await rows(api, PATH, dependency_name="de-cix") == []
    assert await rows(api, PATH, origin_name="174") == []


async def test_types_and_afs(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, origin_type="AS"))) == {1, 2}
    assert set(ids(await rows(api, PATH, dependency_type="IX"))) == {2}
    assert set(ids(await rows(api, PATH, dependency_type="AS"))) == {1}
    assert await rows(api, PATH, dependency_type="IP") == []
    assert await rows(api, PATH, dependency_type="ix") == []
    assert set(ids(await rows(api, PATH, origin_af=4, dependency_af=4))) == {1, 2}
    assert await rows(api, PATH, dependency_af=6) == []
    assert await rows(api, PATH, origin_af=6) == []


async def test_hege_exact_gte_lte_and_af(api: AppClient) -> None:
    assert set(ids(await rows(api, PATH, hege=0.25))) == {2}
    assert set(ids(await rows(api, PATH, hege__gte=0.5))) == {1}
    assert set(ids(await rows(api, PATH, hege__lte=0.5))) == {1, 2}
    assert await rows(api, PATH, hege__lte=0.125) == []
    assert set(ids(await rows(api, PATH, af=4))) == {1, 2}
    assert await rows(api, PATH, af=6) == []


async def test_timebin(api: AppClient) -> None:
    assert ids(await rows(api, PATH, timebin=iso(data.RECENT[1]))) == [2]
    assert ids(await rows(api, PATH, timebin=iso(data.BINS[0]))) == [3]
    recent = {"timebin__gte": iso(data.RECENT[0]), "timebin__lte": iso(data.RECENT[-1])}
    assert set(ids(await rows(api, PATH, **recent))) == {1, 2}


async def test_the_longest_range(api: AppClient) -> None:
    assert ids(await rows(api, PATH, **span(31, 23))) == [3]


async def test_ordering(api: AppClient) -> None:
    assert ids(await rows(api, PATH, ordering="-hege")) == [1, 2]
    assert ids(await rows(api, PATH, ordering="hege")) == [2, 1]
    by_name = sorted((1, 2), key=lambda n: IDENTIFIER[TR[n][4]][0])
    assert ids(await rows(api, PATH, ordering="dependency__name")) == by_name
    assert ids(await rows(api, PATH, ordering="-dependency__name")) == by_name[::-1]
    assert ids(await rows(api, PATH, ordering="-dependency__type")) == sorted(
        (1, 2), key=lambda n: IDENTIFIER[TR[n][4]][1], reverse=True
    )
    assert ids(await rows(api, PATH, ordering="-timebin")) == [2, 1]


@pytest.mark.parametrize("ordering", ["bogus,hege", "hege,dependency_name", "dependency,hege"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    assert ids(await rows(api, PATH, ordering=ordering)) == [2, 1]
