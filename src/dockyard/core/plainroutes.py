"""Plain ASGI routes matched before FastAPI's router, inside every middleware.

A service whose routes are raw ASGI apps (no FastAPI parameters, outside the OpenAPI document —
the gateway's data routes) declares them in `Service.plain_routes`. Matching them costs one
regular expression per route, where FastAPI's router walks every included router's routes twice
(once to match, once to handle); on a small request through the gateway that walk cost more than
the request's own work. Everything outside the router still applies: request ids, access log and
metrics, security headers, forwarded headers, compression, the error boundary, body limits and the
request budget.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send


class PlainRoutesMiddleware:
    """Send requests matching one of `routes` (full paths) straight to it; the rest to the router."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[Route]) -> None:
        self.app = app
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    scope["route"] = route  # the access log's and metrics' route template
                    await route.handle(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def prefixed(prefix: str, route: Route) -> Route:
    """`route` under `prefix`: the same endpoint and methods, the path in full."""
    methods = sorted(route.methods - {"HEAD"}) if route.methods else None
    return Route(
        prefix + route.path,
        endpoint=route.endpoint,
        methods=methods,
        name=route.name,
        include_in_schema=False,
    )
