"""Compose the ASGI app: core middleware and routes, plus each enabled service's router."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path

import asyncpg
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware

from dockyard import __version__
from dockyard.accounts import permissions
from dockyard.accounts.auth import AuthRuntime
from dockyard.accounts.budget import BudgetMiddleware
from dockyard.accounts.mail import Mailer
from dockyard.accounts.tokens import TokenSigner
from dockyard.core import embedded, health, metrics, pages
from dockyard.core.bodylimit import BodyLimitMiddleware
from dockyard.core.config import Settings, get_settings
from dockyard.core.db import Database, install_db_error_handlers, open_database
from dockyard.core.errors import ErrorStyles, ServiceUnavailable, install_error_handlers
from dockyard.core.http import (
    ErrorBoundaryMiddleware,
    GZipMiddleware,
    ObserveMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from dockyard.core.logging import configure_logging
from dockyard.core.migrations import expected_versions
from dockyard.core.openapi import exact_openapi
from dockyard.core.plainroutes import PlainRoutesMiddleware, prefixed
from dockyard.core.proxy import ForwardedMiddleware
from dockyard.core.ratelimit import RateLimiter
from dockyard.core.responses import JSONResponse
from dockyard.core.services import Service, ServiceSettings, load_services

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """One backend, five data services on a shared core.

Each service keeps the contract of the system it succeeds; see the service's section below.
"""


def _lifespan(
    settings: Settings, services: Sequence[Service]
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if settings.database_url is not None:
                url = settings.database_url.get_secret_value()
            else:
                server = await asyncio.to_thread(embedded.start, settings.data_dir)
                stack.callback(server.stop)
                url = server.url()
            db = await open_database(url, settings)
            stack.push_async_callback(db.close)
            app.state.db = db
            app.state.database_url = url
            await _sync_permissions(db, services)
            await stack.enter_async_context(metrics.pool_sampler(db))
            for service in services:
                if service.lifespan is not None:
                    await stack.enter_async_context(service.lifespan(app))
            yield

    return lifespan


async def _sync_permissions(db: Database, services: Sequence[Service]) -> None:
    declared = [permission for service in services for permission in service.permissions]
    if not declared:
        return
    try:
        async with db.primary.acquire(timeout=5) as conn:
            await permissions.sync(conn, declared)
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        logger.warning("permissions not synced: the accounts schema is missing; run `dockyard db migrate`")
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ServiceUnavailable) as exc:
        logger.warning("permissions not synced: database unavailable", extra={"error": str(exc)})


def create_app(
    settings: Settings | None = None,
    *,
    services: Sequence[Service] | None = None,
    service_settings: Sequence[ServiceSettings] = (),
    configure_logs: bool = True,
) -> FastAPI:
    """Build the Dockyard app for `settings` with `services` (default: those SERVICES enables).

    `service_settings` gives services their settings objects (tests build their own); a service's
    settings not given here are read from the environment on first use.
    """
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(fmt=settings.log_format, level=settings.log_level)
    if services is None:
        services = load_services(settings.services)

    app = FastAPI(
        title="Dockyard",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        default_response_class=JSONResponse,
        lifespan=_lifespan(settings, services),
    )
    app.state.settings = settings
    app.state.services = list(services)
    app.state.service_settings = {type(given): given for given in service_settings}
    app.state.expected_migrations = expected_versions(settings.migrations_dir)
    app.state.error_styles = styles = ErrorStyles()
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    app.state.auth = AuthRuntime(
        signer=TokenSigner(settings),
        limiter=RateLimiter(redis_url, timeout_s=settings.redis_timeout_s),
        settings=settings,
    )
    app.state.mailer = Mailer(settings)

    install_error_handlers(app, styles)
    install_db_error_handlers(app)

    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for service in services:
        app.include_router(service.router, prefix=service.prefix)
        if service.error_style is not None:
            styles.register(service.prefix + "/", service.error_style)
        for sub_prefix, style in service.error_styles.items():
            styles.register(service.prefix + sub_prefix, style)
    app.openapi = exact_openapi(app, styles)  # type: ignore[method-assign]

    # add_middleware puts each new layer outside the previous ones: innermost first. The error
    # boundary sits inside CORS and the security headers, so its answers carry theirs; forwarded
    # headers are settled before anything below reads the client, the scheme or the host.
    plain = [prefixed(service.prefix, route) for service in services for route in service.plain_routes]
    if plain:
        app.add_middleware(PlainRoutesMiddleware, routes=plain)
    app.add_middleware(BudgetMiddleware)
    body_limits = {
        service.prefix + path: limit for service in services for path, limit in service.body_limits.items()
    }
    app.add_middleware(BodyLimitMiddleware, default=settings.max_body_bytes, limits=body_limits)
    app.add_middleware(ErrorBoundaryMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes)
    app.add_middleware(
        ForwardedMiddleware, trusted=settings.trusted_proxies, allowed_hosts=settings.served_hosts()
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts_max_age_s=settings.hsts_max_age_s)
    app.add_middleware(ObserveMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app
