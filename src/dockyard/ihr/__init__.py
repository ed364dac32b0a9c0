"""ihr: the Internet Health Report API under /ihr (specs/ihr-api.md, docs/ihr.md).

Errors are rendered DRF-style, `{"detail": ...}`, as the legacy API did. Today the package holds
the user features on Dockyard accounts (`user`: /ihr/api/user/…); each group of the public data
endpoints joins `router` as its own module.
"""

from __future__ import annotations

from fastapi import APIRouter

from dockyard.core.errors import render_detail
from dockyard.core.services import Link, Service
from dockyard.ihr import user

router = APIRouter()
router.include_router(user.router)

service = Service(
    name="ihr",
    title="Internet Health Report",
    description=(
        "Internet Health Report API: the ASes a user monitors and how they are notified, "
        "with the public data endpoints to follow."
    ),
    router=router,
    prefix="/ihr",
    links=(Link("API", "/docs#/ihr%20user"),),
    error_renderer=render_detail,
)

__all__ = ["router", "service"]
