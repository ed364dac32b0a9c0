"""The 18 public list endpoints under /ihr/api/, declared as data (specs/ihr-api.md §1b).

Field names, filters and ordering names are the legacy API's; each `Endpoint` is answered by
`listing`. Aliases: `t` is the endpoint's table, `a`/`o` the ASes named by asn/originasn, `s`/`e`
the start and end locations, `og`/`dp` the traceroute-hegemony origin and dependency.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.core.like import contains_pattern
from dockyard.ihr import params
from dockyard.ihr.listing import (
    FALSE,
    Caching,
    Condition,
    Endpoint,
    Filter,
    Kind,
    Out,
    Window,
    boolean,
    contains,
    custom,
    exact,
    icontains,
    integer_list,
    number,
    numbers,
    row_sql,
    string_list,
    times,
)

INT, F, T, B, TIME, J = Kind.INT, Kind.FLOAT, Kind.TEXT, Kind.BOOL, Kind.TIME, Kind.JSON

ASN_NAME = "JOIN public.ihr_asn a ON a.number = t.asn_id"
ORIGIN_NAME = "JOIN public.ihr_asn o ON o.number = t.originasn_id"
LOCATIONS = (
    "JOIN public.ihr_atlas_location s ON s.id = t.startpoint_id "
    "JOIN public.ihr_atlas_location e ON e.id = t.endpoint_id"
)


def _af(column: str = "t.af") -> Filter:
    return number("af", column, integer=True)


def _search(raw: str) -> Condition:
    """networks `search`: an AS/IX prefix before digits is dropped; then number or name contains it."""
    value = raw
    if raw[:2] in ("AS", "IX"):
        try:
            int(raw[2:])  # the legacy test: anything int() reads, `-1` (an IXP) included
        except ValueError:
            pass
        else:
            value = raw[2:]
    pattern = contains_pattern(value)
    return Condition("(t.number::text LIKE {} OR t.name ILIKE {})", (pattern, pattern))


def _keys(column_prefix: str, id_column: str) -> Filter:
    """`startpoint_key=AS42497|CT4Amsterdam, North Holland, NL`: any of (type, af, name)."""

    def parse(raw: str) -> Condition | None:
        keys = [params.location_key(key) for key in raw.split("|")]
        if not keys:
            return FALSE
        types, afs, names = (list(column) for column in zip(*keys, strict=True))
        return Condition(
            f"{id_column} IN (SELECT id FROM public.ihr_atlas_location WHERE (type, af, name) IN "
            "(SELECT * FROM unnest({}::text[], {}::int[], {}::text[])))",
            (types, afs, names),
        )

    return custom(f"{column_prefix}_key", parse)


def _ongoing(raw: str) -> Condition | None:
    """The legacy disco filter lower-cased the value: true/TRUE/1, false/False/0."""
    value = params.boolean(raw.lower())
    return None if value is None else Condition("t.ongoing = {}", (value,))


def _origin_only(raw: str) -> Condition | None:
    return Condition("t.originasn_id = t.asn_id") if raw in params.TRUE_WORDS else None


def _location_filters(side: str, alias: str, id_column: str) -> list[Filter]:
    return [
        string_list(f"{side}_name", f"{alias}.name", sep="|"),
        exact(f"{side}_type", f"{alias}.type"),
        number(f"{side}_af", f"{alias}.af", integer=True),
        _keys(side, id_column),
    ]


def _location_fields(side: str, alias: str) -> list[Out]:
    return [
        Out(f"{side}_type", f"{alias}.type", T),
        Out(f"{side}_name", f"{alias}.name", T),
        Out(f"{side}_af", f"{alias}.af", INT),
    ]


def _location_order(side: str, alias: str) -> dict[str, str]:
    return {f"{side}__type": f"{alias}.type", f"{side}__name": f"{alias}.name", f"{side}__af": f"{alias}.af"}


def _order(fields: Sequence[Out], **renamed: str) -> dict[str, str]:
    """Ordering names: each field's own name, with related names given as name → DRF source."""
    terms = {out.name: out.sql for out in fields}
    for source, name in renamed.items():
        terms[source] = terms.pop(name)
    return terms


def _msms(table: str) -> str:
    """The alarm's measurements as DRF listed them: `["<msmid> <probeid>", …]`."""
    return (
        f"'[' || coalesce((SELECT string_agg(to_json(m.msmid || ' ' || m.probeid)::text, ',' ORDER BY m.id) "
        f"FROM public.{table} m WHERE m.alarm_id = t.id), '') || ']'"
    )


