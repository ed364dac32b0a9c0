"""hegemony/countries/: the ASes a country depends on (specs/ihr-api.md §1b, §7 request 4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import (
    RANGE,
    column,
    iso,
    one_of,
    page,
    rows,
    span,
)
from tests.support.app import AppClient

PATH = "hegemony/countries/"
FIELDS = ["timebin", "country", "asn", "hege", "af", "asn_name", "weight", "weightscheme", "transitonly"]
ONE_OF = one_of("country", "asn")
# As data.load writes ihr_hegemony_country (country JP, af 4, weight 0.5):
# (timebin, hege, weightscheme, transitonly, asn).
FIXED = [(t, 0.5, "as", False, 2497) for t in data.BINS[::16]] + [
    (t, 0.25, "eyeball", True, 174) for t in data.BINS[::16]
]
RECENT = (data.RECENT[0], 0.125, "as", False, 2497)
TRANSIT = [key for key in FIXED if key[3]]
NOT_TRANSIT = [key for key in FIXED if not key[3]]


def row_for(key: tuple[Any, ...]) -> dict[str, Any]:
    timebin, hege, scheme, transit, asn = key
    return {
        "timebin": iso(timebin),
        "country": "JP",
        "asn": asn,
        "hege": hege,
        "af": 4,
        "asn_name": data.ASNS[asn],
        "weight": 0.5,
        "weightscheme": scheme,
        "transitonly": transit,
    }


def keys(found: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {(row["timebin"], row["asn"]) for row in found}


def expected(selected: list[tuple[Any, ...]]) -> set[tuple[str, int]]:
    return {(iso(key[0]), key[4]) for key in selected}


async def test_fields_and_known_rows(api: AppClient) -> None:
    answer = await page(api, PATH, country="JP", timebin=iso(data.BINS[0]), ordering="asn")
    assert '"weight":0.5' in answer.text
    found = answer.json()["results"]
    assert [list(row) for row in found] == [FIELDS] * 2
    at_first_bin = [key for key in FIXED if key[0] == data.BINS[0]]
    assert found == [row_for(key) for key in sorted(at_first_bin, key=lambda key: key[4])]


async def test_representative_request_4(api: AppClient) -> None:
    found = await rows(api, PATH, country="JP", af=4, **RANGE)
    assert sorted(found, key=lambda row: (row["timebin"], row["asn"])) == [
        row_for(key) for key in sorted(FIXED, key=lambda key: (key[0], key[4]))
    ]


async def test_country_list(api: AppClient) -> None:
    assert keys(await rows(api, PATH, **RANGE, country="JP,FR")) == expected(FIXED)
    assert keys(await rows(api, PATH, **RANGE, country="JP,,")) == expected(FIXED)
    assert await rows(api, PATH, **RANGE, country="FR") == []
    assert await rows(api, PATH, **RANGE, country="jp") == []
    assert await rows(api, PATH, **RANGE, country="J") == []


async def test_asn_list(api: AppClient) -> None:
    assert keys(await rows(api, PATH, **RANGE, asn=174)) == expected([k for k in FIXED if k[4] == 174])
    assert keys(await rows(api, PATH, **RANGE, asn="174,2497")) == expected(FIXED)
    assert await rows(api, PATH, **RANGE, asn=1299) == []


async def test_empty_one_of_value_counts_as_present(api: AppClient) -> None:
    assert keys(await rows(api, PATH, **RANGE, country="")) == expected(FIXED)
    assert keys(await rows(api, PATH, **RANGE, asn="")) == expected(FIXED)


async def test_hege_exact_gte_lte(api: AppClient) -> None:
    assert keys(await rows(api, PATH, **RANGE, country="JP", hege=0.5)) == expected(
        [k for k in FIXED if k[1] == 0.5]
    )
    assert keys(await rows(api, PATH, **RANGE, country="JP", hege__gte=0.3)) == expected(
        [k for k in FIXED if k[1] >= 0.3]
    )
    assert keys(await rows(api, PATH, **RANGE, country="JP", hege__lte=0.25)) == expected(
        [k for k in FIXED if k[1] <= 0.25]
    )


async def test_af(api: AppClient) -> None:
    assert keys(await rows(api, PATH, **RANGE, country="JP", af=4)) == expected(FIXED)
    assert await rows(api, PATH, **RANGE, country="JP", af=6) == []


async def test_weightscheme_exact(api: AppClient) -> None:
    for scheme in ("as", "eyeball"):
        found = await rows(api, PATH, **RANGE, country="JP", weightscheme=scheme)
        assert keys(found) == expected([k for k in FIXED if k[2] == scheme])
    assert await rows(api, PATH, **RANGE, country="JP", weightscheme="AS") == []
    assert await rows(api, PATH, **RANGE, country="JP", weightscheme="eye") == []


@pytest.mark.parametrize("value", ["true", "True", "2"])
async def test_transitonly_true(api: AppClient, value: str) -> None:
    assert keys(await rows(api, PATH, **RANGE, country="JP", transitonly=value)) == expected(TRANSIT)


@pytest.mark.parametrize("value", ["false", "False", "3"])
async def test_transitonly_false(api: AppClient, value: str) -> None:
    assert keys(await rows(api, PATH, **RANGE, country="JP", transitonly=value)) == expected(NOT_TRANSIT)


@pytest.mark.parametrize("value", ["1", "0", "", "yes", "TRUE", "' OR 1=1--"])
async def test_transitonly_other_values_do_not_filter(api: AppClient, value: str) -> None:
    assert keys(await rows(api, PATH, **RANGE, country="JP", transitonly=value)) == expected(FIXED)


async def test_timebin(api: AppClient) -> None:
    at = data.BINS[16]
    assert keys(await rows(api, PATH, country="JP", timebin=iso(at))) == expected(
        [k for k in FIXED if k[0] == at]
    )
    assert await rows(api, PATH, country="JP", timebin=iso(data.BINS[1])) == []


async def test_default_window_without_timebin(api: AppClient) -> None:
    assert await rows(api, PATH, country="JP") == [row_for(RECENT)]
    assert await rows(api, PATH, asn=2497) == [row_for(RECENT)]
    assert await rows(api, PATH, asn=174) == []


async def test_the_longest_range(api: AppClient) -> None:
    assert keys(await rows(api, PATH, country="JP", **span(31, 23))) == expected(FIXED)


async def test_ordering(api: AppClient) -> None:
    at = {"country": "JP", "timebin": iso(data.BINS[0])}
    assert column(await rows(api, PATH, **at, ordering="-hege"), "asn") == [2497, 174]
    assert column(await rows(api, PATH, **at, ordering="hege"), "asn") == [174, 2497]
    assert column(await rows(api, PATH, **at, ordering="asn__name"), "asn") == sorted(
        (174, 2497), key=data.ASNS.__getitem__
    )
    assert column(await rows(api, PATH, **at, ordering="-weightscheme"), "weightscheme") == ["eyeball", "as"]
    times = column(await rows(api, PATH, **RANGE, asn=174, ordering="-timebin"), "timebin")
    assert times == sorted((iso(k[0]) for k in FIXED if k[4] == 174), reverse=True)


@pytest.mark.parametrize("ordering", ["bogus,-asn", "-asn,asn_name", "-nope,-asn"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    found = await rows(api, PATH, country="JP", timebin=iso(data.BINS[0]), ordering=ordering)
    assert column(found, "asn") == [2497, 174]
