"""/backups/api/v1/thresholds: the check thresholds (backups.check_config), read and changed, with history.

A row holds the thresholds of a scope (section, type, datacenter; NULL matches any); for each
threshold the most specific row that sets it wins (`slots.resolved`). Every change is written to
backups.threshold_changes in the same transaction, with who made it and the row before and after.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dockyard.backups.api import Count, Label, Manager, OverviewCache, Viewer
from dockyard.core.db import Conn, Connection, ReadConn
from dockyard.core.errors import BadInput
from dockyard.core.openapi import errors
from dockyard.core.types import INT_MAX

router = APIRouter(prefix="/api/v1/thresholds", tags=["backups"])

Seconds = Annotated[int, Field(ge=1, le=INT_MAX)]
Percent = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]

# Every threshold column of backups.check_config, with what it means (the API, the CLI and the docs).
FIELDS: dict[str, str] = {
    "freshness_s": "Seconds after which the latest finished run is too old (critical).",
    "min_size": "Bytes under which a finished run is too small (warning).",
    "warn_change_pct": "Size change from the previous run, in %, that warns.",
    "crit_change_pct": "Size change from the previous run, in %, that is critical.",
    "max_duration_s": "Seconds a run may take before it is too long (warning).",
    "heartbeat_grace_s": "Seconds without a heartbeat before an ongoing run reads `stalled`.",
    "schedule_grace_s": "Seconds after its slot before a scheduled run reads `missed`.",
}
INTEGERS = ("freshness_s", "min_size", "max_duration_s", "heartbeat_grace_s", "schedule_grace_s")
THRESHOLDS_LOCK = 7_246_003


class Thresholds(BaseModel):
    """The thresholds a scope sets; null: inherited from a less specific row."""

    freshness_s: Seconds | None = Field(default=None, description=FIELDS["freshness_s"])
    min_size: Count | None = Field(default=None, description=FIELDS["min_size"])
    warn_change_pct: Percent | None = Field(default=None, description=FIELDS["warn_change_pct"])
    crit_change_pct: Percent | None = Field(default=None, description=FIELDS["crit_change_pct"])
    max_duration_s: Seconds | None = Field(default=None, description=FIELDS["max_duration_s"])
    heartbeat_grace_s: Seconds | None = Field(default=None, description=FIELDS["heartbeat_grace_s"])
    schedule_grace_s: Seconds | None = Field(default=None, description=FIELDS["schedule_grace_s"])


class ThresholdsIn(Thresholds):
    """The thresholds of one scope, replaced as a whole; every threshold null removes the row."""

    model_config = ConfigDict(extra="forbid")
    section: Label | None = Field(default=None, description="null: every section.")
    type: Literal["dump", "snapshot"] | None = Field(default=None, description="null: both types.")
    datacenter: Label | None = Field(default=None, description="null: every datacenter.")

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdsIn:
        warn, crit = self.warn_change_pct, self.crit_change_pct
        if warn is not None and crit is not None and warn > crit:
            raise BadInput("warn_change_pct must not be above crit_change_pct.")
        return self


class ThresholdsOut(Thresholds):
    id: int | None = Field(description="The row's id; null when the scope has no row (all inherited).")
    section: str | None
    type: str | None
    datacenter: str | None


class ThresholdChangeOut(BaseModel):
    id: int
    at: dt.datetime
    changed_by: str = Field(description="`api:<email>` or `cli:<user>@<host>`.")
    section: str | None
    type: str | None
    datacenter: str | None
    before: dict[str, Any] | None = Field(description="The thresholds before; null: the scope had no row.")
    after: dict[str, Any] | None = Field(description="The thresholds after; null: the row was removed.")


COLUMNS = ", ".join(f"{name}::float8 AS {name}" if name.endswith("_pct") else name for name in FIELDS)
ROW = f"SELECT id, section, type, datacenter, {COLUMNS} FROM backups.check_config"
SAME_SCOPE = (
    "section IS NOT DISTINCT FROM $1 AND type IS NOT DISTINCT FROM $2 AND datacenter IS NOT DISTINCT FROM $3"
)
# Most general first: the catch-all row, then by section, type and datacenter.
ORDER = "ORDER BY section NULLS FIRST, type NULLS FIRST, datacenter NULLS FIRST"


async def rows(conn: Connection, *, section: str | None = None) -> list[dict[str, Any]]:
    """Every row of thresholds (those of `section` and the general ones when given), most general first."""
    found = await conn.fetch(
        f"{ROW} WHERE $1::text IS NULL OR section IS NULL OR section = $1 {ORDER}", section
    )
    return [dict(row) for row in found]


def _values(row: Any) -> dict[str, Any] | None:
    return None if row is None else {name: row[name] for name in FIELDS}


async def put(
    conn: Connection,
    *,
    section: str | None,
    type: str | None,
    datacenter: str | None,
    values: dict[str, Any],
    changed_by: str,
) -> dict[str, Any]:
    """Replace the thresholds of a scope (all None: remove its row), recording the change; the row after."""
    scope = (section, type, datacenter)
    values = {name: values.get(name) for name in FIELDS}
    general = scope == (None, None, None)
    if general and any(value is None for value in values.values()):
        unset = ", ".join(name for name, value in values.items() if value is None)
        raise BadInput(
            f"The general row (no section, type or datacenter) must set every threshold; set {unset}."
        )
    async with conn.transaction():
        # Changes are rare: one at a time, so `before` is what each change really replaced.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", THRESHOLDS_LOCK)
        before = await conn.fetchrow(f"{ROW} WHERE {SAME_SCOPE} FOR UPDATE", *scope)
        if all(value is None for value in values.values()):
            after = None
            if before is not None:
                await conn.execute("DELETE FROM backups.check_config WHERE id = $1", before["id"])
        else:
            names = list(FIELDS)
            placeholders = ", ".join(f"${index}" for index in range(4, 4 + len(names)))
            updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names)
            returning = ", ".join(f"{n}::float8 AS {n}" if n.endswith("_pct") else n for n in names)
            after = await conn.fetchrow(
                f"""INSERT INTO backups.check_config (section, type, datacenter, {", ".join(names)})
                VALUES ($1, $2, $3, {placeholders})
                ON CONFLICT (section, type, datacenter) DO UPDATE SET {updates}
                RETURNING id, section, type, datacenter, {returning}""",
                *scope,
                *(values[name] for name in names),
            )
        old, new = _values(before), _values(after)
        if old != new:
            await conn.execute(
                """INSERT INTO backups.threshold_changes
                    (changed_by, section, type, datacenter, before, after)
                VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)""",
                changed_by,
                *scope,
                None if old is None else json.dumps(old),
                None if new is None else json.dumps(new),
            )
    if after is None:
        return {"id": None, "section": section, "type": type, "datacenter": datacenter, **values}
    return dict(after)


HISTORY = """SELECT coalesce(json_agg(x ORDER BY x.at DESC, x.id DESC), '[]')::text FROM (
    SELECT id, at, changed_by, section, type, datacenter, before, after FROM backups.threshold_changes
    WHERE $1::text IS NULL OR section IS NULL OR section = $1
    ORDER BY at DESC, id DESC LIMIT $2) x"""


async def history(conn: Connection, *, section: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The latest changes (of `section` and the general rows when given), newest first."""
    found: list[dict[str, Any]] = json.loads(await conn.fetchval(HISTORY, section, limit))
    return found


