"""network_delay/locations/: the locations network delays are measured between (specs/ihr-api.md §1b)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import RANGE, page, rows
from tests.support.app import AppClient

PATH = "network_delay/locations/"
FIELDS = ["type", "name", "af"]
# (type, name, af) of every location data.load writes.
ALL = [(kind, name, af) for _, name, kind, af in data.LOCATIONS]


def keys(found: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(row["type"], row["name"], row["af"]) for row in found]


async def test_fields_and_a_known_row(api: AppClient) -> None:
    answer = await page(api, PATH, name="amsterdam")
    assert answer.text.endswith('"results":[{"type":"CT","name":"Amsterdam, North Holland, NL","af":4}]}')
    (row,) = answer.json()["results"]
    assert list(row) == FIELDS
    assert row == {"type": "CT", "name": "Amsterdam, North Holland, NL", "af": 4}


async def test_no_filter_lists_every_location(api: AppClient) -> None:
    found = await rows(api, PATH)
    assert sorted(keys(found)) == sorted(ALL)
    assert all(list(row) == FIELDS for row in found)


async def test_name_icontains(api: AppClient) -> None:
    for text in ("york", "NEW YORK", ", n", "2497", "9"):
        expected = sorted(key for key in ALL if text.lower() in key[1].lower())
        assert sorted(keys(await rows(api, PATH, name=text))) == expected, text
    assert await rows(api, PATH, name="Paris") == []


async def test_type_exact(api: AppClient) -> None:
    for kind in ("AS", "CT"):
        assert sorted(keys(await rows(api, PATH, type=kind))) == sorted(key for key in ALL if key[0] == kind)
    assert await rows(api, PATH, type="ct") == []
    assert await rows(api, PATH, type="C") == []
    assert await rows(api, PATH, type="PB") == []


async def test_af(api: AppClient) -> None:
    for af in (4, 6):
        assert sorted(keys(await rows(api, PATH, af=af))) == sorted(key for key in ALL if key[2] == af)
    assert await rows(api, PATH, af=5) == []


async def test_filters_combine(api: AppClient) -> None:
    assert keys(await rows(api, PATH, name="2497", type="AS", af=6)) == [("AS", "2497", 6)]


async def test_no_timebin_rule(api: AppClient) -> None:
    assert sorted(keys(await rows(api, PATH, timebin__gte=RANGE["timebin__gte"]))) == sorted(ALL)


async def test_ordering(api: AppClient) -> None:
    by_name = sorted(ALL, key=lambda key: (key[1], key[2]))
    assert keys(await rows(api, PATH, ordering="name,af")) == by_name
    assert keys(await rows(api, PATH, ordering="-name,-af")) == by_name[::-1]
    by_type_then_af_desc = sorted(sorted(ALL, key=lambda key: (-key[2], key[1])), key=lambda key: key[0])
    assert keys(await rows(api, PATH, ordering="type,-af,name")) == by_type_then_af_desc


@pytest.mark.parametrize("ordering", ["bogus,-name,-af", "-name,nope,-af", "location,-name,-af"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    assert (
        keys(await rows(api, PATH, ordering=ordering)) == sorted(ALL, key=lambda key: (key[1], key[2]))[::-1]
    )
