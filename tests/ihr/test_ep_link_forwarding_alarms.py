"""link/forwarding/alarms/: forwarding alarms (specs/ihr-api.md §1b)."""

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

PATH = "link/forwarding/alarms/"
FIELDS = [
    "asn",
    "asn_name",
    "timebin",
    "ip",
    "correlation",
    "pktdiff",
    "previoushop",
    "responsibility",
    "msm_prb_ids",
    "msmid",
]
# The one alarm data.load writes in ihr_forwarding_alarms: no msm_prb_ids, no measurements.
ALARM = {
    "asn": 174,
    "asn_name": data.ASNS[174],
    "timebin": iso(data.BINS[4]),
    "ip": "198.51.100.1",
    "correlation": 0.25,
    "pktdiff": 3.0,
    "previoushop": "198.51.100.254",
    "responsibility": 0.5,
    "msm_prb_ids": None,
    "msmid": [],
}


async def found(api: AppClient, **params: Any) -> bool:
    """Whether the alarm is returned (the only row); asserts nothing else comes back."""
    result = await rows(api, PATH, **{**RANGE, **params})
    assert result in ([], [ALARM])
    return result == [ALARM]


async def test_fields_and_the_known_row(api: AppClient) -> None:
    answer = await page(api, PATH, **RANGE)
    assert '"pktdiff":3.0' in answer.text
    assert '"msm_prb_ids":null' in answer.text
    (row,) = answer.json()["results"]
    assert list(row) == FIELDS
    assert row == ALARM


async def test_asn_list(api: AppClient) -> None:
    assert await found(api, asn=174)
    assert await found(api, asn="174,2497")
    assert not await found(api, asn="2497,1299")


async def test_timebin(api: AppClient) -> None:
    assert await found(api, timebin=iso(data.BINS[4]))
    assert not await found(api, timebin=iso(data.BINS[3]))
    assert await found(api, timebin__gte=iso(data.BINS[4]), timebin__lte=iso(data.BINS[4]))
    assert not await found(api, timebin__gte=iso(data.BINS[5]), timebin__lte=iso(data.BINS[10]))


@pytest.mark.parametrize(("name", "value"), [("correlation", 0.25), ("responsibility", 0.5)])
async def test_float_filters_exact_gte_lte(api: AppClient, name: str, value: float) -> None:
    assert await found(api, **{name: value})
    assert not await found(api, **{name: value + 0.125})
    assert await found(api, **{f"{name}__gte": value})
    assert not await found(api, **{f"{name}__gte": value + 0.125})
    assert await found(api, **{f"{name}__lte": value})
    assert not await found(api, **{f"{name}__lte": value - 0.125})


async def test_pktdiff_is_not_a_filter(api: AppClient) -> None:
    assert await found(api, pktdiff=99, pktdiff__gte=99)


async def test_ip_exact_and_contains(api: AppClient) -> None:
    assert await found(api, ip="198.51.100.1")
    assert not await found(api, ip="198.51.100")
    assert await found(api, ip__contains="51.100")
    assert not await found(api, ip__contains="51.101")


async def test_previoushop_exact_and_contains(api: AppClient) -> None:
    assert await found(api, previoushop="198.51.100.254")
    assert not await found(api, previoushop="198.51.100.1")
    assert await found(api, previoushop__contains=".254")
    assert not await found(api, previoushop__contains=".253")


async def test_the_longest_range(api: AppClient) -> None:
    assert await rows(api, PATH, **span(7, 23)) == [ALARM]
