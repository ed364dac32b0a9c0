"""The 18 public list endpoints under /ihr/api/, declared as data (specs/ihr-api.md §1b).

Field names, filters and ordering names are the legacy API's; each module declares the lists of one
kind of data, and ENDPOINTS keeps the legacy order (the routes and the document follow it).
"""

from __future__ import annotations

from dockyard.ihr.endpoint import Endpoint
from dockyard.ihr.endpoints import atlas, disco, hegemony, links, networks

ENDPOINTS: list[Endpoint] = [
    *networks.ENDPOINTS,
    *links.ENDPOINTS,
    *disco.ENDPOINTS,
    *hegemony.ENDPOINTS,
    *atlas.ENDPOINTS,
    hegemony.TRACEROUTE,
]

__all__ = ["ENDPOINTS"]
