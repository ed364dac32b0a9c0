"""metis/atlas/selection/ and deployment/: ASes ranked for RIPE Atlas probes (spec §1b, §7 req. 10).

The two endpoints behave alike (deployment adds `nbsamples`); every test runs against both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from tests.ihr import data
from tests.ihr.helpers import (
    RANGE,
    column,
    iso,
    page,
    rows,
    span,
)
from tests.support.app import AppClient


@dataclass(frozen=True)
class Metis:
    path: str
    kind: str
    fields: list[str]


SELECTION = Metis(
    "metis/atlas/selection/", "selection", ["timebin", "metric", "rank", "asn", "af", "asn_name"]
)
DEPLOYMENT = Metis(
    "metis/atlas/deployment/",
    "deployment",
    ["timebin", "metric", "rank", "asn", "af", "nbsamples", "asn_name"],
)


@pytest.fixture(params=[SELECTION, DEPLOYMENT], ids=["selection", "deployment"])
def ep(request: pytest.FixtureRequest) -> Metis:
    return request.param  # type: ignore[no-any-return]


# As data.load writes ihr_metis_atlas_deployment (af 4): one recent bin and the first fixed bin, two
# metrics, three ranked ASes; deployment rows also count samples from 100 up, in that order.
METIS = [
    (t, metric, rank, asn)
    for t in (data.RECENT[0], data.BINS[0])
    for metric in ("as_path_length", "rtt")
    for rank, asn in enumerate((2497, 174, 1299))
]


def row_for(ep: Metis, index: int) -> dict[str, Any]:
    timebin, metric, rank, asn = METIS[index]
    row: dict[str, Any] = {"timebin": iso(timebin), "metric": metric, "rank": rank, "asn": asn, "af": 4}
    if ep.kind == "deployment":
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


async def test_fields_and_known_rows(api: AppClient, ep: Metis) -> None:
    answer = await page(api, ep.path, **RANGE, metric="rtt", ordering="rank")
    found = answer.json()["results"]
    assert [list(row) for row in found] == [ep.fields] * 3
    assert found == [
        row_for(ep, i) for i, values in enumerate(METIS) if fixed(*values) and values[1] == "rtt"
    ]


async def test_representative_request_10_default_window(api: AppClient, ep: Metis) -> None:
    found = await rows(api, ep.path, metric="as_path_length", af=4, rank__lte=10, ordering="timebin")
    # One timebin: the order among its rows is not specified.
    assert sorted(found, key=lambda row: row["rank"]) == [
        row_for(ep, i) for i, v in enumerate(METIS) if recent(*v) and v[1] == "as_path_length"
    ]
    assert keys(found) == where(lambda t, metric, *_: recent(t) and metric == "as_path_length")


async def test_default_window_without_timebin(api: AppClient, ep: Metis) -> None:
    assert keys(await rows(api, ep.path)) == where(recent)
    assert keys(await rows(api, ep.path, rank=0)) == where(lambda t, m, rank, a: recent(t) and rank == 0)


async def test_whole_range(api: AppClient, ep: Metis) -> None:
    assert keys(await rows(api, ep.path, **RANGE)) == where(fixed)


async def test_timebin(api: AppClient, ep: Metis) -> None:
    assert keys(await rows(api, ep.path, timebin=iso(data.BINS[0]))) == where(fixed)
    assert keys(await rows(api, ep.path, timebin=iso(data.RECENT[0]))) == where(recent)
    assert await rows(api, ep.path, timebin=iso(data.BINS[1])) == []


async def test_rank_exact_gte_lte(api: AppClient, ep: Metis) -> None:
    assert keys(await rows(api, ep.path, **RANGE, rank=0)) == where(
        lambda t, m, rank, a: fixed(t) and rank == 0
    )
    assert keys(await rows(api, ep.path, **RANGE, rank__gte=1)) == where(
        lambda t, m, rank, a: fixed(t) and rank >= 1
    )
    assert keys(await rows(api, ep.path, **RANGE, rank__lte=1)) == where(
        lambda t, m, rank, a: fixed(t) and rank <= 1
    )
    assert await rows(api, ep.path, **RANGE, rank=0.5) == []


async def test_metric_exact(api: AppClient, ep: Metis) -> None:
    for metric in ("as_path_length", "rtt"):
        assert keys(await rows(api, ep.path, **RANGE, metric=metric)) == where(
            lambda t, m, *_, wanted=metric: fixed(t) and m == wanted
        )
    assert await rows(api, ep.path, **RANGE, metric="RTT") == []
    assert await rows(api, ep.path, **RANGE, metric="ip_hops") == []
    assert await rows(api, ep.path, **RANGE, metric="as_path") == []


async def test_af(api: AppClient, ep: Metis) -> None:
    assert keys(await rows(api, ep.path, **RANGE, af=4)) == where(fixed)
    assert await rows(api, ep.path, **RANGE, af=6) == []


async def test_the_longest_range(api: AppClient, ep: Metis) -> None:
    assert keys(await rows(api, ep.path, **span(31, 23))) == where(fixed)


async def test_ordering(api: AppClient, ep: Metis) -> None:
    ranks = sorted(v[2] for v in METIS if fixed(*v) and v[1] == "rtt")
    assert column(await rows(api, ep.path, **RANGE, metric="rtt", ordering="rank"), "rank") == ranks
    assert column(await rows(api, ep.path, **RANGE, metric="rtt", ordering="-rank"), "rank") == ranks[::-1]
    by_name = sorted((v[3] for v in METIS if fixed(*v) and v[1] == "rtt"), key=data.ASNS.__getitem__)
    assert column(await rows(api, ep.path, **RANGE, metric="rtt", ordering="asn__name"), "asn") == by_name
    assert (
        column(await rows(api, ep.path, ordering="-metric,rank"), "metric")
        == ["rtt"] * 3 + ["as_path_length"] * 3
    )


async def test_nbsamples_ordering_and_not_a_filter(api: AppClient) -> None:
    found = await rows(api, DEPLOYMENT.path, **RANGE, ordering="-nbsamples")
    assert column(found, "nbsamples") == sorted(
        (100 + i for i, v in enumerate(METIS) if fixed(*v)), reverse=True
    )
    assert keys(await rows(api, DEPLOYMENT.path, **RANGE, nbsamples=1)) == where(fixed)


@pytest.mark.parametrize("ordering", ["bogus,-rank", "-rank,asn_name", "mean,-rank"])
async def test_invalid_ordering_terms_are_ignored(api: AppClient, ordering: str) -> None:
    found = await rows(api, DEPLOYMENT.path, **RANGE, metric="rtt", ordering=ordering)
    assert column(found, "rank") == sorted((v[2] for v in METIS if fixed(*v) and v[1] == "rtt"), reverse=True)
