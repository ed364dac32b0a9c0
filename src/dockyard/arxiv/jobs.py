"""Searches as jobs: recorded before the first call, updated after each slice, finished with the store.

A job row is committed before arXiv is called, so a search is never silent: `queued`, `running`
(with slices and entries done, and a heartbeat), then `done` (with its query) or `failed` (with
the message and status the caller saw). A running job whose worker stopped sending heartbeats reads
as `stalled`; nothing of it was stored, since a search is stored in one transaction at its end.

A search of one slice runs in the request that asked for it. Longer ones are queued and taken by the
`Runner` of any process serving the app (`FOR UPDATE SKIP LOCKED`, so each job runs once); a runner
that stops cleanly puts its unfinished jobs back in the queue, and the answers it had fetched are
in the cache for whoever takes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI

from dockyard.arxiv.atom import Entry
from dockyard.arxiv.client import ArxivClient, Page
from dockyard.arxiv.settings import ArxivSettings
from dockyard.arxiv.store import Stored, fill_search_text, store_search
from dockyard.arxiv.syntax import Request
from dockyard.core.db import Connection, Pool, translate
from dockyard.core.errors import Conflict, DockyardError
from dockyard.core.services import settings_of

logger = logging.getLogger(__name__)

CREATE = """
INSERT INTO arxiv.search_jobs (user_id, request, canonical, state, slices_total, worker, started_at)
VALUES ($1, $2::jsonb, $3, $4, $5, $6, CASE WHEN $4 = 'running' THEN now() END)
RETURNING id
"""
CLAIM_NEXT = """
UPDATE arxiv.search_jobs SET state = 'running', worker = $1, started_at = now(), heartbeat_at = now()
WHERE id = (SELECT id FROM arxiv.search_jobs WHERE state = 'queued'
            ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id, user_id, request
"""
PROGRESS = """
UPDATE arxiv.search_jobs
SET slices_done = $3, slices_total = $4, entries_done = $5, total_results = $6, heartbeat_at = now()
WHERE id = $1 AND worker = $2 AND state = 'running'
"""
HEARTBEAT = """
UPDATE arxiv.search_jobs SET heartbeat_at = now()
WHERE id = ANY($1::bigint[]) AND worker = $2 AND state = 'running'
"""
FINISH = """
UPDATE arxiv.search_jobs
SET state = 'done', query_id = $3, slices_done = $4, slices_total = $4, entries_done = $5,
    total_results = $6, finished_at = now(), heartbeat_at = now()
WHERE id = $1 AND worker = $2 AND state = 'running'
"""
FAIL = """
UPDATE arxiv.search_jobs
SET state = 'failed', error = $3, error_status = $4, finished_at = now(), heartbeat_at = now()
WHERE id = $1 AND worker = $2 AND state = 'running'
"""
REQUEUE = """
UPDATE arxiv.search_jobs SET state = 'queued', worker = NULL, heartbeat_at = now()
WHERE id = ANY($1::bigint[]) AND worker = $2 AND state = 'running'
"""


@dataclass(frozen=True)
class Job:
    """A search to run, as recorded."""

    id: int
    user_id: int | None
    request: Request


@dataclass(frozen=True)
class Progress:
    """Where a running search is: what a progress bar shows."""

    slices_done: int
    slices_total: int
    entries_done: int
    total_results: int | None


def worker_name() -> str:
    """A name for this process's runner, unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def request_json(request: Request) -> str:
    """How a job records its request."""
    return orjson.dumps(
        {
            "search_query": request.search_query,
            "id_list": list(request.id_list),
            "start": request.start,
            "max_results": request.max_results,
            "sort_by": request.sort_by,
            "sort_order": request.sort_order,
        }
    ).decode()


def request_from(document: Any) -> Request:
    """The Request a job recorded with `request_json`."""
    data = orjson.loads(document) if isinstance(document, str | bytes) else document
    return Request(
        search_query=data["search_query"],
        id_list=tuple(data["id_list"]),
        start=data["start"],
        max_results=data["max_results"],
        sort_by=data["sort_by"],
        sort_order=data["sort_order"],
    )


async def create(
    conn: Connection, *, request: Request, user_id: int | None, page_size: int, worker: str | None
) -> int:
    """Record a job: `running` for `worker` when it runs it at once, else `queued`; its id."""
    state = "running" if worker else "queued"
    slices = len(request.slices(page_size))
    job_id: int = await conn.fetchval(
        CREATE, user_id, request_json(request), request.canonical(), state, slices, worker
    )
    return job_id


async def claim_next(conn: Connection, *, worker: str) -> Job | None:
    """Take the oldest queued job for `worker`, or None when the queue is empty."""
    row = await conn.fetchrow(CLAIM_NEXT, worker)
    if row is None:
        return None
    return Job(row["id"], row["user_id"], request_from(row["request"]))


def _slices_needed(request: Request, total: int, page_size: int) -> int:
    available = max(0, min(total, request.start + request.max_results) - request.start)
    return max(1, math.ceil(available / page_size))


async def execute(
    pool: Pool,
    client: ArxivClient,
    job: Job,
    *,
    worker: str,
    page_size: int,
    on_progress: Callable[[Progress], None] | None = None,
) -> Stored:
    """Fetch every slice of `job`, then store the search and finish the job in one transaction.

    A failure marks the job `failed` with the message and status the caller gets, and stores nothing.
    """
    began = time.monotonic()
    try:
        pages: list[tuple[int, Page]] = []
        slices = job.request.slices(page_size)
        planned = len(slices)
        entries = 0
        for index, part in enumerate(slices):
            page = await client.fetch(part)
            pages.append((part.start, page))
            entries += len(page.feed.entries)
            total = pages[0][1].feed.total_results
            planned = min(len(slices), _slices_needed(job.request, total, page_size))
            progress = Progress(index + 1, planned, entries, total)
            async with pool.acquire() as conn:
                await conn.execute(PROGRESS, job.id, worker, index + 1, planned, entries, total)
            if on_progress is not None:
                on_progress(progress)
            if index + 1 >= planned:
                break
        ranked: list[tuple[int, Entry]] = [
            (first + offset, entry) for first, page in pages for offset, entry in enumerate(page.feed.entries)
        ]
        total = pages[0][1].feed.total_results
        async with pool.acquire() as conn, conn.transaction():
            stored = await store_search(
                conn,
                request=job.request,
                ranked=ranked,
                total_results=total,
                status=pages[-1][1].status,
                from_cache=all(page.from_cache for _, page in pages),
                user_id=job.user_id,
                duration_ms=round((time.monotonic() - began) * 1000),
            )
            finished = await conn.execute(FINISH, job.id, worker, stored.id, len(pages), len(ranked), total)
            if finished != "UPDATE 1":
                raise Conflict(f"search job {job.id} was taken over by another worker; nothing was stored")
    except DockyardError as exc:
        await _fail(pool, job, worker, exc.detail, exc.status)
        raise
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        mapped = translate(exc)
        if mapped is None:
            await _fail(pool, job, worker, "the search failed unexpectedly; nothing was stored", 500)
            raise
        await _fail(pool, job, worker, mapped.detail, mapped.status)
        raise mapped from exc
    logger.log(
        25, "arxiv.search.stored", extra={"job_id": job.id, "query_id": stored.id, "entries": stored.entries}
    )
    return stored


async def fill_text_index(pool: Pool) -> int:
    """Compute the tsvector of papers stored without one (after their search committed); rows filled.

    A failure is logged and left for the next call: text filters match such papers meanwhile.
    """
    try:
        async with pool.acquire() as conn:
            filled = await fill_search_text(conn)
    except DockyardError as exc:
        logger.warning("arxiv.search_text.fill_failed", extra={"error": exc.detail})
        return 0
    if filled:
        logger.info("arxiv.search_text.filled", extra={"papers": filled})
    return filled


async def _fail(pool: Pool, job: Job, worker: str, message: str, status: int) -> None:
    try:
        async with pool.acquire() as conn:
            await conn.execute(FAIL, job.id, worker, message, status)
    except DockyardError:
        logger.warning("arxiv.search.fail_unrecorded", extra={"job_id": job.id, "error": message})
    logger.warning("arxiv.search.failed", extra={"job_id": job.id, "status": status, "error": message})


class Runner:
    """This process's searches: runs queued ones (with ARXIV_RUNNER), sends the heartbeats of every
    search running here (queued or asked for in a request), requeues them on a clean stop, and
    computes the tsvector of the papers a search stored once it has committed (and every
    `job_poll_s`, for papers another process stored and did not get to)."""

    def __init__(self, pool: Pool, client: ArxivClient, settings: ArxivSettings) -> None:
        self.pool = pool
        self.client = client
        self.settings = settings
        self.worker = worker_name()
        self._wake = asyncio.Event()
        self._stored = asyncio.Event()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._inline: set[int] = set()
        self._loops: list[asyncio.Task[None]] = []

    async def run_now(self, job_id: int, request: Request, user_id: int | None) -> Stored:
        """Run a job created `running` for this worker, in the caller's task, with heartbeats."""
        self._inline.add(job_id)
        try:
            stored = await execute(
                self.pool,
                self.client,
                Job(job_id, user_id, request),
                worker=self.worker,
                page_size=self.settings.page_size,
            )
        finally:
            self._inline.discard(job_id)
        self._stored.set()
        return stored

    def wake(self) -> None:
        """Look for queued jobs now (a search was just queued in this process)."""
        self._wake.set()

    def start(self, *, claim: bool) -> None:
        """Start the heartbeat loop and, when `claim`, the loop that takes queued jobs."""
        self._loops = [
            asyncio.create_task(self._heartbeat_loop()),
            asyncio.create_task(self._text_index_loop()),
        ]
        if claim:
            self._loops.append(asyncio.create_task(self._claim_loop()))

    async def stop(self) -> None:
        """Stop the loops and the jobs in progress, and put those jobs back in the queue."""
        unfinished = list(self._running)
        for task in (*self._loops, *self._running.values()):
            task.cancel()
        await asyncio.gather(*self._loops, *self._running.values(), return_exceptions=True)
        if unfinished:
            try:
                async with self.pool.acquire() as conn:
                    await conn.execute(REQUEUE, unfinished, self.worker)
            except DockyardError:
                logger.warning("arxiv.runner.requeue_failed", extra={"jobs": unfinished})

    async def _claim_loop(self) -> None:
        while True:
            try:
                while len(self._running) < self.settings.job_concurrency:
                    async with self.pool.acquire() as conn:
                        job = await claim_next(conn, worker=self.worker)
                    if job is None:
                        break
                    self._running[job.id] = asyncio.create_task(self._run(job))
            except DockyardError as exc:  # the database is away: try again at the next poll
                logger.warning("arxiv.runner.claim_failed", extra={"error": exc.detail})
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.job_poll_s)

    async def _run(self, job: Job) -> None:
        try:
            await execute(self.pool, self.client, job, worker=self.worker, page_size=self.settings.page_size)
            self._stored.set()
        except DockyardError:
            pass  # recorded on the job
        except Exception:
            logger.exception("arxiv.runner.job_crashed", extra={"job_id": job.id})
        finally:
            self._running.pop(job.id, None)
            self._wake.set()

    async def _text_index_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stored.wait(), timeout=self.settings.job_poll_s)
            self._stored.clear()
            try:
                await fill_text_index(self.pool)
            except Exception:  # keep the loop: text filters still match the rows it did not fill
                logger.exception("arxiv.search_text.fill_crashed")

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            alive = [*self._running, *self._inline]
            if alive:
                try:
                    async with self.pool.acquire() as conn:
                        await conn.execute(HEARTBEAT, alive, self.worker)
                except DockyardError as exc:
                    logger.warning("arxiv.runner.heartbeat_failed", extra={"error": exc.detail})


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One arXiv client and one `Runner` per process (app.state.arxiv_client, app.state.arxiv_runner)."""
    settings = settings_of(app, ArxivSettings)
    client = ArxivClient(settings, app.state.db.primary)
    runner = Runner(app.state.db.primary, client, settings)
    app.state.arxiv_client = client
    app.state.arxiv_runner = runner
    if not settings.contact:
        logger.warning("arxiv.contact_missing: set ARXIV_CONTACT so arXiv knows who calls it")
    runner.start(claim=settings.runner)
    try:
        yield
    finally:
        await runner.stop()
        await client.aclose()