DISCO_PROBE = row_sql(
    [
        Out("probe_id", "p.probe_id", INT),
        Out("ipv4", "p.ipv4", T),
        Out("prefixv4", "p.prefixv4", T),
        Out("event", "p.event_id", INT),
        Out("starttime", "p.starttime", TIME),
        Out("endtime", "p.endtime", TIME),
        Out("level", "p.level", F),
        Out("lat", "p.lat", F),
        Out("lon", "p.lon", F),
    ]
)
DISCO_PROBES = (
    f"'[' || coalesce((SELECT string_agg({DISCO_PROBE}, ',' ORDER BY p.id) "
    "FROM public.ihr_disco_probes p WHERE p.event_id = t.id), '') || ']'"
)

# --- field lists -----------------------------------------------------------------------------------

NETWORKS = [
    Out("number", "t.number", INT),
    Out("name", "t.name", T),
    Out("hegemony", "t.ashash", B),
    Out("delay_forwarding", "t.tartiflette", B),
    Out("disco", "t.disco", B),
]
COUNTRIES = [Out("code", "t.code", T), Out("name", "t.name", T)]
LINK = [
    Out("asn", "t.asn_id", INT),
    Out("timebin", "t.timebin", TIME),
    Out("magnitude", "t.magnitude", F),
    Out("asn_name", "a.name", T),
]
DELAY_ALARMS = [
    Out("asn", "t.asn_id", INT),
    Out("asn_name", "a.name", T),
    Out("timebin", "t.timebin", TIME),
    Out("link", "t.link", T),
    Out("medianrtt", "t.medianrtt", F),
    Out("diffmedian", "t.diffmedian", F),
    Out("deviation", "t.deviation", F),
    Out("nbprobes", "t.nbprobes", INT),
    Out("msm_prb_ids", "t.msm_prb_ids", J),
    Out("msmid", _msms("ihr_delay_alarms_msms"), J),
]
FORWARDING_ALARMS = [
    Out("asn", "t.asn_id", INT),
    Out("asn_name", "a.name", T),
    Out("timebin", "t.timebin", TIME),
    Out("ip", "t.ip", T),
    Out("correlation", "t.correlation", F),
    Out("pktdiff", "t.pktdiff", F),
    Out("previoushop", "t.previoushop", T),
    Out("responsibility", "t.responsibility", F),
    Out("msm_prb_ids", "t.msm_prb_ids", J),
    Out("msmid", _msms("ihr_forwarding_alarms_msms"), J),
]
DISCO_EVENTS = [
    Out("id", "t.id", INT),
    Out("streamtype", "t.streamtype", T),
    Out("streamname", "t.streamname", T),
    Out("starttime", "t.starttime", TIME),
    Out("endtime", "t.endtime", TIME),
    Out("avglevel", "t.avglevel", F),
    Out("nbdiscoprobes", "t.nbdiscoprobes", INT),
    Out("totalprobes", "t.totalprobes", INT),
    Out("ongoing", "t.ongoing", B),
    Out("discoprobes", DISCO_PROBES, J),
]
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
NETWORK_DELAY = [
    Out("timebin", "t.timebin", TIME),
    *_location_fields("startpoint", "s"),
    *_location_fields("endpoint", "e"),
    Out("median", "t.median", F),
    Out("nbtracks", "t.nbtracks", INT),
    Out("nbprobes", "t.nbprobes", INT),
    Out("entropy", "t.entropy", F),
    Out("hop", "t.hop", INT),
    Out("nbrealrtts", "t.nbrealrtts", INT),
]
LOCATIONS_OUT = [Out("type", "t.type", T), Out("name", "t.name", T), Out("af", "t.af", INT)]
NETWORK_DELAY_ALARMS = [
    Out("timebin", "t.timebin", TIME),
    *_location_fields("startpoint", "s"),
    *_location_fields("endpoint", "e"),
    Out("deviation", "t.deviation", F),
]
METIS_SELECTION = [
    Out("timebin", "t.timebin", TIME),
    Out("metric", "t.metric", T),
    Out("rank", "t.rank", INT),
    Out("asn", "t.asn_id", INT),
    Out("af", "t.af", INT),
    Out("asn_name", "a.name", T),
]
METIS_DEPLOYMENT = [*METIS_SELECTION[:5], Out("nbsamples", "t.nbsamples", INT), METIS_SELECTION[5]]
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

