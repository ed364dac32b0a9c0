"""The scheduler: cron schedules become `scheduled` runs, due runs are executed exactly once.

Every tick (`BACKUPS_SCHEDULER_INTERVAL_S`):

1. plan: each enabled schedule's slots for the next `horizon` (in the schedule's time zone, none
   before the schedule was created) are inserted as `scheduled` runs. Only missing slots are
   inserted (a slot that exists costs no run id), and the one-run-per-slot index makes racing
   planners harmless, so any number of schedulers may plan; future slots a schedule no longer
   names are removed (only the ones the scheduler created).
2. execute: a due slot of a schedule Dockyard runs itself (one with `source_env`) is claimed in
   one transaction, `SELECT … FOR UPDATE SKIP LOCKED` then the runner's conditional
   `scheduled → ongoing` update, so with several workers or replicas exactly one executes it.
   A scheduler claims only what it can execute: the schedule names no host or this one, and its
   `BACKUP_SOURCE_*` variable is set here; other slots stay `scheduled` for the scheduler that
   has them. (A `source_env` outside that prefix, written before the rule, is claimed by the
   first scheduler and failed at stage `config`, the variable never read: no host can run it.)
   Slots older than the schedule grace are left alone: they read as `missed`, which a person
   should see, rather than a backup started hours late in the busy part of the day.
3. alerts are brought in line with the checks, and retention is applied, each under an
   advisory lock so replicas take turns instead of repeating the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from fastapi import FastAPI

from dockyard.backups import alerts, checks, cron, redaction, retention, runner
from dockyard.backups.settings import BackupsSettings
from dockyard.backups.slots import resolved
from dockyard.core.config import Settings
from dockyard.core.db import Connection, Pool
from dockyard.core.services import settings_of

log = redaction.logger("dockyard.backups.scheduler")

HOUSEKEEPING_LOCK = 7_246_002  # pg_try_advisory_lock key: one replica syncs alerts and purges at a time

# The only environment variables a schedule may name: a schedule must not read JWT_SECRET & co.
SOURCE_PREFIX = "BACKUP_SOURCE_"


def allowed_source_env(name: str) -> bool:
    """Whether a schedule may read its source URL from the variable `name`."""
    return name.startswith(SOURCE_PREFIX) and len(name) > len(SOURCE_PREFIX)


@dataclass(frozen=True)
class Options:
    """How a scheduler runs; `dockyard backups scheduler` and the in-app scheduler fill it from settings."""

    destination: Path
    interval_s: float = 30.0
    horizon: dt.timedelta = dt.timedelta(days=7)
    concurrency: int = 2
    host: str = field(default_factory=socket.gethostname)
    pg_bin: Path | None = None
    heartbeat_s: float = 10.0
    housekeeping_every_s: float = 300.0
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)  # where source URLs are read

    def sources(self) -> list[str]:
        """The BACKUP_SOURCE_* variables set (not empty) here: the schedules this scheduler can run."""
        return sorted(name for name, value in self.environ.items() if allowed_source_env(name) and value)


# Only the missing slots: a row the SELECT filters out never draws a run id, where ON CONFLICT
# alone draws one per existing slot on every round. The ON CONFLICT stays for two planners racing.
PLAN_INSERT = """INSERT INTO backups.runs
    (section, type, datacenter, source, host, status, scheduled_for, registered_by)
SELECT $1::text, $2::text, $3::text, $4::text, $5::text, 'scheduled', slot, 'scheduler'
FROM unnest($6::timestamptz[]) AS slot
WHERE NOT EXISTS (SELECT 1 FROM backups.runs r
                  WHERE r.section = $1::text AND r.type = $2::text AND r.datacenter = $3::text
                    AND r.scheduled_for = slot)
