"""The audit log's writer: records queued after each response, written in batches, never waited for.

A request's record is handed over after its last byte went out (`submit` never blocks); a task
started with the app writes what accumulated — up to GATEWAY_AUDIT_BATCH records, at most
GATEWAY_AUDIT_FLUSH_S after the first one — in one COPY. While the database is down, records wait
in memory (up to GATEWAY_AUDIT_QUEUE, then new ones are dropped and counted) and the writer
retries with backoff; nothing waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dockyard.core.db import Database
from dockyard.gateway import metrics, queries

logger = logging.getLogger(__name__)

FILL_NAP_S = 0.05  # while a batch fills: how long the writer sleeps between looks at the queue


@dataclass
class AuditRecord:
    """One request through the gateway (fields in queries.AUDIT_COLUMNS order)."""

    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    user_id: int | None = None
    token_id: int | None = None
    client: str | None = None
    method: str = ""
    route: str = ""
    feed: str | None = None
    cols: list[str] | None = None
    ix: int | None = None
    size: int | None = None
    decision: str = "deny"
    reason: str = ""
    upstream_status: int | None = None
    status: int = 500
    bytes_in: int = 0
    bytes_out: int = 0
    duration_ms: float = 0.0
    request_id: str | None = None

    def row(self) -> tuple[Any, ...]:
        # Spelled out: dataclasses.astuple deep-copies every field, on every request.
        return (
            self.at, self.user_id, self.token_id, self.client, self.method, self.route, self.feed, self.cols,
            self.ix, self.size, self.decision, self.reason, self.upstream_status, self.status, self.bytes_in,
            self.bytes_out, self.duration_ms, self.request_id,
        )  # fmt: skip


class AuditWriter:
    """Collects records and writes them in batches on a background task."""

    def __init__(self, db: Callable[[], Database | None], *, batch: int, flush_s: float, queue: int) -> None:
        self._db = db
        self.batch = batch
        self.flush_s = flush_s
        self.queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue(maxsize=queue)
        self.pending = 0  # taken from the queue, not yet written
        self._task: asyncio.Task[None] | None = None

    def submit(self, record: AuditRecord) -> None:
        """Queue a record; drop it (counted) when the queue is full. Never blocks."""
        try:
            self.queue.put_nowait(record.row())
        except asyncio.QueueFull:
            metrics.AUDIT_DROPPED.inc()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-audit")

    async def stop(self, *, timeout_s: float = 5.0) -> None:
        """Write what is queued (for at most `timeout_s`), then stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flushed(), timeout_s)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if not self.queue.empty() or self.pending:
            logger.warning("gateway.audit.unwritten", extra={"records": self.queue.qsize() + self.pending})

    async def flushed(self) -> None:
        """Return once every record submitted so far is written."""
        while not self.queue.empty() or self.pending:  # noqa: ASYNC110 - polled only by tests and at shutdown
            await asyncio.sleep(0.01)

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            rows = [await self.queue.get()]
            self.pending = 1
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.flush_s
            # Take what is queued, then nap until the deadline: no timer or task per record.
            while len(rows) < self.batch:
                try:
                    rows.append(self.queue.get_nowait())
                except asyncio.QueueEmpty:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    await asyncio.sleep(min(remaining, FILL_NAP_S))
                self.pending = len(rows)
            while True:
                try:
                    await self._write(rows)
                    backoff = 0.5
                    break
                except Exception as exc:  # a database error must not lose the batch or kill the writer
                    logger.warning(
                        "gateway.audit.write_failed", extra={"error": str(exc), "records": len(rows)}
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
            self.pending = 0

    async def _write(self, rows: list[tuple[Any, ...]]) -> None:
        db = self._db()
        if db is None:
            raise RuntimeError("no database")
        async with db.primary.acquire(timeout=10) as conn:
            await queries.write_audit(conn, rows)
        metrics.AUDIT_WRITTEN.inc(len(rows))
