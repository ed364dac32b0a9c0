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
    """Send requests matching one of `routes` (full paths) straight to it; the rest to the router.

    Routes without parameters are found by their path in a dict, the others by the path's first
    segment: a request for another service pays one lookup, not one match per plain route.
    """

    def __init__(self, app: ASGIApp, *, routes: Sequence[Route]) -> None:
        self.app = app
        self.exact = {route.path: route for route in routes if "{" not in route.path}
        self.by_segment: dict[str, list[Route]] = {}
        for route in routes:
            if "{" in route.path:
                self.by_segment.setdefault(_first_segment(route.path), []).append(route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            route = self.exact.get(path)
            for candidate in (route,) if route is not None else self.by_segment.get(_first_segment(path), ()):
                match, child_scope = candidate.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    scope["route"] = candidate  # the access log's and metrics' route template
                    await candidate.handle(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _first_segment(path: str) -> str:
    return path.split("/", 2)[1] if path.count("/") >= 1 else ""


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
