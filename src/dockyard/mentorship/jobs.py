"""The daily jobs, run once per slot however many workers and replicas tick.

- `complete_relations` (daily at 23:59 UTC, as the original): ACCEPTED relations whose end date
  has passed become COMPLETED; PENDING requests whose end date has passed become CANCELLED (the
  original left them pending for ever).
- `purge_unverified` (daily at 00:00 UTC; the original ran it monthly): registrations still
  unverified after MENTORSHIP_UNVERIFIED_PURGE_DAYS are removed as a deleted account is.

A run claims its (job, slot) row in `mentorship.job_runs` inside the transaction doing the work:
a second claimant waits on the row's unique key and then skips; a run that fails rolls its claim
back, so the next tick tries again. The original ran its APScheduler jobs in every worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI

from dockyard.core.db import Connection, Pool
from dockyard.core.errors import DockyardError
from dockyard.core.logging import NOTICE
from dockyard.core.services import settings_of
from dockyard.mentorship import profiles
from dockyard.mentorship.settings import MentorshipSettings

log = logging.getLogger("dockyard.mentorship.jobs")

CLAIM = """INSERT INTO mentorship.job_runs (job, slot, worker) VALUES ($1, $2, $3)
ON CONFLICT (job, slot) DO NOTHING RETURNING true"""
RECORD = "UPDATE mentorship.job_runs SET rows = $3 WHERE job = $1 AND slot = $2"

COMPLETE = "UPDATE mentorship.relations SET state = 5 WHERE state = 2 AND end_date < now()"
EXPIRE = "UPDATE mentorship.relations SET state = 4 WHERE state = 1 AND end_date < now()"
UNVERIFIED = """SELECT p.user_id FROM mentorship.profiles p JOIN accounts.users u ON u.id = p.user_id
WHERE p.deleted_at IS NULL AND u.email_verified_at IS NULL
  AND p.registration_date < now() - make_interval(days => $1)
ORDER BY p.user_id"""


async def complete_relations(conn: Connection, settings: MentorshipSettings) -> int:
    """Complete overdue ACCEPTED relations and expire overdue PENDING requests; rows changed."""
    completed = await conn.execute(COMPLETE)
    expired = await conn.execute(EXPIRE)
    return int(completed.split()[-1]) + int(expired.split()[-1])


async def purge_unverified(conn: Connection, settings: MentorshipSettings) -> int:
    """Remove registrations unverified for too long; how many."""
    stale = await conn.fetch(UNVERIFIED, settings.unverified_purge_days)
    for row in stale:
        await profiles.remove_member(conn, row["user_id"])
    return len(stale)


@dataclass(frozen=True)
class Job:
    """A daily job: its name, the UTC time of day it is due, and its work."""

    name: str
    at: dt.time
    work: Callable[[Connection, MentorshipSettings], Awaitable[int]]

    def slot(self, now: dt.datetime) -> dt.datetime:
        """The latest time this job was due at or before `now`."""
        today = dt.datetime.combine(now.astimezone(dt.UTC).date(), self.at, tzinfo=dt.UTC)
        return today if today <= now else today - dt.timedelta(days=1)


JOBS = (
    Job("complete_relations", dt.time(23, 59), complete_relations),
    Job("purge_unverified", dt.time(0, 0), purge_unverified),
)


def worker_name() -> str:
    """Who ran a job: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_due(
    pool: Pool, settings: MentorshipSettings, *, now: dt.datetime | None = None, worker: str | None = None
) -> dict[str, int]:
    """Run each job whose latest slot nobody has run yet; {job: rows} for the ones this call ran."""
    now = now or dt.datetime.now(dt.UTC)
    ran: dict[str, int] = {}
    for job in JOBS:
        slot = job.slot(now)
        async with pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(CLAIM, job.name, slot, worker or worker_name()):
                continue
            rows = await job.work(conn, settings)
            await conn.execute(RECORD, job.name, slot, rows)
        ran[job.name] = rows
        log.log(
            NOTICE, "mentorship.job.done", extra={"job": job.name, "slot": slot.isoformat(), "rows": rows}
        )
    return ran


async def _loop(pool: Pool, settings: MentorshipSettings) -> None:
    while True:
        try:
            await run_due(pool, settings)
        except (DockyardError, OSError) as exc:  # the database is away: try again next tick
            log.warning("mentorship.job.skipped", extra={"error": str(exc)})
        except Exception:
            log.exception("mentorship.job.failed")
        await asyncio.sleep(settings.scheduler_interval_s)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Tick the daily jobs in the background when MENTORSHIP_SCHEDULER is on."""
    settings = settings_of(app, MentorshipSettings)
    if not settings.scheduler:
        yield
        return
    task = asyncio.create_task(_loop(app.state.db.primary, settings), name="mentorship-jobs")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
