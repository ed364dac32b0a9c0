"""What the data routes need at run time, built by the service's lifespan and kept on `app.state.gateway`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from dockyard.core.db import Database
from dockyard.core.errors import ServiceUnavailable
from dockyard.core.services import settings_of
from dockyard.gateway.audit import AuditWriter
from dockyard.gateway.settings import GatewaySettings
from dockyard.gateway.upstream import Upstream

logger = logging.getLogger(__name__)


@dataclass
class GatewayRuntime:
    """The upstream (None when LBASEDB_URL is unset), the audit writer, the settings and the database."""

    settings: GatewaySettings
    upstream: Upstream | None
    audit: AuditWriter
    app: FastAPI

    def db(self) -> Database:
        db: Database | None = getattr(self.app.state, "db", None)
        if db is None:
            raise ServiceUnavailable("The database is not configured for this process.")
        return db


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the session to Lbasedb and start the audit writer; flush and close them at the end."""
    settings = settings_of(app, GatewaySettings)
    upstream = Upstream(str(settings.lbasedb_url), settings) if settings.lbasedb_url is not None else None
    if upstream is None:
        logger.warning("gateway.not_configured: LBASEDB_URL is not set; data routes answer 503")
    audit = AuditWriter(
        lambda: getattr(app.state, "db", None),
        batch=settings.audit_batch,
        flush_s=settings.audit_flush_s,
        queue=settings.audit_queue,
    )
    audit.start()
    app.state.gateway = GatewayRuntime(settings, upstream, audit, app)
    try:
        yield
    finally:
        await audit.stop()
        if upstream is not None:
            await upstream.close()
