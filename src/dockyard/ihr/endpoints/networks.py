"""networks/ and countries/: the reference lists (specs/ihr-api.md §1b)."""

from __future__ import annotations

from dockyard.core.like import contains_pattern
from dockyard.ihr.endpoint import DAY, Caching, Endpoint
from dockyard.ihr.endpoints.vocabulary import INT, B, T, order
from dockyard.ihr.fields import Out
from dockyard.ihr.filters import Condition, custom, exact, icontains, integer_list, numbers


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


NETWORKS = [
    Out("number", "t.number", INT),
    Out("name", "t.name", T),
    Out("hegemony", "t.ashash", B),
    Out("delay_forwarding", "t.tartiflette", B),
    Out("disco", "t.disco", B),
]
COUNTRIES = [Out("code", "t.code", T), Out("name", "t.name", T)]

ENDPOINTS = [
    Endpoint(
        path="networks/",
        summary="Networks (ASes and IXPs)",
        source="public.ihr_asn t",
        fields=NETWORKS,
        filters=[
            icontains("name", "t.name"),
            integer_list("number", "t.number"),
            *numbers("number", "t.number")[1:],
            custom(
                "search", _search, description="An AS number (with or without `AS`/`IX`) or part of a name."
            ),
        ],
        order_terms=order(NETWORKS, ashash="hegemony", tartiflette="delay_forwarding"),
        natural_key=["t.number"],
        caching=Caching.REFERENCE,
        cadence_s=DAY,
        description="`search`: an AS number (with or without AS/IX) or part of a name.",
    ),
    Endpoint(
        path="countries/",
        summary="Countries",
        source="public.ihr_country t",
        fields=COUNTRIES,
        filters=[icontains("name", "t.name"), exact("code", "t.code")],
        order_terms=order(COUNTRIES),
        natural_key=["t.code"],
        caching=Caching.REFERENCE,
        cadence_s=DAY,
    ),
]
