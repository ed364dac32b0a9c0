"""/backups/api/v1/sections/{section}: what the dashboard's section page draws, in one query.

For each series of the section (type and datacenter, from its runs and schedules): the last good
(finished) run, how many runs failed, and the size and duration of every finished run over the
window (expired ones included), oldest first. PostgreSQL builds the JSON; the route sends it as it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from dockyard.accounts.auth import Principal, require
from dockyard.backups import export
from dockyard.backups.permissions import VIEW
from dockyard.core.db import ReadConn
from dockyard.core.errors import NotFound
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse

Viewer = Annotated[Principal, Depends(require(VIEW.codename))]
router = APIRouter(prefix="/api/v1/sections", tags=["backups"])

MAX_POINTS = 2000  # per series: the latest ones when a window holds more

SECTION = f"""
WITH series AS (
    SELECT DISTINCT type, datacenter FROM backups.runs WHERE section = $1
    UNION SELECT type, datacenter FROM backups.schedules WHERE section = $1
), window_start AS (
    SELECT now() - make_interval(days => $2) AS since
)
SELECT count(*) AS series, json_build_object(
    'section', $1::text,
    'since', (SELECT since FROM window_start),
    'series', coalesce(json_agg(json_build_object(
        'type', s.type,
        'datacenter', s.datacenter,
        'last_good', good.run,
        'failed', failed.n,
        'points', coalesce(history.points, '[]')
    ) ORDER BY s.type, s.datacenter), '[]')
)::text AS body
FROM series s
CROSS JOIN window_start w
LEFT JOIN LATERAL (
    SELECT json_build_object(
        'id', r.id, 'name', r.name, 'source', r.source, 'host', r.host, 'started_at', r.started_at,
        'ended_at', r.ended_at, 'duration_s', extract(epoch FROM r.ended_at - r.started_at)::float8,
        'total_size', r.total_size) AS run
    FROM backups.runs r
    WHERE (r.section, r.type, r.datacenter) = ($1, s.type, s.datacenter) AND r.status = 'finished'
    ORDER BY r.started_at DESC LIMIT 1
) good ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS n FROM backups.runs r
    WHERE (r.section, r.type, r.datacenter) = ($1, s.type, s.datacenter) AND r.status = 'failed'
      AND r.started_at >= w.since
) failed ON true
LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object(
        'id', p.id, 'started_at', p.started_at, 'total_size', p.total_size, 'duration_s', p.duration_s)
        ORDER BY p.started_at) AS points
    FROM (SELECT r.id, r.started_at, r.total_size,
                 extract(epoch FROM r.ended_at - r.started_at)::float8 AS duration_s
          FROM backups.runs r
          -- expired runs are history too: their size and duration stay facts after the purge
          WHERE (r.section, r.type, r.datacenter) = ($1, s.type, s.datacenter)
            AND r.status IN ('finished', 'expired') AND r.started_at >= w.since
          ORDER BY r.started_at DESC LIMIT {MAX_POINTS}) p
) history ON true
"""


class GoodRun(BaseModel):
    id: int
    name: str | None
    source: str | None
    host: str | None
    started_at: dt.datetime
    ended_at: dt.datetime
    duration_s: float
    total_size: int | None


class Point(BaseModel):
    id: int
    started_at: dt.datetime
    total_size: int | None
    duration_s: float


class SeriesHistory(BaseModel):
    type: str
    datacenter: str
    last_good: GoodRun | None = Field(description="The latest finished run, however old.")
    failed: int = Field(description="Runs that failed within the window.")
    points: list[Point] = Field(
        description=f"Finished runs within the window, oldest first (<= {MAX_POINTS})."
    )


class SectionOut(BaseModel):
    section: str
    since: dt.datetime = Field(description="Start of the window.")
    series: list[SeriesHistory] = Field(description="One per type and datacenter.")


SECTIONS = """WITH names AS (
    SELECT section, count(*) AS series FROM (
        SELECT section, type, datacenter FROM backups.series
        UNION SELECT section, type, datacenter FROM backups.schedules) s
    GROUP BY section
)
SELECT n.section, n.series::int AS series,
    (SELECT max(r.started_at) FROM backups.runs r
     WHERE r.section = n.section AND r.status = 'finished') AS last_finished_at,
    (SELECT count(*) FROM backups.runs r WHERE r.section = n.section AND r.status = 'failed'
       AND r.started_at >= now() - make_interval(days => $1))::int AS failed,
    (SELECT count(*) FROM backups.runs r WHERE r.section = n.section AND r.status = 'ongoing')::int AS ongoing
FROM names n
ORDER BY n.section"""


class SectionItem(BaseModel):
    section: str
    series: int = Field(description="Types and datacenters with runs or a schedule.")
    last_finished_at: dt.datetime | None = Field(
        description="Start of the latest finished run of any series."
    )
    failed: int = Field(description="Runs that failed within the last `days`.")
    ongoing: int = Field(description="Runs recorded as in progress (stalled ones included).")


@router.get(
    "",
    response_model=list[SectionItem],
    summary="Every section with its series, latest good run and recent failures (or as CSV)",
    responses=export.responses("Sections"),
)
async def list_sections(
    _: Viewer,
    conn: ReadConn,
    request: Request,
    days: Annotated[int, Query(ge=1, le=3650, description="The window of `failed`, in days.")] = 7,
    format: export.Format = None,
) -> Any:
    """By name; a section exists while it has runs or a schedule."""
    if export.wanted(request, format):
        return export.stream(conn, SECTIONS, (days,), list(SectionItem.model_fields), name="sections")
    return [dict(row) for row in await conn.fetch(SECTIONS, days)]


@router.get(
    "/{section}",
    response_model=SectionOut,
    summary="One section: last good run and size/duration history per type and datacenter",
    responses=errors(404),
)
async def section_summary(
    section: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$", examples=["s1"])],
    _: Viewer,
    conn: ReadConn,
    days: Annotated[int, Query(ge=1, le=3650, description="The window of the history, in days.")] = 365,
) -> Any:
    """The section's series with their last good run and the history the charts draw."""
    row = await conn.fetchrow(SECTION, section, days)
    if row is None or row["series"] == 0:
        raise NotFound(f"No section {section!r}: it has no runs and no schedule.")
    return RawJSONResponse(row["body"])