@router.get("", response_model=list[ThresholdsOut], summary="Every row of check thresholds")
async def list_thresholds(
    _: Viewer,
    conn: ReadConn,
    section: Annotated[
        str | None, Query(max_length=100, description="This section's rows and the general ones.")
    ] = None,
) -> Any:
    """Most general first; for each threshold the most specific row that sets it applies."""
    return await rows(conn, section=section)


@router.put(
    "",
    response_model=ThresholdsOut,
    summary="Set the thresholds of a scope (recorded in the history)",
    responses=errors(400),
)
async def put_thresholds(body: ThresholdsIn, user: Manager, conn: Conn, cache: OverviewCache) -> Any:
    """Replaces the scope's row: a null threshold is inherited; all null removes the row."""
    row = await put(
        conn,
        section=body.section,
        type=body.type,
        datacenter=body.datacenter,
        values=body.model_dump(include=set(FIELDS)),
        changed_by=f"api:{user.email}",
    )
    cache.clear()
    return row


@router.get(
    "/history", response_model=list[ThresholdChangeOut], summary="Who changed which thresholds, newest first"
)
async def threshold_history(
    _: Viewer,
    conn: ReadConn,
    section: Annotated[
        str | None, Query(max_length=100, description="This section's changes and the general ones.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    return await history(conn, section=section, limit=limit)
