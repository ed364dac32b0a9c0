"""hegemony/prefixes/: prefix hegemony with RPKI, IRR and delegation statuses (spec §1b, §7 request 5)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import (
    RANGE,
    column,
    error,
    iso,
    one_of,
    page,
    rows,
    span,
)
from tests.support.app import AppClient

PATH = "hegemony/prefixes/"
FIELDS = [
    "timebin",
    "prefix",
    "originasn",
    "country",
    "asn",
    "hege",
    "af",
    "visibility",
    "rpki_status",
    "irr_status",
    "delegated_prefix_status",
    "delegated_asn_status",
    "descr",
    "moas",
    "originasn_name",
    "asn_name",
]
ONE_OF = one_of(
    "prefix",
    "originasn",
    "country",
    "rpki_status",
    "irr_status",
    "delegated_prefix_status",
    "delegated_asn_status",
)
# As data.load writes ihr_hegemony_prefix: all at the first bin, af 4, visibility 100.0, descr TEST-NET.
PREFIXES = data.PREFIXES
ALL = {"country": "JP,US"}  # a one-of parameter selecting every row


def row_for(index: int) -> dict[str, Any]:
    prefix, origin, country, asn, hege, rpki, irr, dp, da, moas = PREFIXES[index]
    return {
        "timebin": iso(data.BINS[0]),
        "prefix": prefix,
        "originasn": origin,
        "country": country,
        "asn": asn,
        "hege": hege,
        "af": 4,
        "visibility": 100.0,
        "rpki_status": rpki,
        "irr_status": irr,
        "delegated_prefix_status": dp,
        "delegated_asn_status": da,
        "descr": "TEST-NET",
        "moas": moas,
        "originasn_name": data.ASNS[origin],
        "asn_name": data.ASNS[asn],
    }


def prefixes(found: list[dict[str, Any]]) -> set[str]:
    return set(column(found, "prefix"))


def where(test: Any) -> set[str]:
    return {values[0] for values in PREFIXES if test(*values)}


async def test_fields_and_known_rows(api: AppClient) -> None:
    answer = await page(api, PATH, **ALL, **RANGE, ordering="prefix")
    assert '"visibility":100.0' in answer.text
    assert '"hege":1.0' in answer.text
    found = answer.json()["results"]
    assert [list(row) for row in found] == [FIELDS] * len(PREFIXES)
    assert found == [row_for(i) for i in range(len(PREFIXES))]


async def test_representative_request_5(api: AppClient) -> None:
    bounds = {"timebin__gte": "2024-05-01T00:00Z", "timebin__lte": "2024-05-02T00:00Z"}
    found = await rows(api, PATH, country="JP", rpki_status="Invalid", **bounds)
    assert found == [row_for(1)]


async def test_prefix_list(api: AppClient) -> None:
    assert prefixes(await rows(api, PATH, **RANGE, prefix="192.0.2.0/24,203.0.113.0/24")) == {
        "192.0.2.0/24",
        "203.0.113.0/24",
    }
    assert prefixes(await rows(api, PATH, **RANGE, prefix="192.0.2.0/24,,")) == {"192.0.2.0/24"}
    # Exact prefixes, no containment.
    assert await rows(api, PATH, **RANGE, prefix="192.0.2.0/25") == []
    assert await rows(api, PATH, **RANGE, prefix="192.0.2.0") == []


async def test_originasn_and_asn_lists(api: AppClient) -> None:
    assert prefixes(await rows(api, PATH, **RANGE, originasn=2497)) == where(lambda *v: v[1] == 2497)
    assert prefixes(await rows(api, PATH, **RANGE, originasn="2497,15169")) == where(lambda *v: True)
    assert prefixes(await rows(api, PATH, **RANGE, originasn=2497, asn=174)) == where(lambda *v: v[3] == 174)
    assert prefixes(await rows(api, PATH, **RANGE, **ALL, asn="174,15169")) == where(lambda *v: v[3] != 2497)


async def test_country_list(api: AppClient) -> None:
    assert prefixes(await rows(api, PATH, **RANGE, country="US")) == where(lambda *v: v[2] == "US")
    assert prefixes(await rows(api, PATH, **RANGE, country="JP")) == where(lambda *v: v[2] == "JP")
    assert prefixes(await rows(api, PATH, **RANGE, country="FR,US,")) == where(lambda *v: v[2] == "US")
    assert await rows(api, PATH, **RANGE, country="jp") == []


@pytest.mark.parametrize(
    ("name", "index", "value"),
    [
        ("rpki_status", 5, "Invalid"),
        ("rpki_status", 5, "Valid"),
        ("rpki_status", 5, "more-spec"),
        ("rpki_status", 5, "valid"),
        ("irr_status", 6, "Invalid"),
        ("irr_status", 6, "Not"),
        ("irr_status", 6, "NOTFOUND"),
        ("delegated_prefix_status", 7, "available"),
        ("delegated_prefix_status", 7, "Available"),
        ("delegated_asn_status", 8, "assign"),
        ("delegated_asn_status", 8, "a"),
    ],
)
async def test_statuses_are_case_sensitive_substrings(
    api: AppClient, name: str, index: int, value: str
) -> None:
    found = await rows(api, PATH, **RANGE, **{name: value})
    assert prefixes(found) == where(lambda *v: value in v[index])


async def test_rpki_valid_does_not_match_invalid(api: AppClient) -> None:
    assert prefixes(await rows(api, PATH, **RANGE, rpki_status="Valid")) == {"192.0.2.0/24"}
    assert prefixes(await rows(api, PATH, **RANGE, rpki_status="Invalid")) == {"198.51.100.0/24"}


async def test_hege_exact_gte_lte(api: AppClient) -> None:
    assert prefixes(await rows(api, PATH, **RANGE, **ALL, hege=1.0)) == where(lambda *v: v[4] == 1.0)
    assert prefixes(await rows(api, PATH, **RANGE, **ALL, hege__gte=0.5)) == where(lambda *v: v[4] >= 0.5)
    assert prefixes(await rows(api, PATH, **RANGE, **ALL, hege__lte=0.5)) == where(lambda *v: v[4] <= 0.5)


async def test_af(api: AppClient) -> None:
    assert prefixes(await rows(api, PATH, **RANGE, **ALL, af=4)) == where(lambda *v: True)
    assert await rows(api, PATH, **RANGE, **ALL, af=6) == []


@pytest.mark.parametrize("value", ["true", "True", "1"])
async def test_origin_only_true(api: AppClient, value: str) -> None:
    found = await rows(api, PATH, **RANGE, **ALL, origin_only=value)
    assert prefixes(found) == where(lambda *v: v[1] == v[3])


@pytest.mark.parametrize("value", ["false", "False", "0", "", "yes"])
async def test_origin_only_other_values_do_not_filter(api: AppClient, value: str) -> None:
    assert prefixes(await rows(api, PATH, **RANGE, **ALL, origin_only=value)) == where(lambda *v: True)


async def test_timebin(api: AppClient) -> None:
    assert len(await rows(api, PATH, **ALL, timebin=iso(data.BINS[0]))) == len(PREFIXES)
    assert await rows(api, PATH, **ALL, timebin=iso(data.BINS[1])) == []


@pytest.mark.parametrize(
    ("name", "value", "index"),
    [
        ("prefix", "192.0.2.0/24", 0),
        ("originasn", "2497", 1),
        ("country", "JP", 2),
        ("rpki_status", "NotFound", 5),
        ("irr_status", "Valid", 6),
        ("delegated_prefix_status", "assigned", 7),
        ("delegated_asn_status", "available", 8),
    ],
)
async def test_each_one_of_parameter_is_enough(api: AppClient, name: str, value: str, index: int) -> None:
    found = await rows(api, PATH, **RANGE, **{name: value})
    # The statuses (index 5 and up) are substrings; the others exact values.
    assert prefixes(found) == where(lambda *v: value in v[index] if index >= 5 else str(v[index]) == value)
    assert found


async def test_empty_one_of_value_counts_as_present(api: AppClient) -> None:
    assert prefixes(await rows(api, PATH, **RANGE, delegated_asn_status="")) == where(lambda *v: True)
    assert prefixes(await rows(api, PATH, **RANGE, prefix="", asn=174)) == where(lambda *v: v[3] == 174)


async def test_default_window_without_timebin(api: AppClient) -> None:
    # Every prefix row is from 2024: the window of the last days holds none of them.
    assert await rows(api, PATH, **ALL) == []
    assert await rows(api, PATH, originasn=2497) == []


async def test_the_longest_range(api: AppClient) -> None:
    assert prefixes(await rows(api, PATH, **ALL, **span(3, 23))) == where(lambda *v: True)
    # Not the seven days the legacy docstring claims.
    assert await error(api, PATH, **ALL, **span(7)) == {
        "detail": "The given timebin range is too large. Should be less than 3 days."
    }


async def test_ordering(api: AppClient) -> None:
    by_asn = sorted(PREFIXES, key=lambda v: v[3])
    assert (
        column(await rows(api, PATH, **RANGE, **ALL, ordering="-asn"), "prefix")
        == [v[0] for v in by_asn][::-1]
    )
    assert column(await rows(api, PATH, **RANGE, **ALL, ordering="-prefix"), "prefix") == sorted(
        (v[0] for v in PREFIXES), reverse=True
    )


async def test_ordering_by_related_names(api: AppClient) -> None:
    by_asn_name = [v[0] for v in sorted(PREFIXES, key=lambda v: data.ASNS[v[3]])]
    assert column(await rows(api, PATH, **RANGE, **ALL, ordering="asn__name"), "prefix") == by_asn_name
    by_origin_name = [v[0] for v in sorted(PREFIXES, key=lambda v: (data.ASNS[v[1]], -v[4]))]
    found = await rows(api, PATH, **RANGE, **ALL, ordering="originasn__name,-hege")
    assert column(found, "prefix") == by_origin_name


@pytest.mark.parametrize("ordering", ["bogus,-prefix", "-prefix,asn_name", "-nope,-prefix"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    found = await rows(api, PATH, **RANGE, **ALL, ordering=ordering)
    assert column(found, "prefix") == sorted((v[0] for v in PREFIXES), reverse=True)
