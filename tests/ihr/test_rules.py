"""The rules every IHR list shares, checked on each of the 18 declared endpoints (specs/ihr-api.md §1).

Parametrized over `ENDPOINTS`, with what each must do written out below from the spec (not read
from the declarations, so a wrong declaration fails here): its timebin rule and range limit, its
one-of parameters, and its Cache-Control. Values that do not parse, hostile values and ordering
names that do not exist are tried on every filter the endpoint declares. What an endpoint's data
looks like under these rules is checked in its own module (tests/ihr/test_ep_*.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from dockyard.ihr.endpoint import Endpoint
from dockyard.ihr.endpoints import ENDPOINTS
from dockyard.ihr.filters import INTEGER_LIST, NUMBER
from tests.ihr import data
from tests.ihr.helpers import (
    HALF_RANGE,
    RANGE,
    UNPARSEABLE,
    assert_bad_integer_list,
    assert_bad_number,
    assert_date_only,
    assert_half_range,
    assert_hostile,
    assert_timebin_required,
    assert_unparseable,
    error,
    get,
    iso,
    one_of,
    page,
    span,
    too_large,
)
from tests.support.app import AppClient

NONE, REQUIRED, DEFAULT = "none", "required", "default"
SHORT, REFERENCE, HISTORY, RECENT_PREFIXES = 1800, 2_592_000, 15_552_000, 21_600
RECENT = {"timebin__gte": iso(data.RECENT[0]), "timebin__lte": iso(data.RECENT[-1])}


@dataclass(frozen=True)
class Spec:
    """What the legacy API does for one list."""

    window: str  # NONE: no timebin rule; REQUIRED: a timebin or a full range; DEFAULT: optional
    order: str  # an ordering name it accepts
    days: int = 7  # the longest range
    one_of: tuple[str, ...] = ()
    base: dict[str, str] = field(default_factory=dict)  # passes the one-of rule
    filters: dict[str, str] = field(default_factory=dict)  # some filters, for the rules to ignore
    cache: int = SHORT  # max-age without an explicit window
    old: int = SHORT  # with an explicit window starting more than a week ago
    recent: int = SHORT  # with a recent explicit window


SPECS: dict[str, Spec] = {
    "networks/": Spec(NONE, "number", cache=REFERENCE),
    "countries/": Spec(NONE, "code", cache=REFERENCE),
    "link/delay/": Spec(REQUIRED, "timebin", filters={"asn": "2497"}),
    "link/forwarding/": Spec(REQUIRED, "timebin", filters={"asn": "2497"}),
    "link/delay/alarms/": Spec(REQUIRED, "deviation", filters={"asn": "2497"}),
    "link/forwarding/alarms/": Spec(REQUIRED, "correlation", filters={"asn": "174"}),
    "disco/events/": Spec(NONE, "id"),
    "hegemony/": Spec(
        DEFAULT,
        "hege",
        one_of=("originasn", "asn"),
        base={"originasn": "2497"},
        old=HISTORY,
        filters={"af": "4"},
    ),
    "hegemony/alarms/": Spec(REQUIRED, "deviation", old=HISTORY, filters={"deviation__gte": "20"}),
    "hegemony/cones/": Spec(REQUIRED, "asn", old=HISTORY, filters={"asn": "2497", "af": "4"}),
    "hegemony/countries/": Spec(
        DEFAULT, "asn", days=31, one_of=("country", "asn"), base={"country": "JP"}, filters={"af": "4"}
    ),
    "hegemony/prefixes/": Spec(
        DEFAULT,
        "prefix",
        days=3,
        one_of=(
            "prefix",
            "originasn",
            "country",
            "rpki_status",
            "irr_status",
            "delegated_prefix_status",
            "delegated_asn_status",
        ),
        base={"country": "JP,US"},
        old=HISTORY,
        recent=RECENT_PREFIXES,
        filters={"asn": "2497", "origin_only": "true", "af": "4"},
    ),
    "network_delay/": Spec(REQUIRED, "median", old=HISTORY, filters={"startpoint_key": "AS42497"}),
    "network_delay/locations/": Spec(NONE, "name", cache=REFERENCE),
    "network_delay/alarms/": Spec(
        REQUIRED, "deviation", old=HISTORY, filters={"deviation__gte": "20", "startpoint_type": "AS"}
    ),
    "metis/atlas/selection/": Spec(DEFAULT, "rank", days=31, old=HISTORY, filters={"metric": "rtt"}),
    "metis/atlas/deployment/": Spec(DEFAULT, "rank", days=31, old=HISTORY, filters={"metric": "rtt"}),
    "tr_hegemony/": Spec(DEFAULT, "hege", days=31, old=HISTORY, filters={"origin_type": "AS"}),
}
# Filters where any other word means "no filter" (their own modules test that): hostile words too.
WORDS_OR_NOTHING = {"ongoing", "transitonly", "origin_only"}
NOT_ORDERING_NAMES = [
    "bogus",
    "-nope",
    "asn_name",
    "originasn_name",
    "endpoint_name",
    "startpoint",
    "dependency",
    "location",
    "mean",
    "discoprobes__x",
    "tartiflette__x",
    "hege__x",
    "'; DROP TABLE ihr_asn;--",
]


def ids(endpoints: list[Endpoint]) -> list[Any]:
    return [pytest.param(e, id=e.path.rstrip("/")) for e in endpoints]


def having(window: str) -> list[Any]:
    return ids([e for e in ENDPOINTS if SPECS[e.path].window == window])


WITH_TIMEBIN = ids([e for e in ENDPOINTS if SPECS[e.path].window != NONE])
WITH_ONE_OF = ids([e for e in ENDPOINTS if SPECS[e.path].one_of])


def filters_of(schema: Any) -> list[Any]:
    """(endpoint, parameter) for every filter of every endpoint whose values follow `schema`."""
    return [
        pytest.param(e, f.param, id=f"{e.path.rstrip('/')}-{f.param}")
        for e in ENDPOINTS
        for f in e.filters
        if f.schema == schema
    ]


def context(endpoint: Endpoint, *, but: str = "") -> dict[str, str]:
    """Parameters passing the endpoint's rules (one-of base, the fixed range where required), less `but`."""
    spec = SPECS[endpoint.path]
    params = {**spec.base, **(RANGE if spec.window == REQUIRED else {})}
    return {name: value for name, value in params.items() if name != but}