ON CONFLICT (section, type, datacenter, scheduled_for) WHERE scheduled_for IS NOT NULL DO NOTHING"""

# Future slots the scheduler planned that the series' schedule no longer names (cron changed).
PLAN_PRUNE = """DELETE FROM backups.runs
WHERE status = 'scheduled' AND registered_by = 'scheduler' AND scheduled_for >= $4
  AND (section, type, datacenter) = ($1, $2, $3) AND scheduled_for <> ALL($5::timestamptz[])"""

# Future slots the scheduler planned for a series that has no enabled schedule any more.
PRUNE_UNSCHEDULED = """DELETE FROM backups.runs r
WHERE r.status = 'scheduled' AND r.registered_by = 'scheduler' AND r.scheduled_for >= $1
  AND NOT EXISTS (SELECT 1 FROM backups.schedules s
                  WHERE s.enabled
                    AND (s.section, s.type, s.datacenter) = (r.section, r.type, r.datacenter))"""


async def plan(
    conn: Connection, now: dt.datetime | None = None, horizon: dt.timedelta = dt.timedelta(days=7)
) -> int:
    """Create the `scheduled` runs of every enabled schedule up to `horizon` ahead; how many are new."""
    start = (now or dt.datetime.now(dt.UTC)).replace(second=0, microsecond=0)
    end = start + horizon
    schedules = await conn.fetch(
        "SELECT id, section, type, datacenter, cron, source, host, timezone, created_at "
        "FROM backups.schedules WHERE enabled ORDER BY id"
    )
    created = 0
    async with conn.transaction():
        for schedule in schedules:
            try:
                parsed, zone = cron.parse(schedule["cron"]), cron.zone(schedule["timezone"])
            except cron.CronError as exc:  # only possible for rows written around the API
                log.warning("schedule %s (%s) is skipped: %s", schedule["id"], schedule["cron"], exc)
                continue
            slots = list(parsed.between(max(start, schedule["created_at"]), end, zone))
            series = (schedule["section"], schedule["type"], schedule["datacenter"])
            status = await conn.execute(PLAN_INSERT, *series, schedule["source"], schedule["host"], slots)
            created += int(status.rsplit(" ", 1)[-1])
            await conn.execute(PLAN_PRUNE, *series, start, slots)
        await conn.execute(PRUNE_UNSCHEDULED, start)
    return created


@dataclass(frozen=True)
class Claim:
    """A run this scheduler has recorded as ongoing and must now execute."""

    run_id: int
    name: str
    section: str
    type: str
    datacenter: str
    source: str | None
    source_env: str

    def job(self, options: Options, source_url: str) -> runner.Job:
        """The runner's job for this run."""
        return runner.Job(
            section=self.section,
            type=self.type,
            datacenter=self.datacenter,
            source_url=source_url,
            destination=options.destination,
            source_label=self.source,
            host=options.host,
            pg_bin=options.pg_bin,
            heartbeat_s=options.heartbeat_s,
        )


# The oldest due slot, still within its schedule grace, of a schedule Dockyard executes and this
# scheduler can: its host ($1) if the schedule names one, its source variable set here ($2), or a
# variable no scheduler may read (claimed to be failed at stage `config`).
DUE = f"""SELECT r.id, r.section, r.type, r.datacenter, coalesce(r.source, s.source) AS source, s.source_env
FROM backups.runs r
JOIN backups.schedules s ON (s.section, s.type, s.datacenter) = (r.section, r.type, r.datacenter)
WHERE r.status = 'scheduled' AND r.scheduled_for <= now() AND s.enabled AND s.source_env IS NOT NULL
  AND (s.host IS NULL OR s.host = $1)
  AND (s.source_env = ANY($2::text[]) OR s.source_env !~ '^{SOURCE_PREFIX}.')
  AND r.scheduled_for > now() - make_interval(secs => {resolved("schedule_grace_s")})
ORDER BY r.scheduled_for, r.id
LIMIT 1
FOR UPDATE OF r SKIP LOCKED"""


async def claim(conn: Connection, options: Options) -> Claim | None:
    """Record the oldest due run as ongoing on this host; None when nothing is due (or all are taken)."""
    async with conn.transaction():
        row = await conn.fetchrow(DUE, options.host, options.sources())
        if row is None:
            return None
        claimed = Claim(
            row["id"], "", row["section"], row["type"], row["datacenter"], row["source"], row["source_env"]
        )
        _, name = await runner.start(conn, claimed.job(options, source_url=""), claimed.run_id)
    return dataclasses.replace(claimed, name=name)


async def execute(conn: Connection, options: Options, claimed: Claim) -> int:
    """Take the claimed backup; a forbidden or missing source variable fails the run at stage `config`."""
    if not allowed_source_env(claimed.source_env):  # refused without reading it
        message = (
            f"source_env {claimed.source_env} is refused: a schedule's source URL must be in a variable "
            f"named {SOURCE_PREFIX}*; PUT the schedule again with one"
        )
        await runner.record_failure(conn, claimed.run_id, "config", None, message)
        return claimed.run_id
    source_url = options.environ.get(claimed.source_env, "")
    if not source_url:
        message = f"{claimed.source_env} (the source URL of this schedule) is not set on {options.host}"
        await runner.record_failure(conn, claimed.run_id, "config", None, message)
        return claimed.run_id
    return await runner.execute(conn, claimed.job(options, source_url), claimed.run_id, claimed.name)


