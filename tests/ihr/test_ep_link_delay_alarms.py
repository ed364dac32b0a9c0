"""link/delay/alarms/: link delay alarms with their measurements (specs/ihr-api.md §1b)."""

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

PATH = "link/delay/alarms/"
FIELDS = [
    "asn",
    "asn_name",
    "timebin",
    "link",
    "medianrtt",
    "diffmedian",
    "deviation",
    "nbprobes",
    "msm_prb_ids",
    "msmid",
]
# The one alarm data.load writes in ihr_delay_alarms, with its two ihr_delay_alarms_msms rows.
ALARM = {
    "asn": 2497,
    "asn_name": data.ASNS[2497],
    "timebin": iso(data.BINS[3]),
    "link": "192.0.2.1-192.0.2.2",
    "medianrtt": 20.0,
    "diffmedian": 5.0,
    "deviation": 9.5,
    "nbprobes": 7,
    "msm_prb_ids": {"5001": [11, 12]},
    "msmid": ["5001 11", "5001 12"],
}


async def found(api: AppClient, **params: Any) -> bool:
    """Whether the alarm is returned (the only row); asserts nothing else comes back."""
    result = await rows(api, PATH, **{**RANGE, **params})
    assert result in ([], [ALARM])
    return result == [ALARM]


async def test_fields_and_the_known_row(api: AppClient) -> None:
    answer = await page(api, PATH, **RANGE)
    assert '"medianrtt":20.0' in answer.text
    assert '"msmid":["5001 11","5001 12"]' in answer.text
    (row,) = answer.json()["results"]
    assert list(row) == FIELDS
    assert row == ALARM


async def test_asn_list(api: AppClient) -> None:
    assert await found(api, asn=2497)
    assert await found(api, asn="174,2497")
    assert await found(api, asn=",2497,")
    assert not await found(api, asn=174)


async def test_timebin(api: AppClient) -> None:
    assert await found(api, timebin=iso(data.BINS[3]))
    assert not await found(api, timebin=iso(data.BINS[4]))
    assert await found(api, timebin__gte=iso(data.BINS[3]), timebin__lte=iso(data.BINS[3]))
    assert not await found(api, timebin__gte=iso(data.BINS[4]), timebin__lte=iso(data.BINS[10]))
    assert not await found(api, timebin__gte=iso(data.BINS[0]), timebin__lte=iso(data.BINS[2]))


@pytest.mark.parametrize(("name", "value"), [("deviation", 9.5), ("diffmedian", 5.0), ("medianrtt", 20.0)])
async def test_float_filters_exact_gte_lte(api: AppClient, name: str, value: float) -> None:
    assert await found(api, **{name: value})
    assert not await found(api, **{name: value + 0.5})
    assert await found(api, **{f"{name}__gte": value})
    assert not await found(api, **{f"{name}__gte": value + 0.5})
    assert await found(api, **{f"{name}__lte": value})
    assert not await found(api, **{f"{name}__lte": value - 0.5})


async def test_nbprobes_exact_gte_lte(api: AppClient) -> None:
    assert await found(api, nbprobes=7)
    assert not await found(api, nbprobes=8)
    assert await found(api, nbprobes__gte=7)
    assert not await found(api, nbprobes__gte=8)
    assert await found(api, nbprobes__lte=7)
    assert not await found(api, nbprobes__lte=6)


async def test_link_exact_and_contains(api: AppClient) -> None:
    assert await found(api, link="192.0.2.1-192.0.2.2")
    assert not await found(api, link="192.0.2.1")
    assert await found(api, link__contains="0.2.1-192")
    assert await found(api, link__contains="192.0.2.2")
    assert not await found(api, link__contains="192.0.2.3")
    # `ip` is not a filter here: ignored.
    assert await found(api, ip="203.0.113.1")


async def test_the_longest_range(api: AppClient) -> None:
    assert await rows(api, PATH, **span(7, 23)) == [ALARM]
