"""General API budgets: every request counts against its caller's daily budget.

Callers with a valid access token or API token are counted per user (RATE_LIMIT_USER); everyone
else per client IP (RATE_LIMIT_ANONYMOUS). An API token is looked up here, once per request (auth.py
reuses the row): an unknown, expired or revoked `dy_…` token is answered 401 on every route, public
ones included, so made-up tokens never buy a budget of their own. An invalid JWT counts as
anonymous (routes that need a user refuse it). Probes and static files are not counted.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.accounts.auth import VERIFIED_API_TOKEN, VERIFIED_CLAIMS, AuthRuntime, lookup_api_token
from dockyard.accounts.tokens import API_TOKEN_PREFIX
from dockyard.core.db import translated_errors
from dockyard.core.errors import DockyardError, ServiceUnavailable, Unauthorized

EXEMPT = ("/healthz", "/readyz", "/metrics", "/static/", "/docs", "/openapi.json")


class BudgetMiddleware:
    """Pure ASGI: refuse with 429 (in the path's error style) once a caller's budget is spent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        auth: AuthRuntime | None = getattr(state, "auth", None)
        if auth is None:
            await self.app(scope, receive, send)
            return
        try:
            name, spec, key = await self._budget(scope, auth)
            await auth.limiter.hit(name, spec, key)
        except DockyardError as exc:  # 401 for an unknown API token, 429, 503 with the database down
            await self._refuse(scope, receive, send, exc)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _budget(scope: Scope, auth: AuthRuntime) -> tuple[str, str, str]:
        settings = auth.settings
        ip = (scope.get("client") or ("unknown",))[0]
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "bearer" and credential:
            if credential.startswith(API_TOKEN_PREFIX):
                db = getattr(scope["app"].state, "db", None)
                if db is None:
                    raise ServiceUnavailable("Authentication is not available in this process.")
                with translated_errors():
                    row = await lookup_api_token(db, credential)
                if row is None:
                    raise Unauthorized("The API token is invalid, expired or revoked.")
                scope[VERIFIED_API_TOKEN] = row  # spares auth.py a second lookup
                return "user", settings.rate_limit_user, str(row["id"])
            try:
                claims = auth.signer.verify(credential)
            except DockyardError:
                pass  # an invalid token is anonymous here, and refused by the route that needs a user
            else:
                scope[VERIFIED_CLAIMS] = claims  # spares auth.py a second verification
                return "user", settings.rate_limit_user, str(claims.user_id)
        return "anonymous", settings.rate_limit_anonymous, ip

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, exc: DockyardError) -> None:
        request = Request(scope, receive)
        renderer = scope["app"].state.error_styles.for_path(scope["path"])
        response = renderer(request, exc.status, exc.detail, exc.headers)
        await response(scope, receive, send)
