"""ihr: the Internet Health Report API under /ihr (specs/ihr-api.md, docs/ihr.md).

Errors are rendered DRF-style, `{"detail": ...}`, as the legacy API did. The 18 public lists are
declared in `endpoints` and answered in three stages (`plan` → `queries` → `response`); the user
routes keep the accounts' monitored ASes and channels (/ihr/api/user/…).
"""

from __future__ import annotations

from dockyard.core.errors import DRF_DETAIL
from dockyard.core.services import Link, Service
from dockyard.ihr import cache, routes, seed
from dockyard.ihr.settings import IhrSettings

router = routes.router

service = Service(
    name="ihr",
    title="Internet Health Report",
    description=(
        "Internet Health Report API: AS hegemony, network delay, disconnections and more, "
        "compatible with the legacy API; and the ASes a user monitors."
    ),
    router=router,
    prefix="/ihr",
    links=(Link("API", "/docs#/ihr"), Link("swagger.json", "/ihr/api/swagger.json")),
    error_style=DRF_DETAIL,
    lifespan=cache.lifespan,
    seeder=seed.seed,
    settings=IhrSettings,
    plain_routes=routes.PLAIN_ROUTES,
)

__all__ = ["router", "service"]
