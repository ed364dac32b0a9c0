"""Prometheus metrics: requests by route template, latency, in-flight requests, database pools.

With several workers, set PROMETHEUS_MULTIPROC_DIR (the CLI does) so `/metrics` sums every worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
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

from dockyard.core.db import Database

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


@router.get("/metrics")
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus exposition of Dockyard's metrics, then each service's own (e.g. backup ages)."""
    parts = [render()]
    for service in request.app.state.services:
        if service.metrics is not None:
            parts.append(await service.metrics(request.app))
    return Response(b"".join(parts), media_type=CONTENT_TYPE_LATEST)
