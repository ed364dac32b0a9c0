"""network_delay/ with its locations and alarms, and the Metis rankings: RIPE Atlas data (§1b)."""

from __future__ import annotations

from dockyard.ihr import params
from dockyard.ihr.endpoint import DAY, WEEK, Caching, Endpoint, Window
from dockyard.ihr.endpoints.vocabulary import ASN_NAME, INT, LOCATIONS, TIME, TIMEBIN, F, T, af, order
from dockyard.ihr.fields import Out
from dockyard.ihr.filters import (
    FALSE,
    Condition,
    Filter,
    custom,
    exact,
    icontains,
    number,
    numbers,
    string_list,
)


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

    return custom(
        f"{column_prefix}_key",
        parse,
        schema={"type": "string", "pattern": params.LOCATION_KEYS},
        description="Keys separated by `|`: a 2-letter type, the address family and the name, "
        "e.g. `AS415169|CT4Amsterdam, North Holland, NL`.",
    )


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
LOCATION_ORDER = {**_location_order("startpoint", "s"), **_location_order("endpoint", "e")}


ENDPOINTS = [
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
        order_terms={**order(NETWORK_DELAY[7:]), "timebin": "t.timebin", **LOCATION_ORDER},
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
        filters=[icontains("name", "t.name"), exact("type", "t.type"), af()],
        order_terms=order(LOCATIONS_OUT),
        natural_key=["t.id"],
        caching=Caching.REFERENCE,
        cadence_s=DAY,
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
            filters=[*TIMEBIN, *numbers("rank", "t.rank"), exact("metric", "t.metric"), af()],
            order_terms=order(fields, asn__name="asn_name"),
            natural_key=["t.timebin", "t.metric", "t.af", "t.rank", "t.id"],
            window=Window.DEFAULT,
            max_days=31,
            timebin_column="t.timebin",
            history_cache=Caching.SHORT,
            cadence_s=WEEK,
            description="`metric`: as_path_length, ip_hops or rtt.",
        )
        for kind, fields in (("selection", METIS_SELECTION), ("deployment", METIS_DEPLOYMENT))
    ),
]