async def housekeeping(conn: Connection, options: Options) -> bool:
    """Sync alerts with the checks and apply retention, unless another scheduler is doing it now."""
    async with conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", HOUSEKEEPING_LOCK):
            return False
        await alerts.sync(conn, await checks.check(conn))
        expired = await retention.apply(conn, host=options.host, store=options.destination)
    if expired:
        deleted = sum(item.files == "deleted" for item in expired)
        log.info("retention expired %d run(s), deleting the files of %d", len(expired), deleted)
    for item in expired:
        log.debug("expired run %s (%s): files %s", item.run_id, item.series, item.files)
    return True


class Scheduler:
    """The loop: plan, start due runs up to `concurrency`, housekeeping every few minutes."""

    def __init__(self, pool: Pool, options: Options) -> None:
        self.pool = pool
        self.options = options
        self.running: set[asyncio.Task[int]] = set()
        self._next_housekeeping = 0.0

    async def tick(self) -> int:
        """One round; how many runs it started."""
        loop = asyncio.get_running_loop()
        async with self.pool.acquire() as conn:
            await plan(conn, horizon=self.options.horizon)
            if loop.time() >= self._next_housekeeping:
                await housekeeping(conn, self.options)
                self._next_housekeeping = loop.time() + self.options.housekeeping_every_s
        started = 0
        while len(self.running) < self.options.concurrency:
            conn = await self.pool.acquire()
            try:
                claimed = await claim(conn, self.options)
            except BaseException:
                await self.pool.release(conn)
                raise
            if claimed is None:
                await self.pool.release(conn)
                break
            log.info(
                "run %s: %s of %s in %s started",
                claimed.run_id,
                claimed.type,
                claimed.section,
                claimed.datacenter,
            )
            task = asyncio.create_task(self._execute(conn, claimed), name=f"backup-run-{claimed.run_id}")
            self.running.add(task)
            task.add_done_callback(self.running.discard)
            started += 1
        return started

    async def _execute(self, conn: PoolConnectionProxy[asyncpg.Record], claimed: Claim) -> int:
        try:
            return await execute(conn, self.options, claimed)
        finally:
            await self.pool.release(conn)

    async def serve(self, stop: asyncio.Event) -> None:
        """Tick every `interval_s` until `stop` is set; then stop the runs in progress (`interrupted`)."""
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("scheduler tick failed, retrying in %.0f s: %s", self.options.interval_s, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.options.interval_s)
        finally:
            await self.stop_runs()

    async def stop_runs(self) -> None:
        """Cancel the runs in progress; each stops its tool and records itself `interrupted`."""
        for task in list(self.running):
            task.cancel("the scheduler stopped")
        await asyncio.gather(*self.running, return_exceptions=True)


@contextlib.asynccontextmanager
async def running(url: str, options: Options) -> AsyncIterator[Scheduler]:
    """A scheduler serving in the background on its own pool until the block ends."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=options.concurrency + 1)
    scheduler = Scheduler(pool, options)
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.serve(stop), name="backups-scheduler")
    try:
        yield scheduler
    finally:
        stop.set()
        await task
        await pool.close()


def options_from(settings: Settings, backups: BackupsSettings, **overrides: Any) -> Options:
    """The scheduler's options from the settings (BACKUPS_*, DATA_DIR, PG_BIN)."""
    pg_bin = os.environ.get("PG_BIN")
    values: dict[str, Any] = {
        "destination": backups.store or settings.data_dir / "backup-store",
        "interval_s": backups.scheduler_interval_s,
        "concurrency": backups.concurrency,
        "pg_bin": Path(pg_bin) if pg_bin else None,
    }
    return Options(**{**values, **overrides})


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """With BACKUPS_SCHEDULER=true every worker also schedules (they share the work, never a run)."""
    settings: Settings = app.state.settings
    backups = settings_of(app, BackupsSettings)
    if not backups.scheduler:
        yield
        return
    async with running(app.state.database_url, options_from(settings, backups)):
        yield
