"""countries/: country codes and names (specs/ihr-api.md §1b)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import RANGE, column, page, rows
from tests.support.app import AppClient

PATH = "countries/"
FIELDS = ["code", "name"]


def codes(found: list[dict[str, Any]]) -> set[str]:
    return set(column(found, "code"))


async def test_fields_and_a_known_row(api: AppClient) -> None:
    answer = await page(api, PATH, code="JP")
    assert answer.text.endswith('"results":[{"code":"JP","name":"Japan"}]}')
    (row,) = answer.json()["results"]
    assert list(row) == FIELDS
    assert row == {"code": "JP", "name": data.COUNTRIES["JP"]}


async def test_no_filter_lists_every_country(api: AppClient) -> None:
    found = await rows(api, PATH)
    assert sorted((row["code"], row["name"]) for row in found) == sorted(data.COUNTRIES.items())
    assert all(list(row) == FIELDS for row in found)


async def test_name_icontains(api: AppClient) -> None:
    assert codes(await rows(api, PATH, name="an")) == {
        c for c, n in data.COUNTRIES.items() if "an" in n.lower()
    }
    assert codes(await rows(api, PATH, name="JAPAN")) == {"JP"}
    assert codes(await rows(api, PATH, name="states")) == {"US"}
    assert await rows(api, PATH, name="Atlantis") == []


async def test_code_exact(api: AppClient) -> None:
    assert codes(await rows(api, PATH, code="FR")) == {"FR"}
    # Exact: neither case-insensitive nor a substring nor a list.
    assert await rows(api, PATH, code="fr") == []
    assert await rows(api, PATH, code="F") == []
    assert await rows(api, PATH, code="JP,FR") == []
    assert codes(await rows(api, PATH, code="")) == set(data.COUNTRIES)


async def test_filters_combine(api: AppClient) -> None:
    assert codes(await rows(api, PATH, code="JP", name="pan")) == {"JP"}
    assert await rows(api, PATH, code="JP", name="France") == []


async def test_no_timebin_rule_and_unknown_params_ignored(api: AppClient) -> None:
    assert codes(await rows(api, PATH, timebin__gte="2024-05-01")) == set(data.COUNTRIES)
    assert codes(await rows(api, PATH, **RANGE, af="x", format="json")) == set(data.COUNTRIES)


async def test_ordering(api: AppClient) -> None:
    by_name = [code for code, _ in sorted(data.COUNTRIES.items(), key=lambda item: item[1])]
    assert column(await rows(api, PATH, ordering="name"), "code") == by_name
    assert column(await rows(api, PATH, ordering="-name"), "code") == by_name[::-1]
    assert column(await rows(api, PATH, ordering="-code"), "code") == sorted(data.COUNTRIES, reverse=True)


@pytest.mark.parametrize("ordering", ["bogus,-code", "-code,tartiflette__x", "-nope,-code"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    assert column(await rows(api, PATH, ordering=ordering), "code") == sorted(data.COUNTRIES, reverse=True)
