"""link/delay/, link/forwarding/ and their alarms: per-AS anomalies (specs/ihr-api.md §1b)."""

from __future__ import annotations

from dockyard.ihr.endpoint import Endpoint, Window
from dockyard.ihr.endpoints.vocabulary import ASN_NAME, INT, TIME, TIMEBIN, F, J, T, order, without
from dockyard.ihr.fields import Out
from dockyard.ihr.filters import contains, exact, integer_list, number, numbers


def _msms(table: str) -> str:
    """The alarm's measurements as DRF listed them: `["<msmid> <probeid>", …]`."""
    return (
        f"'[' || coalesce((SELECT string_agg(to_json(m.msmid || ' ' || m.probeid)::text, ',' ORDER BY m.id) "
        f"FROM public.{table} m WHERE m.alarm_id = t.id), '') || ']'"
    )


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


def _link(path: str, table: str, summary: str) -> Endpoint:
    return Endpoint(
        path=path,
        summary=summary,
        source=f"public.{table} t {ASN_NAME}",
        fields=LINK,
        filters=[integer_list("asn", "t.asn_id"), *TIMEBIN, number("magnitude", "t.magnitude")],
        order_terms=order(LINK, asn__name="asn_name"),
        natural_key=["t.timebin", "t.asn_id", "t.id"],
        window=Window.REQUIRED,
        timebin_column="t.timebin",
    )


ENDPOINTS = [
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
        order_terms=order(without(DELAY_ALARMS, "msmid"), asn__name="asn_name"),
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
        order_terms=order(without(FORWARDING_ALARMS, "msmid"), asn__name="asn_name"),
        natural_key=["t.timebin", "t.asn_id", "t.id"],
        window=Window.REQUIRED,
        timebin_column="t.timebin",
    ),
]
