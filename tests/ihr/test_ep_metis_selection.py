"""metis/atlas/selection/: ASes ranked for RIPE Atlas probe selection (spec §1b, §7 req. 10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import (
    RANGE,
    assert_bad_number,
    assert_date_only,
    assert_half_range,
    assert_hostile,
    assert_range_limit,
    assert_unparseable,
    column,
    get,
    iso,
    page,
    rows,
)
from tests.support.app import AppClient

PATH = "metis/atlas/selection/"
FIELDS = ["timebin", "metric", "rank", "asn", "af", "asn_name"]
KIND = "selection"
# As data.load writes ihr_metis_atlas_selection (af 4): one recent bin and the first fixed bin, two
# metrics, three ranked ASes; deployment rows also count samples from 100 up, in that order.
METIS = [
    (t, metric, rank, asn)
    for t in (data.RECENT[0], data.BINS[0])
    for metric in ("as_path_length", "rtt")
    for rank, asn in enumerate((2497, 174, 1299))
]


def row_for(index: int) -> dict[str, Any]:
    timebin, metric, rank, asn = METIS[index]
    row: dict[str, Any] = {"timebin": iso(timebin), "metric": metric, "rank": rank, "asn": asn, "af": 4}
    if KIND == "deployment":
        row["nbsamples"] = 100 + index
    row["asn_name"] = data.ASNS[asn]
    return row


def keys(found: list[dict[str, Any]]) -> set[tuple[str, str, int, int]]:
    return {(row["timebin"], row["metric"], row["rank"], row["asn"]) for row in found}


def where(test: Any) -> set[tuple[str, str, int, int]]:
    return {(iso(t), metric, rank, asn) for t, metric, rank, asn in METIS if test(t, metric, rank, asn)}


def fixed(t: dt.datetime, *_: Any) -> bool:
    return t == data.BINS[0]


def recent(t: dt.datetime, *_: Any) -> bool:
    return t == data.RECENT[0]


async def test_fields_and_known_rows(api: AppClient) -> None:
    answer = await page(api, PATH, **RANGE, metric="rtt", ordering="rank")
    found = answer.json()["results"]
    assert [list(row) for row in found] == [FIELDS] * 3
    assert found == [row_for(i) for i, values in enumerate(METIS) if fixed(*values) and values[1] == "rtt"]


async def test_representative_request_10_default_window(api: AppClient) -> None:
    found = await rows(api, PATH, metric="as_path_length", af=4, rank__lte=10, ordering="timebin")
    # One timebin: the order among its rows is not specified.
    assert sorted(found, key=lambda row: row["rank"]) == [
        row_for(i) for i, v in enumerate(METIS) if recent(*v) and v[1] == "as_path_length"
    ]
    assert keys(found) == where(lambda t, metric, *_: recent(t) and metric == "as_path_length")


async def test_default_window_without_timebin(api: AppClient) -> None:
    assert keys(await rows(api, PATH)) == where(recent)
    assert keys(await rows(api, PATH, rank=0)) == where(lambda t, m, rank, a: recent(t) and rank == 0)


async def test_whole_range(api: AppClient) -> None:
    assert keys(await rows(api, PATH, **RANGE)) == where(fixed)


async def test_timebin(api: AppClient) -> None:
    assert keys(await rows(api, PATH, timebin=iso(data.BINS[0]))) == where(fixed)
    assert keys(await rows(api, PATH, timebin=iso(data.RECENT[0]))) == where(recent)
    assert await rows(api, PATH, timebin=iso(data.BINS[1])) == []


async def test_rank_exact_gte_lte(api: AppClient) -> None:
    assert keys(await rows(api, PATH, **RANGE, rank=0)) == where(lambda t, m, rank, a: fixed(t) and rank == 0)
    assert keys(await rows(api, PATH, **RANGE, rank__gte=1)) == where(
        lambda t, m, rank, a: fixed(t) and rank >= 1
    )
    assert keys(await rows(api, PATH, **RANGE, rank__lte=1)) == where(
        lambda t, m, rank, a: fixed(t) and rank <= 1
    )
    assert await rows(api, PATH, **RANGE, rank=0.5) == []


async def test_metric_exact(api: AppClient) -> None:
    for metric in ("as_path_length", "rtt"):
        assert keys(await rows(api, PATH, **RANGE, metric=metric)) == where(
            lambda t, m, *_, wanted=metric: fixed(t) and m == wanted
        )
    assert await rows(api, PATH, **RANGE, metric="RTT") == []
    assert await rows(api, PATH, **RANGE, metric="ip_hops") == []
    assert await rows(api, PATH, **RANGE, metric="as_path") == []


async def test_af(api: AppClient) -> None:
    assert keys(await rows(api, PATH, **RANGE, af=4)) == where(fixed)
    assert await rows(api, PATH, **RANGE, af=6) == []


async def test_half_range(api: AppClient) -> None:
    await assert_half_range(api, PATH)


async def test_range_of_thirty_one_days(api: AppClient) -> None:
    assert keys(await assert_range_limit(api, PATH, 31)) == where(fixed)


async def test_unparseable_timebin(api: AppClient) -> None:
    await assert_unparseable(api, PATH)


async def test_date_only_bound(api: AppClient) -> None:
    await assert_date_only(api, PATH)


@pytest.mark.parametrize("name", ["af", "rank", "rank__gte", "rank__lte"])
async def test_bad_numbers(api: AppClient, name: str) -> None:
    await assert_bad_number(api, PATH, name, **RANGE)


async def test_ordering(api: AppClient) -> None:
    ranks = sorted(v[2] for v in METIS if fixed(*v) and v[1] == "rtt")
    assert column(await rows(api, PATH, **RANGE, metric="rtt", ordering="rank"), "rank") == ranks
    assert column(await rows(api, PATH, **RANGE, metric="rtt", ordering="-rank"), "rank") == ranks[::-1]
    by_name = sorted((v[3] for v in METIS if fixed(*v) and v[1] == "rtt"), key=data.ASNS.__getitem__)
    assert column(await rows(api, PATH, **RANGE, metric="rtt", ordering="asn__name"), "asn") == by_name
    assert (
        column(await rows(api, PATH, ordering="-metric,rank"), "metric")
        == ["rtt"] * 3 + ["as_path_length"] * 3
    )


@pytest.mark.parametrize("ordering", ["bogus,-rank", "-rank,asn_name", "mean,-rank"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    found = await rows(api, PATH, **RANGE, metric="rtt", ordering=ordering)
    assert column(found, "rank") == sorted((v[2] for v in METIS if fixed(*v) and v[1] == "rtt"), reverse=True)


async def test_hostile_values(api: AppClient) -> None:
    await assert_hostile(api, PATH, "metric")
    await assert_hostile(api, PATH, "metric", **RANGE)
    await assert_hostile(api, PATH, "rank", **RANGE)
    await assert_hostile(api, PATH, "timebin")


async def test_cache_control(api: AppClient) -> None:
    answer = await get(api, PATH, **RANGE)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "max-age=15552000"
    answer = await get(api, PATH)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "max-age=1800"
