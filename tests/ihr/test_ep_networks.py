"""networks/: ASes and IXPs with their search (specs/ihr-api.md §1b, §7 request 9)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import (
    column,
    page,
    rows,
)
from tests.support.app import AppClient

PATH = "networks/"
FIELDS = ["number", "name", "hegemony", "delay_forwarding", "disco"]


def flags(number: int) -> dict[str, bool]:
    """The flags data.load gives a network (ihr_asn columns tartiflette, disco, ashash)."""
    return {"hegemony": True, "delay_forwarding": True, "disco": number != 0}


def numbers(found: list[dict[str, Any]]) -> set[int]:
    return set(column(found, "number"))


def matching(text: str) -> set[int]:
    """Networks whose number (as text) contains `text` or whose name contains it, ignoring case."""
    return {n for n, name in data.ASNS.items() if text in str(n) or text.lower() in name.lower()}


async def test_fields_and_known_rows(api: AppClient) -> None:
    answer = await page(api, PATH, number=2497)
    (row,) = answer.json()["results"]
    assert list(row) == FIELDS
    assert row == {
        "number": 2497,
        "name": data.ASNS[2497],
        "hegemony": True,
        "delay_forwarding": True,
        "disco": True,
    }
    (global_graph,) = await rows(api, PATH, number=0)
    assert global_graph == {"number": 0, "name": data.ASNS[0], **flags(0)}
    assert global_graph["disco"] is False
    # A name holding quotes comes back intact.
    (ixp,) = await rows(api, PATH, number=-1)
    assert ixp["name"] == data.ASNS[-1]


async def test_no_filter_lists_every_network(api: AppClient) -> None:
    found = await rows(api, PATH)
    assert len(found) == len(data.ASNS)
    assert numbers(found) == set(data.ASNS)
    assert all(list(row) == FIELDS for row in found)
    by_number = sorted(found, key=lambda row: row["number"])
    assert by_number == [{"number": n, "name": data.ASNS[n], **flags(n)} for n in sorted(data.ASNS)]


async def test_name_icontains(api: AppClient) -> None:
    assert numbers(await rows(api, PATH, name="us")) == {
        n for n, name in data.ASNS.items() if "us" in name.lower()
    }
    assert numbers(await rows(api, PATH, name="iij")) == {2497}
    assert numbers(await rows(api, PATH, name="GOOGLE, US")) == {15169}
    assert await rows(api, PATH, name="no such network") == []


async def test_number_list(api: AppClient) -> None:
    assert numbers(await rows(api, PATH, number="174,1299")) == {174, 1299}
    assert numbers(await rows(api, PATH, number=",174,,1299,")) == {174, 1299}
    assert numbers(await rows(api, PATH, number="-1,0,99999")) == {-1, 0}
    assert numbers(await rows(api, PATH, number="")) == set(data.ASNS)


async def test_number_gte_lte(api: AppClient) -> None:
    assert numbers(await rows(api, PATH, number__gte=1299)) == {n for n in data.ASNS if n >= 1299}
    assert numbers(await rows(api, PATH, number__lte=0)) == {n for n in data.ASNS if n <= 0}
    assert numbers(await rows(api, PATH, number__gte=174, number__lte=2497)) == {
        n for n in data.ASNS if 174 <= n <= 2497
    }


async def test_ixps_have_negative_numbers(api: AppClient) -> None:
    found = await rows(api, PATH, number__lte=-1)
    assert column(found, "number") == [n for n in data.ASNS if n < 0]


async def test_representative_request_9_search_as_number(api: AppClient) -> None:
    found = await rows(api, PATH, search="AS2497", ordering="number")
    assert column(found, "number") == sorted(matching("2497"))
    assert column(found, "number") == [2497]


async def test_search_strips_as_and_ix_prefixes_before_digits(api: AppClient) -> None:
    assert numbers(await rows(api, PATH, search="2497")) == {2497}
    assert numbers(await rows(api, PATH, search="IX1")) == matching("1")
    assert numbers(await rows(api, PATH, search="AS99")) == matching("99")
    # The prefix check is case-sensitive: `as2497` is searched as it is.
    assert await rows(api, PATH, search="as2497") == []
    assert await rows(api, PATH, search="ix2497") == []


async def test_search_strips_a_prefix_before_a_negative_ixp_number(api: AppClient) -> None:
    # Legacy NetworkFilter.asn_or_number strips "AS"/"IX" when int(value[2:]) succeeds: "-1" does.
    assert numbers(await rows(api, PATH, search="IX-1")) == matching("-1")


async def test_search_without_digits_is_a_name_search(api: AppClient) -> None:
    # `AS` alone is not followed by a number: it is kept and matched in names.
    assert numbers(await rows(api, PATH, search="AS")) == matching("AS")
    assert numbers(await rows(api, PATH, search="google")) == {15169}
    assert numbers(await rows(api, PATH, search="Frankfurt")) == {-1}
    assert numbers(await rows(api, PATH, search="ASAndrews")) == set()


async def test_search_matches_numbers_and_names_together(api: AppClient) -> None:
    # "174" is in AS174's number and in its name; "99" in AS1299's number and its name (TWELVE99).
    assert numbers(await rows(api, PATH, search="174")) == matching("174")
    assert numbers(await rows(api, PATH, search="99")) == matching("99")


async def test_search_combines_with_other_filters(api: AppClient) -> None:
    assert numbers(await rows(api, PATH, search="1", number__gte=1000)) == {
        n for n in matching("1") if n >= 1000
    }


async def test_ordering(api: AppClient) -> None:
    assert column(await rows(api, PATH, ordering="number"), "number") == sorted(data.ASNS)
    assert column(await rows(api, PATH, ordering="-number"), "number") == sorted(data.ASNS, reverse=True)
    assert column(await rows(api, PATH, ordering="name"), "name") == sorted(data.ASNS.values())


async def test_ordering_by_a_boolean_then_a_number(api: AppClient) -> None:
    found = await rows(api, PATH, ordering="-disco,number")
    assert column(found, "number") == sorted(data.ASNS, key=lambda n: (not flags(n)["disco"], n))
    found = await rows(api, PATH, ordering="disco,-number")
    assert column(found, "number") == sorted(data.ASNS, key=lambda n: (flags(n)["disco"], -n))


@pytest.mark.parametrize("ordering", ["bogus,-number", "-number,nope", "number__x,-number"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    assert column(await rows(api, PATH, ordering=ordering), "number") == sorted(data.ASNS, reverse=True)
