"""hegemony/ and its alarms, cones, countries and prefixes; tr_hegemony/ (specs/ihr-api.md §1b)."""

from __future__ import annotations

from dockyard.ihr import params
from dockyard.ihr.endpoint import Caching, Endpoint, Window
from dockyard.ihr.endpoints.vocabulary import ASN_NAME, INT, ORIGIN_NAME, TIME, TIMEBIN, B, F, T, af, order
from dockyard.ihr.fields import Out
from dockyard.ihr.filters import (
    Condition,
    boolean,
    contains,
    custom,
    exact,
    integer_list,
    number,
    numbers,
    string_list,
)


def _origin_only(raw: str) -> Condition | None:
    return Condition("t.originasn_id = t.asn_id") if raw in params.TRUE_WORDS else None


HEGEMONY = [
    Out("timebin", "t.timebin", TIME),
    Out("originasn", "t.originasn_id", INT),
    Out("asn", "t.asn_id", INT),
    Out("hege", "t.hege", F),
    Out("af", "t.af", INT),
    Out("asn_name", "a.name", T),
    Out("originasn_name", "o.name", T),
]

HEGEMONY_ALARMS = [
    Out("timebin", "t.timebin", TIME),
    Out("originasn", "t.originasn_id", INT),
    Out("asn", "t.asn_id", INT),
    Out("deviation", "t.deviation", F),
    Out("af", "t.af", INT),
    Out("asn_name", "a.name", T),
    Out("originasn_name", "o.name", T),
]

CONES = [
    Out("timebin", "t.timebin", TIME),
    Out("asn", "t.asn_id", INT),
    Out("conesize", "t.conesize", INT),
    Out("af", "t.af", INT),
]

COUNTRY_HEGEMONY = [
    Out("timebin", "t.timebin", TIME),
    Out("country", "t.country_id", T),
    Out("asn", "t.asn_id", INT),
    Out("hege", "t.hege", F),
    Out("af", "t.af", INT),
    Out("asn_name", "a.name", T),
    Out("weight", "t.weight", F),
    Out("weightscheme", "t.weightscheme", T),
    Out("transitonly", "t.transitonly", B),
]

PREFIXES = [
    Out("timebin", "t.timebin", TIME),
    Out("prefix", "t.prefix", T),
    Out("originasn", "t.originasn_id", INT),
    Out("country", "t.country_id", T),
    Out("asn", "t.asn_id", INT),
    Out("hege", "t.hege", F),
    Out("af", "t.af", INT),
    Out("visibility", "t.visibility", F),
    Out("rpki_status", "t.rpki_status", T),
    Out("irr_status", "t.irr_status", T),
    Out("delegated_prefix_status", "t.delegated_prefix_status", T),
    Out("delegated_asn_status", "t.delegated_asn_status", T),
    Out("descr", "t.descr", T),
    Out("moas", "t.moas", B),
    Out("originasn_name", "o.name", T),
    Out("asn_name", "a.name", T),
]

TR_HEGEMONY = [
    Out("timebin", "t.timebin", TIME),
    Out("origin_type", "og.type", T),
    Out("origin_name", "og.name", T),
    Out("origin_af", "og.af", INT),
    Out("dependency_type", "dp.type", T),
    Out("dependency_name", "dp.name", T),
    Out("dependency_af", "dp.af", INT),
    Out("hege", "t.hege", F),
    Out("af", "t.af", INT),
    Out("nbsamples", "t.nbsamples", INT),
]


TR_SOURCE = (
    "public.ihr_tr_hegemony t "
    "JOIN public.ihr_tr_hegemony_identifier og ON og.id = t.origin_id "
    "JOIN public.ihr_tr_hegemony_identifier dp ON dp.id = t.dependency_id"
)

