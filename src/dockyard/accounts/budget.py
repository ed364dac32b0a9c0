"""General API budgets: every request counts against its caller's daily budget.

Callers with a valid access token are counted per user (RATE_LIMIT_USER); everyone else per client
IP (RATE_LIMIT_ANONYMOUS). Requests with an API token are counted per IP here at the user rate,
and per user once the token is checked (auth.py). Probes and static files are not counted.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.accounts.auth import VERIFIED_CLAIMS
from dockyard.accounts.tokens import API_TOKEN_PREFIX
from dockyard.core.errors import DockyardError, TooManyRequests

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
        auth = getattr(state, "auth", None)
        if auth is None:
            await self.app(scope, receive, send)
            return
        name, spec, key = self._budget(scope, auth)
        try:
            await auth.limiter.hit(name, spec, key)
        except TooManyRequests as exc:
            await self._refuse(scope, receive, send, exc)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _budget(scope: Scope, auth: object) -> tuple[str, str, str]:
        settings = auth.settings  # type: ignore[attr-defined]
        ip = (scope.get("client") or ("unknown",))[0]
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "bearer" and credential:
            if credential.startswith(API_TOKEN_PREFIX):
                return "api-token-ip", settings.rate_limit_user, ip
            try:
                claims = auth.signer.verify(credential)  # type: ignore[attr-defined]
            except DockyardError:
                pass  # an invalid token is anonymous here, and refused by the route that needs a user
            else:
                scope[VERIFIED_CLAIMS] = claims  # spares auth.py a second verification
                return "user", settings.rate_limit_user, str(claims.user_id)
        return "anonymous", settings.rate_limit_anonymous, ip

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, exc: TooManyRequests) -> None:
        request = Request(scope, receive)
        renderer = scope["app"].state.error_styles.for_path(scope["path"])
        response = renderer(request, exc.status, exc.detail, exc.headers)
        await response(scope, receive, send)
