"""Run now: a `scheduled` run of a series, due at once, which the scheduler executes on its next round.

The run is an ordinary slot (status `scheduled`, `scheduled_for` now), so whichever scheduler runs
the series' schedule (the in-server one or `dockyard backups scheduler`) claims it exactly once, and
a run nobody claims reads `missed` as any other. A series with a run in progress or already due is
refused: a second copy of the same backup would only slow the first down.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import APIRouter

from dockyard.backups.api import RUN_FIELDS, STATE, Manager, OverviewCache, RunOut
from dockyard.backups.slots import resolved
from dockyard.core.db import Conn, Connection
from dockyard.core.errors import Conflict, NotFound
from dockyard.core.openapi import errors
from dockyard.core.types import Id

router = APIRouter(prefix="/api/v1/schedules", tags=["backups"])

SCHEDULE = """SELECT id, section, type, datacenter, source, host, enabled, source_env
FROM backups.schedules WHERE id = $1 FOR UPDATE"""

# A run of the series that is running (and alive), or waiting to start within its grace.
BUSY = f"""SELECT r.id, {STATE} AS state FROM backups.runs r
WHERE (r.section, r.type, r.datacenter) = ($1, $2, $3)
  AND ((r.status = 'ongoing'
        AND coalesce(r.heartbeat_at, r.started_at)
            >= now() - make_interval(secs => {resolved("heartbeat_grace_s")}))
    OR (r.status = 'scheduled' AND r.scheduled_for <= now()
        AND r.scheduled_for >= now() - make_interval(secs => {resolved("schedule_grace_s")})))
ORDER BY r.status = 'ongoing' DESC, r.id
LIMIT 1"""

QUEUE = """INSERT INTO backups.runs
    (section, type, datacenter, source, host, status, scheduled_for, registered_by)
VALUES ($1, $2, $3, $4, $5, 'scheduled', date_trunc('second', now()), $6)
RETURNING id"""


async def queue(conn: Connection, schedule_id: int, *, requested_by: str) -> int:
    """Queue a run of the schedule's series due now; its id. NotFound, or Conflict saying why not."""
    async with conn.transaction():
        schedule = await conn.fetchrow(SCHEDULE, schedule_id)
        if schedule is None:
            raise NotFound(f"No schedule {schedule_id}; GET /backups/api/v1/schedules lists them.")
        series = (schedule["section"], schedule["type"], schedule["datacenter"])
        what = "{1} of {0} in {2}".format(*series)
        if not schedule["enabled"]:
            raise Conflict(f"The schedule of the {what} is disabled; enable it (PUT /schedules) first.")
        if schedule["source_env"] is None:
            raise Conflict(
                f"The {what} is taken by another tool (its schedule has no source_env); "
                "Dockyard's scheduler cannot run it."
            )
        busy = await conn.fetchrow(BUSY, *series)
        if busy is not None:
            doing = "is in progress" if busy["state"] == "ongoing" else "is due and about to start"
            raise Conflict(f"Run {busy['id']} of the {what} {doing}; wait for it to end.")
        try:
            run_id: int = await conn.fetchval(
                QUEUE, *series, schedule["source"], schedule["host"], requested_by
            )
        except asyncpg.UniqueViolationError as exc:  # a slot of the series at this very second
            raise Conflict(f"A run of the {what} is due at this very second; wait for it.") from exc
    return run_id


@router.post(
    "/{schedule_id}/run",
    status_code=202,
    response_model=RunOut,
    summary="Run now: queue a run of the schedule's series, due at once",
    responses=errors(404, 409),
)
async def run_now(schedule_id: Id, user: Manager, conn: Conn, cache: OverviewCache) -> Any:
    """Answers the queued run (`scheduled`, due now): the scheduler starts it on its next round."""
    run_id = await queue(conn, schedule_id, requested_by=f"api:{user.email}"[:200])
    cache.clear()
    row = await conn.fetchrow(f"SELECT {RUN_FIELDS} FROM backups.runs r WHERE r.id = $1", run_id)
    return dict(row) if row else None
