"""disco/events/: network disconnection events with their probes (specs/ihr-api.md §1b)."""

from __future__ import annotations

from dockyard.ihr import params
from dockyard.ihr.endpoint import Endpoint
from dockyard.ihr.endpoints.vocabulary import INT, TIME, B, F, J, T, order, without
from dockyard.ihr.fields import Out, row_sql
from dockyard.ihr.filters import Condition, custom, exact, numbers, times


def _ongoing(raw: str) -> Condition | None:
    """The legacy disco filter lower-cased the value: true/TRUE/1, false/False/0."""
    value = params.boolean(raw.lower())
    return None if value is None else Condition("t.ongoing = {}", (value,))


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

ENDPOINTS = [
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
            custom(
                "ongoing",
                _ongoing,
                description="`true`, `1` or `false`, `0` in any case; any other value means no filter.",
            ),
        ],
        order_terms=order(without(DISCO_EVENTS, "discoprobes")),
        natural_key=["t.id"],
    ),
]
