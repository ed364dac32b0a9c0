"""Liveness and readiness: `/healthz` (the process answers) and `/readyz` (it can do real work)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
from fastapi import APIRouter, Request

from dockyard.core.db import Database
from dockyard.core.errors import ServiceUnavailable
from dockyard.core.responses import JSONResponse

router = APIRouter(tags=["health"])

READY_TIMEOUT_S = 2.0

APPLIED_VERSIONS = """
SELECT coalesce(array_agg(version ORDER BY version), '{}')
FROM public.schema_migrations
"""


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests; it touches nothing else."""
    return {"status": "ok"}


async def _schema_state(db: Database, expected: list[str]) -> dict[str, Any]:
    async with db.primary.acquire(timeout=READY_TIMEOUT_S) as conn:
        exists = await conn.fetchval("SELECT to_regclass('public.schema_migrations') IS NOT NULL")
        applied: list[str] = list(await conn.fetchval(APPLIED_VERSIONS)) if exists else []
    pending = [version for version in expected if version not in set(applied)]
    return {"applied": len(applied), "expected": len(expected), "pending": pending, "current": not pending}


@router.get(
    "/readyz",
    summary="Readiness: database reachable and schema current",
    responses={503: {"description": "Database unreachable or migrations pending"}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers and every migration file is applied; 503 with the reason otherwise.

    With read replicas, `replicas` gives each one's state as last probed (`ok`, `down`, `lagging`).
    """
    db: Database | None = getattr(request.app.state, "db", None)
    expected: list[str] = request.app.state.expected_migrations
    began = time.perf_counter()
    if db is None:
        return JSONResponse({"status": "unavailable", "database": "not configured"}, status_code=503)
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            schema = await _schema_state(db, expected)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ServiceUnavailable) as exc:
        cause = exc.__cause__ if isinstance(exc, ServiceUnavailable) and exc.__cause__ else exc
        down = {"status": "unavailable", "database": "unreachable", "error": type(cause).__name__}
        return JSONResponse(_with_replicas(down, db), status_code=503)
    latency_ms = round((time.perf_counter() - began) * 1000, 2)
    body: dict[str, Any] = {
        "status": "ready" if schema["current"] else "unavailable",
        "database": "ok",
        "latency_ms": latency_ms,
        "schema": schema,
    }
    if not schema["current"]:
        body["reason"] = f"{len(schema['pending'])} migration(s) pending; run `dockyard db migrate`"
    return JSONResponse(_with_replicas(body, db), status_code=200 if schema["current"] else 503)


def _with_replicas(body: dict[str, Any], db: Database) -> dict[str, Any]:
    """`body` plus each read replica's last known state (readiness depends on the primary only:
    reads fall back to it while a replica is down or lagging)."""
    replicas = db.replica_states()
    return {**body, "replicas": replicas} if replicas else body