TIMEBIN = times("timebin", "t.timebin")
TR_SOURCE = (
    "public.ihr_tr_hegemony t "
    "JOIN public.ihr_tr_hegemony_identifier og ON og.id = t.origin_id "
    "JOIN public.ihr_tr_hegemony_identifier dp ON dp.id = t.dependency_id"
)
LOCATION_ORDER = {**_location_order("startpoint", "s"), **_location_order("endpoint", "e")}


def _without(fields: Sequence[Out], *names: str) -> list[Out]:
    return [out for out in fields if out.name not in names]


def _link(path: str, table: str, summary: str) -> Endpoint:
    return Endpoint(
        path=path,
        summary=summary,
        source=f"public.{table} t {ASN_NAME}",
        fields=LINK,
        filters=[integer_list("asn", "t.asn_id"), *TIMEBIN, number("magnitude", "t.magnitude")],
        order_terms=_order(LINK, asn__name="asn_name"),
        natural_key=["t.timebin", "t.asn_id", "t.id"],
        window=Window.REQUIRED,
        timebin_column="t.timebin",
    )


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        path="networks/",
        summary="Networks (ASes and IXPs)",
        source="public.ihr_asn t",
        fields=NETWORKS,
        filters=[
            icontains("name", "t.name"),
            integer_list("number", "t.number"),
            *numbers("number", "t.number")[1:],
            custom("search", _search),
        ],
        order_terms=_order(NETWORKS, ashash="hegemony", tartiflette="delay_forwarding"),
        natural_key=["t.number"],
        caching=Caching.REFERENCE,
        description="`search`: an AS number (with or without AS/IX) or part of a name.",
    ),
    Endpoint(
        path="countries/",
        summary="Countries",
        source="public.ihr_country t",
        fields=COUNTRIES,
        filters=[icontains("name", "t.name"), exact("code", "t.code")],
        order_terms=_order(COUNTRIES),
        natural_key=["t.code"],
        caching=Caching.REFERENCE,
    ),
    _link("link/delay/", "ihr_delay", "Link delay anomalies per AS"),
    _link("link/forwarding/", "ihr_forwarding", "Forwarding anomalies per AS"),
    Endpoint(
        path="link/delay/alarms/",
        summary="Link delay alarms",
        source=f"public.ihr_delay_alarms t {ASN_NAME}",
        fields=DELAY_ALARMS,
        filters=[
            integer_list("asn", "t.asn_id"),
            *TIMEBIN,
            *numbers("deviation", "t.deviation", integer=False),
            *numbers("diffmedian", "t.diffmedian", integer=False),
            *numbers("medianrtt", "t.medianrtt", integer=False),
            *numbers("nbprobes", "t.nbprobes"),
            exact("link", "t.link"),
            contains("link__contains", "t.link"),
        ],
        order_terms=_order(_without(DELAY_ALARMS, "msmid"), asn__name="asn_name"),
        natural_key=["t.timebin", "t.asn_id", "t.id"],
        window=Window.REQUIRED,
        timebin_column="t.timebin",
    ),
    Endpoint(
        path="link/forwarding/alarms/",
        summary="Forwarding alarms",
        source=f"public.ihr_forwarding_alarms t {ASN_NAME}",
        fields=FORWARDING_ALARMS,
        filters=[
            integer_list("asn", "t.asn_id"),
            *TIMEBIN,
            *numbers("correlation", "t.correlation", integer=False),
            *numbers("responsibility", "t.responsibility", integer=False),
            exact("ip", "t.ip"),
            contains("ip__contains", "t.ip"),
            exact("previoushop", "t.previoushop"),
            contains("previoushop__contains", "t.previoushop"),
        ],
        order_terms=_order(_without(FORWARDING_ALARMS, "msmid"), asn__name="asn_name"),
        natural_key=["t.timebin", "t.asn_id", "t.id"],
        window=Window.REQUIRED,
        timebin_column="t.timebin",
    ),
    Endpoint(
        path="disco/events/",
        summary="Network disconnection events with their probes",
        source="public.ihr_disco_events t",
        fields=DISCO_EVENTS,
        filters=[
            exact("streamname", "t.streamname"),
            exact("streamtype", "t.streamtype"),
            *times("starttime", "t.starttime"),
            *times("endtime", "t.endtime"),
            *numbers("avglevel", "t.avglevel", integer=False),
            *numbers("nbdiscoprobes", "t.nbdiscoprobes"),
            *numbers("totalprobes", "t.totalprobes"),
            custom("ongoing", _ongoing),
        ],
        order_terms=_order(_without(DISCO_EVENTS, "discoprobes")),
        natural_key=["t.id"],
    ),
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
            _af(),
        ],
        order_terms=_order(HEGEMONY, asn__name="asn_name", originasn__name="originasn_name"),
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
            _af(),
            *numbers("deviation", "t.deviation", integer=False)[1:],
        ],
        order_terms=_order(HEGEMONY_ALARMS, asn__name="asn_name", originasn__name="originasn_name"),
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
        filters=[integer_list("asn", "t.asn_id"), *TIMEBIN, _af()],
        order_terms=_order(CONES),
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
            _af(),
            exact("weightscheme", "t.weightscheme"),
            boolean("transitonly", "t.transitonly", params.TRANSIT_TRUE, params.TRANSIT_FALSE),
        ],
        order_terms=_order(COUNTRY_HEGEMONY, asn__name="asn_name"),
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
            _af(),
            custom("origin_only", _origin_only),
        ],
        order_terms=_order(PREFIXES, asn__name="asn_name", originasn__name="originasn_name"),
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
    Endpoint(
        path="network_delay/",
        summary="Network delay between locations (RIPE Atlas)",
        source=f"public.ihr_atlas_delay t {LOCATIONS}",
        count_source=f"public.ihr_atlas_delay t {LOCATIONS}",  # the filters use the locations
        fields=NETWORK_DELAY,
        filters=[
            *_location_filters("startpoint", "s", "t.startpoint_id"),
            *_location_filters("endpoint", "e", "t.endpoint_id"),
            *numbers("median", "t.median", integer=False),
            *TIMEBIN,
        ],
        order_terms={**_order(NETWORK_DELAY[7:]), "timebin": "t.timebin", **LOCATION_ORDER},
        natural_key=["t.timebin", "t.startpoint_id", "t.endpoint_id", "t.id"],
        window=Window.REQUIRED,
        timebin_column="t.timebin",
        history_cache=Caching.SHORT,
        description="Keys: a 2-letter type, the address family and the name, e.g. "
        "`CT4Amsterdam, North Holland, NL` or `AS415169`; several joined with `|`.",
    ),
    Endpoint(
        path="network_delay/locations/",
        summary="Network delay locations",
        source="public.ihr_atlas_location t",
        fields=LOCATIONS_OUT,
        filters=[icontains("name", "t.name"), exact("type", "t.type"), _af()],
        order_terms=_order(LOCATIONS_OUT),
        natural_key=["t.id"],
        caching=Caching.REFERENCE,
    ),
    Endpoint(
        path="network_delay/alarms/",
        summary="Network delay alarms",
        source=f"public.ihr_atlas_delay_alarms t {LOCATIONS}",
        count_source=f"public.ihr_atlas_delay_alarms t {LOCATIONS}",
        fields=NETWORK_DELAY_ALARMS,
        filters=[
            *_location_filters("startpoint", "s", "t.startpoint_id"),
            *_location_filters("endpoint", "e", "t.endpoint_id"),
            *numbers("deviation", "t.deviation", integer=False)[1:],
            *TIMEBIN,
        ],
        order_terms={"timebin": "t.timebin", "deviation": "t.deviation", **LOCATION_ORDER},
        natural_key=["t.timebin", "t.startpoint_id", "t.endpoint_id", "t.id"],
        window=Window.REQUIRED,
        timebin_column="t.timebin",
        history_cache=Caching.SHORT,
    ),
    *(
        Endpoint(
            path=f"metis/atlas/{kind}/",
            summary=f"Metis: ASes ranked for Atlas probe {kind}",
            source=f"public.ihr_metis_atlas_{kind} t {ASN_NAME}",
            fields=fields,
            filters=[*TIMEBIN, *numbers("rank", "t.rank"), exact("metric", "t.metric"), _af()],
            order_terms=_order(fields, asn__name="asn_name"),
            natural_key=["t.timebin", "t.metric", "t.af", "t.rank", "t.id"],
            window=Window.DEFAULT,
            max_days=31,
            timebin_column="t.timebin",
            history_cache=Caching.SHORT,
            description="`metric`: as_path_length, ip_hops or rtt.",
        )
        for kind, fields in (("selection", METIS_SELECTION), ("deployment", METIS_DEPLOYMENT))
    ),
    Endpoint(
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
            _af(),
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
    ),
]