ENDPOINTS = [
    Endpoint(
        path="hegemony/",
        summary="AS hegemony (AS dependency) scores",
        source=f"public.ihr_hegemony t {ASN_NAME} {ORIGIN_NAME}",
        fields=HEGEMONY,
        filters=[
            integer_list("asn", "t.asn_id"),
            integer_list("originasn", "t.originasn_id"),
            *TIMEBIN,
            *numbers("hege", "t.hege", integer=False),
            af(),
        ],
        order_terms=order(HEGEMONY, asn__name="asn_name", originasn__name="originasn_name"),
        natural_key=["t.timebin", "t.originasn_id", "t.asn_id", "t.af", "t.id"],
        window=Window.DEFAULT,
        one_of=("originasn", "asn"),
        timebin_column="t.timebin",
        history_cache=Caching.SHORT,
        description="`originasn=0` is the global graph.",
    ),
    Endpoint(
        path="hegemony/alarms/",
        summary="AS hegemony alarms",
        source=f"public.ihr_hegemony_alarms t {ASN_NAME} {ORIGIN_NAME}",
        fields=HEGEMONY_ALARMS,
        filters=[
            integer_list("asn", "t.asn_id"),
            integer_list("originasn", "t.originasn_id"),
            *TIMEBIN,
            af(),
            *numbers("deviation", "t.deviation", integer=False)[1:],
        ],
        order_terms=order(HEGEMONY_ALARMS, asn__name="asn_name", originasn__name="originasn_name"),
        natural_key=["t.timebin", "t.originasn_id", "t.asn_id", "t.af", "t.id"],
        window=Window.REQUIRED,
        timebin_column="t.timebin",
        history_cache=Caching.SHORT,
    ),
    Endpoint(
        path="hegemony/cones/",
        summary="Customer cone sizes",
        source="public.ihr_hegemonycone t",
        fields=CONES,
        filters=[integer_list("asn", "t.asn_id"), *TIMEBIN, af()],
        order_terms=order(CONES),
        natural_key=["t.timebin", "t.asn_id", "t.af", "t.id"],
        window=Window.REQUIRED,
        default_ordering=("timebin",),
        timebin_column="t.timebin",
        history_cache=Caching.SHORT,
    ),
    Endpoint(
        path="hegemony/countries/",
        summary="Country hegemony: the ASes a country's networks depend on",
        source=f"public.ihr_hegemony_country t {ASN_NAME}",
        fields=COUNTRY_HEGEMONY,
        filters=[
            string_list("country", "t.country_id"),
            integer_list("asn", "t.asn_id"),
            *TIMEBIN,
            *numbers("hege", "t.hege", integer=False),
            af(),
            exact("weightscheme", "t.weightscheme"),
            boolean("transitonly", "t.transitonly", params.TRANSIT_TRUE, params.TRANSIT_FALSE),
        ],
        order_terms=order(COUNTRY_HEGEMONY, asn__name="asn_name"),
        natural_key=["t.timebin", "t.country_id", "t.asn_id", "t.af", "t.weightscheme", "t.id"],
        window=Window.DEFAULT,
        max_days=31,
        one_of=("country", "asn"),
        timebin_column="t.timebin",
    ),
    Endpoint(
        path="hegemony/prefixes/",
        summary="Prefix hegemony with RPKI, IRR and delegation statuses",
        source=f"public.ihr_hegemony_prefix t {ASN_NAME} {ORIGIN_NAME}",
        fields=PREFIXES,
        filters=[
            string_list("prefix", "t.prefix"),
            integer_list("originasn", "t.originasn_id"),
            integer_list("asn", "t.asn_id"),
            string_list("country", "t.country_id"),
            contains("rpki_status", "t.rpki_status"),
            contains("irr_status", "t.irr_status"),
            contains("delegated_prefix_status", "t.delegated_prefix_status"),
            contains("delegated_asn_status", "t.delegated_asn_status"),
            *TIMEBIN,
            *numbers("hege", "t.hege", integer=False),
            af(),
            custom(
                "origin_only",
                _origin_only,
                description="`true`, `True` or `1`: only rows whose origin is the AS itself.",
            ),
        ],
        order_terms=order(PREFIXES, asn__name="asn_name", originasn__name="originasn_name"),
        natural_key=["t.timebin", "t.prefix", "t.originasn_id", "t.asn_id", "t.id"],
        window=Window.DEFAULT,
        max_days=3,
        one_of=(
            "prefix",
            "originasn",
            "country",
            "rpki_status",
            "irr_status",
            "delegated_prefix_status",
            "delegated_asn_status",
        ),
        timebin_column="t.timebin",
        history_cache=Caching.RECENT_PREFIXES,
    ),
]

TRACEROUTE = Endpoint(
    path="tr_hegemony/",
    summary="Traceroute hegemony between identifiers (AS, IX, MB, IP)",
    source=TR_SOURCE,
    count_source=TR_SOURCE,  # the filters use the identifiers
    fields=TR_HEGEMONY,
    filters=[
        string_list("origin_name", "og.name", sep="|"),
        string_list("dependency_name", "dp.name", sep="|"),
        exact("origin_type", "og.type"),
        exact("dependency_type", "dp.type"),
        number("origin_af", "og.af", integer=True),
        number("dependency_af", "dp.af", integer=True),
        *numbers("hege", "t.hege", integer=False),
        af(),
        *TIMEBIN,
    ],
    order_terms={
        "timebin": "t.timebin",
        "origin__type": "og.type",
        "origin__name": "og.name",
        "origin__af": "og.af",
        "dependency__type": "dp.type",
        "dependency__name": "dp.name",
        "dependency__af": "dp.af",
        "hege": "t.hege",
        "af": "t.af",
        "nbsamples": "t.nbsamples",
    },
    natural_key=["t.timebin", "t.origin_id", "t.dependency_id", "t.af", "t.id"],
    window=Window.DEFAULT,
    max_days=31,
    timebin_column="t.timebin",
    history_cache=Caching.SHORT,
)
