"""ihr: the Internet Health Report API under /ihr (specs/ihr-api.md, docs/ihr.md).

Errors are rendered DRF-style, `{"detail": ...}`, as the legacy API did. `api` holds the 18 public
list endpoints (declared in `endpoints`, answered by `listing`), `user` the user features on
Dockyard accounts (/ihr/api/user/…).
"""

from __future__ import annotations

from fastapi import APIRouter

from dockyard.core.errors import DRF_DETAIL
from dockyard.core.services import Link, Service
from dockyard.ihr import api, cache, seed, user
from dockyard.ihr.settings import IhrSettings

router = APIRouter()
router.include_router(user.router)
router.include_router(api.router)

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
)

__all__ = ["router", "service"]