def test_every_endpoint_has_a_spec() -> None:
    assert [e.path for e in ENDPOINTS] == list(SPECS)


def test_the_declarations_follow_the_spec() -> None:
    for endpoint in ENDPOINTS:
        spec = SPECS[endpoint.path]
        assert endpoint.window.value == spec.window, endpoint.path
        assert tuple(endpoint.one_of) == spec.one_of, endpoint.path
        assert spec.order in endpoint.order_terms, endpoint.path
        assert not set(NOT_ORDERING_NAMES) & set(endpoint.order_terms), endpoint.path
        if spec.window != NONE:
            assert endpoint.max_days == spec.days, endpoint.path


# --- the timebin rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", having(REQUIRED))
async def test_timebin_required(api: AppClient, endpoint: Endpoint) -> None:
    spec = SPECS[endpoint.path]
    await assert_timebin_required(api, endpoint.path)
    await assert_timebin_required(api, endpoint.path, **spec.filters)


@pytest.mark.parametrize("endpoint", having(DEFAULT))
async def test_no_timebin_means_the_default_window(api: AppClient, endpoint: Endpoint) -> None:
    body = (await page(api, endpoint.path, **context(endpoint))).json()
    start = data.TODAY - dt.timedelta(days=6)
    assert all(row["timebin"] >= iso(start) for row in body["results"])


@pytest.mark.parametrize("endpoint", having(NONE))
async def test_no_timebin_rule(api: AppClient, endpoint: Endpoint) -> None:
    everything = (await page(api, endpoint.path)).json()
    assert everything["count"] > 0
    # timebin is no parameter here: ignored like any unknown one, half ranges and bad values too.
    for ignored in ({"timebin__gte": RANGE["timebin__gte"]}, {"timebin": "x"}, span(40)):
        assert (await page(api, endpoint.path, **ignored)).json() == everything


@pytest.mark.parametrize("endpoint", WITH_TIMEBIN)
async def test_half_range(api: AppClient, endpoint: Endpoint) -> None:
    spec = SPECS[endpoint.path]
    await assert_half_range(api, endpoint.path, **spec.base)
    await assert_half_range(api, endpoint.path, **spec.base, **spec.filters)


@pytest.mark.parametrize("endpoint", WITH_TIMEBIN)
async def test_range_limit(api: AppClient, endpoint: Endpoint) -> None:
    """`days` days and 23 hours pass (whole days count); `days + 1` days fail."""
    spec = SPECS[endpoint.path]
    assert await error(api, endpoint.path, **spec.base, **span(spec.days + 1)) == {
        "detail": too_large(spec.days)
    }
    assert await error(api, endpoint.path, **spec.base, **span(spec.days + 2, 12)) == {
        "detail": too_large(spec.days)
    }
    await page(api, endpoint.path, **spec.base, **span(spec.days, 23))


@pytest.mark.parametrize("endpoint", WITH_TIMEBIN)
async def test_unparseable_timebin(api: AppClient, endpoint: Endpoint) -> None:
    await assert_unparseable(api, endpoint.path, **SPECS[endpoint.path].base)


@pytest.mark.parametrize("endpoint", WITH_TIMEBIN)
async def test_date_only_bound(api: AppClient, endpoint: Endpoint) -> None:
    await assert_date_only(api, endpoint.path, **SPECS[endpoint.path].base)


