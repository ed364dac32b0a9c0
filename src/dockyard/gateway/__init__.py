"""gateway: Lbasedb's API behind users, groups and per-feed grants, streamed both ways.

Data routes (`/gateway/lbasedb/…`, proxy.py) keep Lbasedb's contract (specs/gateway-lbasedb.md
section 1) and add the permission model of section 3 (rights.py, service.py); the admin API
(`/gateway/api/v1`, routes.py) manages grants and reads the audit log. docs/gateway.md tells it all.
"""

from __future__ import annotations

from dockyard.core.services import Link, Service
from dockyard.gateway import routes, runtime
from dockyard.gateway.auth import ADMIN, CREATE_FEED, SCOPES
from dockyard.gateway.commands import gateway_app
from dockyard.gateway.errors import LBASEDB_STYLE
from dockyard.gateway.settings import GatewaySettings

router = routes.router

service = Service(
    name="gateway",
    title="Gateway",
    description="Lbasedb's API behind users, groups and per-feed grants, with an audit log; "
    "streamed both ways.",
    router=router,
    prefix="/gateway",
    links=(Link("Status", "/gateway/"), Link("Admin API", "/docs#/gateway")),
    lifespan=runtime.lifespan,
    permissions=(ADMIN, CREATE_FEED, *SCOPES),
    settings=GatewaySettings,
    commands={"gateway": gateway_app},
    body_limits={"/lbasedb": None},
    plain_routes=routes.DATA_ROUTES,
    # Errors under /gateway/lbasedb/ (the core's 413, 429 and 503 included) speak Lbasedb's shape;
    # the admin API next to them keeps problem+json.
    error_styles={"/lbasedb/": LBASEDB_STYLE},
)

__all__ = ["router", "service"]
