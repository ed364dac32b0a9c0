"""/backups/api/v1/schedules: when each series should run (cron in a time zone), read and managed.

A change is planned at once (the upcoming runs follow it); schedules with `source_env` are executed
by Dockyard's scheduler, the others only tell the checks when a run is due. `source_env` names a
`BACKUP_SOURCE_*` variable, never any other: a schedule must not be a way to read the server's secrets.
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
FIELDS = "id, section, type, datacenter, cron, timezone, source, host, enabled, source_env, created_at"


class ScheduleIn(BaseModel):
    """A schedule for one series; PUT replaces the series' schedule or creates it."""

    model_config = ConfigDict(extra="forbid")
    section: Label
    type: Literal["dump", "snapshot"]
    datacenter: Label
    cron: Annotated[
        str, Field(max_length=200, examples=["0 0 * * tue"], description="Five fields, in `timezone`.")
    ]
    timezone: Annotated[
        str,
        Field(
            max_length=64, examples=["UTC", "Europe/Berlin"], description="IANA time zone of the cron fields."
        ),
    ] = "UTC"
    source: Label | None = Field(default=None, description="The instance backed up, host[:port].")
    host: Label | None = Field(default=None, description="The machine expected to take the backup.")
    source_env: Annotated[
        str | None,
        Field(
            pattern=r"^[A-Z_][A-Z0-9_]{0,99}$",
            description=f"Environment variable holding the source URL, named {scheduler.SOURCE_PREFIX}*: "
            "Dockyard then executes the runs, on `host` if one is named.",
        ),
    ] = None
    enabled: bool = True


class ScheduleOut(BaseModel):
    id: int
    section: str
    type: str
    datacenter: str
    cron: str
    timezone: str
    source: str | None
    host: str | None
    enabled: bool
    source_env: str | None
    created_at: dt.datetime = Field(description="No slot is planned before this moment.")
    executed_by: Literal["dockyard", "external"]
    next: list[dt.datetime] = Field(description=f"The next {NEXT_SLOTS} slots (none when disabled).")


def _out(row: Any, now: dt.datetime) -> dict[str, Any]:
    slots: list[dt.datetime] = []
    if row["enabled"]:
        since = max(now, row["created_at"])
        try:
            parsed, zone = cron.parse(row["cron"]), cron.zone(row["timezone"])
        except cron.CronError:  # a row written around the API: the planner skips it too
            return {**dict(row), "executed_by": _executed_by(row), "next": slots}
        for slot in parsed.between(since, since + dt.timedelta(days=400), zone):
            slots.append(slot)
            if len(slots) == NEXT_SLOTS:
                break
    return {**dict(row), "executed_by": _executed_by(row), "next": slots}


def _executed_by(row: Any) -> str:
    return "dockyard" if row["source_env"] else "external"


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
    try:
        cron.zone(body.timezone)
    except cron.CronError as exc:
        raise BadInput(f"{exc}.") from exc
    if body.source_env is not None and not scheduler.allowed_source_env(body.source_env):
        raise BadInput(
            f"source_env: {body.source_env} is not allowed; the source URL must be in a variable named "
            f"{scheduler.SOURCE_PREFIX}<NAME> (e.g. {scheduler.SOURCE_PREFIX}S1), "
            "so that a schedule can never read another setting or secret of the server."
        )
    row = await conn.fetchrow(
        f"""INSERT INTO backups.schedules
            (section, type, datacenter, cron, source, host, source_env, enabled, timezone)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (section, type, datacenter) DO UPDATE SET cron = EXCLUDED.cron, source = EXCLUDED.source,
            host = EXCLUDED.host, source_env = EXCLUDED.source_env, enabled = EXCLUDED.enabled,
            timezone = EXCLUDED.timezone
        RETURNING {FIELDS}""",
        body.section,
        body.type,
        body.datacenter,
        expression,
        body.source,
        body.host,
        body.source_env,
        body.enabled,
        body.timezone,
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