@pytest.mark.parametrize("endpoint", WITH_TIMEBIN)
async def test_exact_timebin_skips_the_range_checks(api: AppClient, endpoint: Endpoint) -> None:
    spec = SPECS[endpoint.path]
    far = {"timebin__gte": "2024-05-01T00:00:00Z", "timebin__lte": "2030-01-01T00:00:00Z"}
    await page(api, endpoint.path, **spec.base, timebin=iso(data.BINS[0]), **far)
    await page(api, endpoint.path, **spec.base, timebin=iso(data.BINS[0]), timebin__lte=far["timebin__lte"])
    assert await error(api, endpoint.path, **spec.base, timebin="2024-05-01") == {
        "timebin": ["Enter a valid date/time."]
    }


# --- the one-of rule -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", WITH_ONE_OF)
async def test_one_of(api: AppClient, endpoint: Endpoint) -> None:
    spec = SPECS[endpoint.path]
    expected = one_of(*spec.one_of)
    assert await error(api, endpoint.path, **RANGE) == expected
    assert await error(api, endpoint.path, **RANGE, **spec.filters) == expected
    assert await error(api, endpoint.path) == expected
    assert expected["detail"].endswith(repr(list(spec.one_of)))
    for name in spec.one_of:  # each is enough, even empty (the legacy checks presence)
        await page(api, endpoint.path, **RANGE, **{name: ""})


@pytest.mark.parametrize("endpoint", WITH_ONE_OF)
async def test_timebin_rule_is_checked_before_the_one_of_rule(api: AppClient, endpoint: Endpoint) -> None:
    # The legacy views run check_timebin, then check_or_fields (e.g. HegemonyView.get_queryset).
    spec = SPECS[endpoint.path]
    assert await error(api, endpoint.path, timebin__gte=RANGE["timebin__gte"]) == {"detail": HALF_RANGE}
    assert await error(api, endpoint.path, timebin__lte=RANGE["timebin__lte"]) == {"detail": HALF_RANGE}
    assert await error(api, endpoint.path, **span(spec.days + 1)) == {"detail": too_large(spec.days)}
    assert await error(api, endpoint.path, timebin__gte="x", timebin__lte="y") == {"detail": UNPARSEABLE}


# --- values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "param"), filters_of(NUMBER))
async def test_bad_number(api: AppClient, endpoint: Endpoint, param: str) -> None:
    await assert_bad_number(api, endpoint.path, param, **context(endpoint, but=param))


@pytest.mark.parametrize(("endpoint", "param"), filters_of(INTEGER_LIST))
async def test_bad_integer_list(api: AppClient, endpoint: Endpoint, param: str) -> None:
    await assert_bad_integer_list(api, endpoint.path, param, **context(endpoint, but=param))


HOSTILE_PARAMS = [
    pytest.param(e, f.param, id=f"{e.path.rstrip('/')}-{f.param}")
    for e in ENDPOINTS
    for f in e.filters
    if f.param not in WORDS_OR_NOTHING
]


@pytest.mark.parametrize(("endpoint", "param"), HOSTILE_PARAMS)
async def test_hostile_values(api: AppClient, endpoint: Endpoint, param: str) -> None:
    await assert_hostile(api, endpoint.path, param, **context(endpoint, but=param))
    if SPECS[endpoint.path].window != NONE and not param.startswith("timebin"):
        base = {name: value for name, value in SPECS[endpoint.path].base.items() if name != param}
        await assert_hostile(api, endpoint.path, param, **base, **RANGE)


@pytest.mark.parametrize("endpoint", WITH_ONE_OF)
async def test_hostile_values_as_the_only_one_of_parameter(api: AppClient, endpoint: Endpoint) -> None:
    for name in SPECS[endpoint.path].one_of:
        await assert_hostile(api, endpoint.path, name, **RANGE)


# --- ordering --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", NOT_ORDERING_NAMES)
@pytest.mark.parametrize("endpoint", ids(ENDPOINTS))
async def test_names_that_are_no_ordering_are_ignored(api: AppClient, endpoint: Endpoint, bad: str) -> None:
    spec = SPECS[endpoint.path]
    params = {**spec.base, **(RANGE if spec.window != NONE else {})}
    valid = f"-{spec.order}"
    expected = (await page(api, endpoint.path, **params, ordering=valid)).json()
    assert expected["count"] > 0
    for ordering in (f"{bad},{valid}", f"{valid},{bad}"):
        assert (await page(api, endpoint.path, **params, ordering=ordering)).json() == expected, ordering
    plain = (await page(api, endpoint.path, **params)).json()
    assert (await page(api, endpoint.path, **params, ordering=bad)).json() == plain


# --- caching ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ids(ENDPOINTS))
async def test_cache_control(api: AppClient, endpoint: Endpoint) -> None:
    spec = SPECS[endpoint.path]

    async def max_age(**params: str) -> str:
        answer = await get(api, endpoint.path, **spec.base, **params)
        assert answer.status_code == 200, answer.text
        return str(answer.headers["cache-control"])

    if spec.window != REQUIRED:
        assert await max_age() == f"max-age={spec.cache}"
    if spec.window != NONE:
        assert await max_age(**RANGE) == f"max-age={spec.old}"
        assert await max_age(timebin=iso(data.BINS[0])) == f"max-age={spec.old}"
        assert await max_age(**RECENT) == f"max-age={spec.recent}"
