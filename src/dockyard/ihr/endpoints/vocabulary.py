"""What the endpoint declarations share: table aliases and joins, output kinds, and small builders.

Aliases: `t` is the endpoint's table, `a`/`o` the ASes named by asn/originasn, `s`/`e` the start and
end locations, `og`/`dp` the traceroute-hegemony origin and dependency.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.ihr.fields import Kind, Out
from dockyard.ihr.filters import Filter, number, times

INT, F, T, B, TIME, J = Kind.INT, Kind.FLOAT, Kind.TEXT, Kind.BOOL, Kind.TIME, Kind.JSON

ASN_NAME = "JOIN public.ihr_asn a ON a.number = t.asn_id"
ORIGIN_NAME = "JOIN public.ihr_asn o ON o.number = t.originasn_id"
LOCATIONS = (
    "JOIN public.ihr_atlas_location s ON s.id = t.startpoint_id "
    "JOIN public.ihr_atlas_location e ON e.id = t.endpoint_id"
)

TIMEBIN = times("timebin", "t.timebin")


def af(column: str = "t.af") -> Filter:
    """The address family filter (a number, compared as an integer)."""
    return number("af", column, integer=True)


def order(fields: Sequence[Out], **renamed: str) -> dict[str, str]:
    """Ordering names: each field's own name, with related names given as name → DRF source."""
    terms = {out.name: out.sql for out in fields}
    for source, name in renamed.items():
        terms[source] = terms.pop(name)
    return terms


def without(fields: Sequence[Out], *names: str) -> list[Out]:
    """`fields` less those named."""
    return [out for out in fields if out.name not in names]
