"""/backups/api/v1/schedules: when each series should run (cron, UTC), read and managed over the API.

A change is planned at once (the upcoming runs follow it); schedules with `source_env` are executed
by Dockyard's scheduler, the others only tell the checks when a run is due.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from dockyard.backups import cron, scheduler
from dockyard.backups.api import Label, Manager, Viewer
from dockyard.core.db import Conn, ReadConn
from dockyard.core.errors import BadInput, NotFound
from dockyard.core.openapi import errors
from dockyard.core.types import Id

router = APIRouter(prefix="/api/v1/schedules", tags=["backups"])

NEXT_SLOTS = 3
FIELDS = "id, section, type, datacenter, cron, source, host, enabled, source_env"


class ScheduleIn(BaseModel):
    """A schedule for one series; PUT replaces the series' schedule or creates it."""

    model_config = ConfigDict(extra="forbid")
    section: Label
    type: Literal["dump", "snapshot"]
    datacenter: Label
    cron: Annotated[str, Field(max_length=200, examples=["0 0 * * tue"], description="Five fields, UTC.")]
    source: Label | None = Field(default=None, description="The instance backed up, host[:port].")
    host: Label | None = Field(default=None, description="The machine expected to take the backup.")
    source_env: Annotated[
        str | None,
        Field(
            pattern=r"^[A-Z_][A-Z0-9_]{0,99}$",
            description="Environment variable holding the source URL: Dockyard then executes the runs.",
        ),
    ] = None
    enabled: bool = True


class ScheduleOut(BaseModel):
    id: int
    section: str
    type: str
    datacenter: str
    cron: str
    source: str | None
    host: str | None
    enabled: bool
    source_env: str | None
    executed_by: Literal["dockyard", "external"]
    next: list[dt.datetime] = Field(description=f"The next {NEXT_SLOTS} slots (none when disabled).")


def _out(row: Any, now: dt.datetime) -> dict[str, Any]:
    slots: list[dt.datetime] = []
    if row["enabled"]:
        parsed = cron.parse(row["cron"])
        for slot in parsed.between(now, now + dt.timedelta(days=400)):
            slots.append(slot)
            if len(slots) == NEXT_SLOTS:
                break
    return {**dict(row), "executed_by": "dockyard" if row["source_env"] else "external", "next": slots}


@router.get("", response_model=list[ScheduleOut], summary="Every schedule with its next slots")
async def list_schedules(
    _: Viewer, conn: ReadConn, section: Annotated[str | None, Query(max_length=100)] = None
) -> Any:
    """Schedules by section, type and datacenter."""
    rows = await conn.fetch(
        f"SELECT {FIELDS} FROM backups.schedules WHERE $1::text IS NULL OR section = $1 "
        "ORDER BY section, type, datacenter",
        section,
    )
    now = dt.datetime.now(dt.UTC)
    return [_out(row, now) for row in rows]


@router.put(
    "",
    response_model=ScheduleOut,
    summary="Create or replace the schedule of a series",
    responses=errors(400),
)
async def put_schedule(body: ScheduleIn, _: Manager, conn: Conn) -> Any:
    """Upsert by (section, type, datacenter), then plan the coming week at once."""
    try:
        expression = cron.parse(body.cron).expression
    except cron.CronError as exc:
        raise BadInput(f"cron: {exc}.") from exc
    row = await conn.fetchrow(
        f"""INSERT INTO backups.schedules (section, type, datacenter, cron, source, host, source_env, enabled)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (section, type, datacenter) DO UPDATE SET cron = EXCLUDED.cron, source = EXCLUDED.source,
            host = EXCLUDED.host, source_env = EXCLUDED.source_env, enabled = EXCLUDED.enabled
        RETURNING {FIELDS}""",
        body.section,
        body.type,
        body.datacenter,
        expression,
        body.source,
        body.host,
        body.source_env,
        body.enabled,
    )
    await scheduler.plan(conn)
    return _out(row, dt.datetime.now(dt.UTC))


@router.delete(
    "/{schedule_id}",
    status_code=204,
    summary="Remove a schedule and its planned runs",
    responses=errors(404),
)
async def delete_schedule(schedule_id: Id, _: Manager, conn: Conn) -> Response:
    """The series' runs so far stay; its future planned slots go."""
    if not await conn.fetchval("DELETE FROM backups.schedules WHERE id = $1 RETURNING id", schedule_id):
        raise NotFound(f"No schedule {schedule_id}; GET /backups/api/v1/schedules lists them.")
    await scheduler.plan(conn)
    return Response(status_code=204)
