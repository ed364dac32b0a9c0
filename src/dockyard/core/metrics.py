"""Prometheus metrics: requests by route template, latency, in-flight requests, database pools.

With several workers, set PROMETHEUS_MULTIPROC_DIR (the CLI does) so `/metrics` sums every worker.
`/metrics` is not public: a scraper sends `Authorization: Bearer <METRICS_TOKEN>` or comes from an
address in METRICS_ALLOW (localhost by default). Scrapes are rate limited, and the services' own
metrics (read from the database) are computed at most once per METRICS_CACHE_S per worker; a
service whose metrics cannot be read (the database is down) reports `dockyard_service_metrics_up 0`
while the process's own metrics are still served.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

from dockyard.core.config import Settings
from dockyard.core.db import Database
from dockyard.core.errors import DockyardError, Forbidden
from dockyard.core.microcache import Microcache
from dockyard.core.proxy import address_in, networks

logger = logging.getLogger(__name__)

REQUESTS = Counter("dockyard_http_requests_total", "HTTP requests served", ["method", "route", "status"])
LATENCY = Histogram(
    "dockyard_http_request_duration_seconds",
    "Time from request to the last byte of the response",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
IN_FLIGHT = Gauge(
    "dockyard_http_requests_in_flight", "HTTP requests being served", multiprocess_mode="livesum"
)
POOL_SIZE = Gauge(
    "dockyard_db_pool_connections", "Open connections per pool", ["pool"], multiprocess_mode="livesum"
)
POOL_IN_USE = Gauge(
    "dockyard_db_pool_connections_in_use",
    "Connections checked out per pool",
    ["pool"],
    multiprocess_mode="livesum",
)

router = APIRouter(include_in_schema=False)


def observe_request(method: str, route: str, status: int, duration_s: float) -> None:
    """Count one served request and record its latency."""
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(duration_s)


def sample_pools(db: Database) -> None:
    """Record the current size and use of each pool."""
    for label, pool in db.pools().items():
        size = pool.get_size()
        POOL_SIZE.labels(label).set(size)
        POOL_IN_USE.labels(label).set(size - pool.get_idle_size())


@contextlib.asynccontextmanager
async def pool_sampler(db: Database, every_s: float = 5.0) -> AsyncIterator[None]:
    """Sample the pools every few seconds while the app runs (every worker samples its own)."""

    async def loop() -> None:
        while True:
            sample_pools(db)
            await asyncio.sleep(every_s)

    task = asyncio.create_task(loop(), name="pool-sampler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def render() -> bytes:
    """The exposition text: every worker's metrics in multiprocess mode, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return bytes(generate_latest(registry))
    return bytes(generate_latest())


def _authorize_scrape(request: Request, settings: Settings) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if token and scheme.lower() == "bearer" and hmac.compare_digest(credential.encode(), token.encode()):
        return
    client = request.client.host if request.client else ""
    if not header and address_in(client, networks(settings.metrics_allow)):
        return
    raise Forbidden(
        "Metrics are not public: send `Authorization: Bearer <METRICS_TOKEN>`, "
        "or scrape from an address listed in METRICS_ALLOW."
    )


async def _services_exposition(app: FastAPI) -> bytes:
    parts = []
    for service in app.state.services:
        if service.metrics is None:
            continue
        try:
            parts.append(await service.metrics(app))
            up = 1
        except DockyardError as exc:
            logger.warning(
                "metrics.service_unavailable", extra={"service": service.name, "error": exc.detail}
            )
            up = 0
        parts.append(
            b"# HELP dockyard_service_metrics_up Whether the service's metrics could be read\n"
            b"# TYPE dockyard_service_metrics_up gauge\n"
            + f'dockyard_service_metrics_up{{service="{service.name}"}} {up}\n'.encode()
        )
    return b"".join(parts)


def _services_cache(app: FastAPI, ttl_s: float) -> Microcache[bytes]:
    if not hasattr(app.state, "services_metrics"):
        app.state.services_metrics = Microcache[bytes](ttl_s)
    cache: Microcache[bytes] = app.state.services_metrics
    return cache


@router.get("/metrics")
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus exposition of Dockyard's metrics, then each service's own (e.g. backup ages)."""
    settings: Settings = request.app.state.settings
    _authorize_scrape(request, settings)
    client = request.client.host if request.client else "unknown"
    await request.app.state.auth.limiter.hit("metrics", settings.rate_limit_metrics, client, what="scrapes")
    services = await _services_cache(request.app, settings.metrics_cache_s).get(
        lambda: _services_exposition(request.app)
    )
    return Response(render() + services, media_type=CONTENT_TYPE_LATEST)
