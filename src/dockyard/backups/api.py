"""/backups/api/v1: runs (list, detail, register, update), checks. Reads need `backups.view`, writes
`backups.manage`.

Lists are filtered, sorted and paged in PostgreSQL, with the total in the same query; a run's
derived state (`stalled`, `missed`) is computed there too, from its heartbeat and schedule.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Annotated, Any, Literal

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from dockyard.accounts.auth import Principal, require
from dockyard.backups import alerts, checks, export, redaction, slots
from dockyard.backups.permissions import MANAGE, VIEW
from dockyard.backups.settings import BackupsConfig
from dockyard.backups.slots import resolved
from dockyard.core.db import Conn, ReadConn
from dockyard.core.errors import BadInput, Conflict, NotFound
from dockyard.core.microcache import Microcache
from dockyard.core.openapi import errors
from dockyard.core.responses import JSONResponse
from dockyard.core.types import Id

Viewer = Annotated[Principal, Depends(require(VIEW.codename))]
Manager = Annotated[Principal, Depends(require(MANAGE.codename))]
router = APIRouter(prefix="/api/v1", tags=["backups"])


def overview_cache(request: Request, settings: BackupsConfig) -> Microcache[bytes]:
    """This worker's overview cache (BACKUPS_OVERVIEW_CACHE_S), created on first use."""
    state = request.app.state
    if not hasattr(state, "backups_overview"):
        state.backups_overview = Microcache[bytes](settings.overview_cache_s)
    cache: Microcache[bytes] = state.backups_overview
    return cache


OverviewCache = Annotated[Microcache[bytes], Depends(overview_cache)]


Label = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$", examples=["s1"])]
# A database instance: `db1139.eqiad.wmnet:3311`, `10.64.0.12:3306`, or `[2620:0:861::1]:5432`.
Source = Annotated[
    str,
    Field(
        pattern=r"^([A-Za-z0-9][A-Za-z0-9_.:-]*|\[[0-9A-Fa-f:.]+\](:[0-9]+)?)$",
        max_length=100,
        examples=["db1139.eqiad.wmnet:3311"],
    ),
]
RunType = Literal["dump", "snapshot"]

# The state shown to people: stored status, or `stalled` / `missed` when the clock says so.
STATE = f"""CASE
    WHEN r.status = 'ongoing' AND coalesce(r.heartbeat_at, r.started_at)
        < now() - make_interval(secs => {resolved("heartbeat_grace_s")}) THEN 'stalled'
    WHEN r.status = 'scheduled'
        AND r.scheduled_for < now() - make_interval(secs => {resolved("schedule_grace_s")}) THEN 'missed'
    ELSE r.status END"""

RUN_FIELDS = f"""r.id, r.name, r.section, r.type, r.datacenter, r.source, r.host, r.status,
    {STATE} AS state, r.scheduled_for, r.started_at, r.ended_at, r.heartbeat_at, r.bytes_done, r.total_size,
    CASE WHEN r.ended_at IS NOT NULL THEN extract(epoch FROM r.ended_at - r.started_at) END AS duration_s,
    r.error_stage, r.error_exit_code, r.error_message, r.attempt, r.retry_of, r.registered_by, r.created_at,
    r.location, r.expired_at"""


class State(StrEnum):
    SCHEDULED = "scheduled"
    ONGOING = "ongoing"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    EXPIRED = "expired"
    STALLED = "stalled"
    MISSED = "missed"


SORTS = {  # allow-list: sort name → SQL
    "started_at": "r.started_at",
    "ended_at": "r.ended_at",
    "scheduled_for": "r.scheduled_for",
    "total_size": "r.total_size",
    "duration": "r.ended_at - r.started_at",
    "section": "r.section",
    "id": "r.id",
}


class RunOut(BaseModel):
    id: int
    name: str | None
    section: str
    type: str
    datacenter: str
    source: str | None
    host: str | None
    status: str
    state: State = Field(
        description="`status`, or `stalled`/`missed` when heartbeat or schedule are overdue."
    )
    scheduled_for: dt.datetime | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    bytes_done: int | None
    total_size: int | None
    duration_s: float | None
    error_stage: str | None
    error_exit_code: int | None
    error_message: str | None
    attempt: int
    retry_of: int | None
    registered_by: str
    created_at: dt.datetime
    location: str | None = Field(description="The backup's directory on `host`, when known.")
    expired_at: dt.datetime | None = Field(description="When retention purged it (status `expired`).")


class RunPage(BaseModel):
    total: int
    limit: int
    offset: int
    results: list[RunOut]


class FileOut(BaseModel):
    path: str
    name: str
    size: int
    modified_at: dt.datetime | None
    checksum: str | None


class ObjectOut(BaseModel):
    db: str
    name: str
    size: int | None
    rows: int | None = Field(description="The table's exact row count when it was backed up, if counted.")


class Coordinates(BaseModel):
    file: str | None = Field(None, description="Binary log file, e.g. `db1139-bin.002845`.")
    position: int | None = Field(None, description="Position in that file.")
    gtid: str | None = Field(None, description="GTID position (`domain-server-sequence`, comma-separated).")


class PrimaryCoordinates(Coordinates):
    host: str | None = Field(None, description="The primary the source replicated from.")


class Binlog(Coordinates):
    primary: PrimaryCoordinates | None = Field(
        None, description="Where the source, a replica, was in its primary's binary log."
    )


class RunDetail(RunOut):
    tool: str | None = Field(
        description="What took the backup: mydumper, mariabackup, mariadb-dump, pg_dump or "
        "pg_basebackup; null for runs registered over the API."
    )
    binlog: Binlog | None = Field(
        description="The MariaDB source's binary log coordinates at the backup's consistent point "
        "(mydumper's metadata, mariabackup's xtrabackup_binlog_info); every field null when it "
        "writes no binary log; null when not recorded (PostgreSQL, runs registered over the API)."
    )
    files: list[FileOut]
    objects: list[ObjectOut]


Text = Annotated[str, Field(max_length=8000, pattern=r"^[^\x00]*$")]


def _moment(value: dt.datetime, info: ValidationInfo) -> dt.datetime:
    """A naive time is UTC. The catalog keeps 1970 to 2200: PostgreSQL's infinities stay out."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if not EARLIEST <= value < LATEST:
        raise BadInput(f"{info.field_name}: must be between 1970-01-01 and 2200-01-01 (UTC).")
    return value


EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
Moment = Annotated[dt.datetime, AfterValidator(_moment)]

ExitCode = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
# Sizes and row counts: up to 2^53 (8 PiB), which every JSON reader holds exactly (a bigint's 2^63
# does not survive a trip through a double, so a client could not even send the bound it was given).
Count = Annotated[int, Field(ge=0, le=2**53)]


class FileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Annotated[str, Field(max_length=1000, pattern=r"^[^\x00]*$")] = ""
    name: Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[^\x00]*$")]
    size: Count
    modified_at: Moment | None = None
    checksum: Annotated[str | None, Field(max_length=200, pattern=r"^[^\x00]*$")] = None


class ObjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    db: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    name: Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")] = ""
    size: Count | None = None
    rows: Count | None = None


MAX_INVENTORY = 100_000  # files, and objects, per run: a whole instance's tables, per-table files


def _no_duplicates(files: list[FileIn] | None, objects: list[ObjectIn] | None) -> None:
    """Refuse an inventory naming a file (path and name) or an object (db and table) twice."""
    for what, keys in (
        ("file", [(f.path, f.name) for f in files or ()]),
        ("object", [(o.db, o.name) for o in objects or ()]),
    ):
        seen: set[tuple[str, str]] = set()
        for key in keys:
            if key in seen:
                raise BadInput(f"The {what} {'/'.join(part for part in key if part)!r} is listed twice.")
            seen.add(key)


class RunIn(BaseModel):
    """A run taken by another tool, registered in the catalog."""

    model_config = ConfigDict(extra="forbid")
    section: Label
    type: RunType
    datacenter: Label
    source: Source | None = None
    host: Label | None = None
    name: Annotated[str | None, Field(max_length=300, pattern=r"^[^\x00]*$")] = None
    status: Literal["scheduled", "ongoing", "finished", "failed", "interrupted"] = "ongoing"
    scheduled_for: Moment | None = None
    started_at: Moment | None = None
    ended_at: Moment | None = None
    total_size: Count | None = None
    error_stage: Annotated[str | None, Field(max_length=64, pattern=r"^[^\x00]*$")] = None
    error_exit_code: ExitCode | None = None
    error_message: Text | None = None
    retry_of: Id | None = None
    location: Annotated[str | None, Field(max_length=1000, pattern=r"^[^\x00]*$")] = None
    files: Annotated[list[FileIn], Field(max_length=MAX_INVENTORY)] = []
    objects: Annotated[list[ObjectIn], Field(max_length=MAX_INVENTORY)] = []

    @model_validator(mode="after")
    def _consistent(self) -> RunIn:
        _no_duplicates(self.files, self.objects)
        if self.status == "scheduled" and self.scheduled_for is None:
            raise BadInput("A scheduled run needs scheduled_for.")
        if self.status in ("finished", "failed", "interrupted") and self.ended_at is None:
            raise BadInput(f"A {self.status} run needs ended_at.")
        if self.ended_at and self.started_at is None:
            raise BadInput("A run with ended_at needs started_at (when it began).")
        if self.ended_at and self.started_at and self.ended_at < self.started_at:
            raise BadInput("ended_at is before started_at.")
        return self


class RunUpdate(BaseModel):
    """Progress or the outcome of a run: heartbeat, bytes done, then finished or failed; its inventory."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["ongoing", "finished", "failed", "interrupted"] | None = None
    bytes_done: Count | None = None
    total_size: Count | None = None
    error_stage: Annotated[str | None, Field(max_length=64, pattern=r"^[^\x00]*$")] = None
    error_exit_code: ExitCode | None = None
    error_message: Text | None = None
    files: Annotated[
        list[FileIn] | None,
        Field(
            max_length=MAX_INVENTORY, description="The run's files: replaces those recorded (all at once)."
        ),
    ] = None
    objects: Annotated[
        list[ObjectIn] | None,
        Field(max_length=MAX_INVENTORY, description="Its objects: replaces those recorded (all at once)."),
    ] = None

    @model_validator(mode="after")
    def _unique(self) -> RunUpdate:
        _no_duplicates(self.files, self.objects)
        return self


def _masked(message: str | None) -> str | None:
    """A registered error message as it is recorded: passwords and tokens masked, within 8000 characters."""
    return redaction.redact(message)[:8000] if message is not None else None


RUN_COLUMNS = [name for name in RunOut.model_fields]

# Runs matching the list's filters ($1..$6) and states ($7), with their derived state.
MATCHING_RUNS = f"""SELECT * FROM (
    SELECT {RUN_FIELDS} FROM backups.runs r
    WHERE ($1::text[] IS NULL OR r.section = ANY($1)) AND ($2::text IS NULL OR r.type = $2)
      AND ($3::text IS NULL OR r.host = $3) AND ($4::text IS NULL OR r.datacenter = $4)
      AND ($5::timestamptz IS NULL OR coalesce(r.started_at, r.scheduled_for) >= $5)
      AND ($6::timestamptz IS NULL OR coalesce(r.started_at, r.scheduled_for) < $6)
) r WHERE $7::text[] IS NULL OR r.state = ANY($7)"""


@router.get(
    "/runs",
    response_model=RunPage,
    summary="Runs, filtered, sorted and paged (or every match as CSV)",
    responses={**export.responses("Runs"), **errors(400)},
)
async def list_runs(
    _: Viewer,
    conn: ReadConn,
    request: Request,
    section: Annotated[list[str] | None, Query(max_length=100)] = None,
    type: Annotated[RunType | None, Query()] = None,
    state: Annotated[list[State] | None, Query(description="Stored or derived state; repeatable.")] = None,
    host: Annotated[str | None, Query(max_length=100)] = None,
    datacenter: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[dt.datetime | None, Query(description="Started (or scheduled) at or after.")] = None,
    until: Annotated[dt.datetime | None, Query(description="Started (or scheduled) before.")] = None,
    sort: Annotated[
        str, Query(pattern=r"^-?[a-z_]+$", description="A field, `-` for descending.")
    ] = "-started_at",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    format: export.Format = None,
) -> Any:
    column = SORTS.get(sort.lstrip("-"))
    if column is None:
        raise BadInput(f"Cannot sort by {sort.lstrip('-')!r}; use one of: {', '.join(SORTS)}.")
    direction = "DESC NULLS LAST" if sort.startswith("-") else "ASC NULLS LAST"
    states = [item.value for item in state] if state else None
    if export.wanted(request, format):
        return export.stream(
            conn,
            f"{MATCHING_RUNS} ORDER BY {column} {direction}, r.id DESC LIMIT $8 OFFSET $9",
            (
                section,
                type,
                host,
                datacenter,
                since,
                until,
                states,
                export.limit_given(request, limit),
                offset,
            ),
            RUN_COLUMNS,
            name="runs",
        )
    query = f"""
    WITH matching AS (
        SELECT {RUN_FIELDS} FROM backups.runs r
        WHERE ($1::text[] IS NULL OR r.section = ANY($1)) AND ($2::text IS NULL OR r.type = $2)
          AND ($3::text IS NULL OR r.host = $3) AND ($4::text IS NULL OR r.datacenter = $4)
          AND ($5::timestamptz IS NULL OR coalesce(r.started_at, r.scheduled_for) >= $5)
          AND ($6::timestamptz IS NULL OR coalesce(r.started_at, r.scheduled_for) < $6)
    )
    SELECT (SELECT count(*) FROM matching WHERE $7::text[] IS NULL OR state = ANY($7)) AS total,
           coalesce((SELECT json_agg(page) FROM (
                SELECT * FROM matching r WHERE $7::text[] IS NULL OR state = ANY($7)
                ORDER BY {column} {direction}, r.id DESC LIMIT $8 OFFSET $9) page), '[]') AS results
    """
    row = await conn.fetchrow(query, section, type, host, datacenter, since, until, states, limit, offset)
    assert row is not None
    return {"total": row["total"], "limit": limit, "offset": offset, "results": json.loads(row["results"])}


@router.get(
    "/runs/{run_id}",
    response_model=RunDetail,
    summary="One run with its files and objects",
    responses=errors(404),
)
async def get_run(run_id: Id, _: Viewer, conn: ReadConn) -> Any:
    return await _run_detail(conn, run_id)


async def _run_detail(conn: Any, run_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"SELECT {RUN_FIELDS}, r.tool, r.binlog::text AS binlog FROM backups.runs r WHERE r.id = $1", run_id
    )
    if row is None:
        raise NotFound(f"No run {run_id}.")
    files = await conn.fetch(
        "SELECT path, name, size, modified_at, checksum FROM backups.files "
        "WHERE run_id = $1 ORDER BY path, name",
        run_id,
    )
    objects = await conn.fetch(
        "SELECT db, name, size, rows FROM backups.objects WHERE run_id = $1 ORDER BY db, name", run_id
    )
    binlog = json.loads(row["binlog"]) if row["binlog"] is not None else None
    return {
        **dict(row),
        "binlog": binlog,
        "files": [dict(f) for f in files],
        "objects": [dict(o) for o in objects],
    }


@router.post(
    "/runs",
    status_code=201,
    response_model=RunDetail,
    summary="Register a run taken elsewhere",
    responses=errors(400, 409),
)
async def register_run(body: RunIn, user: Manager, conn: Conn, cache: OverviewCache) -> Any:
    """For tools Dockyard does not run: record a run (ongoing, then PATCH it; or already finished)."""
    started = body.started_at
    if started is None and body.status != "scheduled":
        started = dt.datetime.now(dt.UTC)
    if body.retry_of is not None and not await conn.fetchval(
        "SELECT true FROM backups.runs WHERE id = $1", body.retry_of
    ):
        raise BadInput(f"retry_of: no run {body.retry_of}.")
    try:
        run_id = await conn.fetchval(
            """INSERT INTO backups.runs (name, section, type, datacenter, source, host, status, scheduled_for,
                   started_at, ended_at, heartbeat_at, total_size, bytes_done, error_stage, error_exit_code,
                   error_message, retry_of, attempt, registered_by, location)
            VALUES ($1, $2, $3, $4, $5, $6, $7::text, $8, $9::timestamptz, $10::timestamptz,
                    coalesce($10::timestamptz, $9::timestamptz), $11::bigint,
                    CASE WHEN $7::text = 'finished' THEN $11::bigint END, $12, $13, $14, $15::bigint,
                    coalesce((SELECT attempt + 1 FROM backups.runs WHERE id = $15::bigint), 1), $16, $17)
            RETURNING id""",
            body.name,
            body.section,
            body.type,
            body.datacenter,
            body.source,
            body.host,
            body.status,
            body.scheduled_for,
            started,
            body.ended_at,
            body.total_size,
            body.error_stage,
            body.error_exit_code,
            _masked(body.error_message),
            body.retry_of,
            f"api:{user.email}",
            body.location,
        )
    except asyncpg.UniqueViolationError as exc:  # the one-per-slot index: the same schedule slot twice
        raise Conflict("A run for this section, type, datacenter and scheduled_for already exists.") from exc
    await _inventory(conn, run_id, body.files, body.objects)
    if body.scheduled_for is None and body.status != "scheduled":
        await slots.fulfil(conn, run_id)
    cache.clear()
    return await _run_detail(conn, run_id)


async def _inventory(
    conn: Any,
    run_id: int,
    files: list[FileIn] | None,
    objects: list[ObjectIn] | None,
    *,
    replace: bool = False,
) -> None:
    """Record the files and objects given (None: leave them); `replace` drops those recorded first."""
    if files is not None and replace:
        await conn.execute("DELETE FROM backups.files WHERE run_id = $1", run_id)
    if files:
        await conn.copy_records_to_table(
            "files",
            schema_name="backups",
            columns=["run_id", "path", "name", "size", "modified_at", "checksum"],
            records=[(run_id, f.path, f.name, f.size, f.modified_at, f.checksum) for f in files],
        )
    if objects is not None and replace:
        await conn.execute("DELETE FROM backups.objects WHERE run_id = $1", run_id)
    if objects:
        await conn.copy_records_to_table(
            "objects",
            schema_name="backups",
            columns=["run_id", "db", "name", "size", "rows"],
            records=[(run_id, o.db, o.name, o.size, o.rows) for o in objects],
        )


@router.patch(
    "/runs/{run_id}",
    response_model=RunOut,
    summary="Heartbeat, progress or outcome of a run",
    responses=errors(400, 404, 409),
)
async def update_run(
    run_id: Id,
    body: RunUpdate,
    _: Manager,
    conn: Conn,
    cache: OverviewCache,
) -> Any:
    """Every call is a heartbeat. `finished`, `failed`, `interrupted` close the run, which cannot change.

    `files` and `objects`, when given, replace the run's inventory in the same transaction.
    """
    current = await conn.fetchrow("SELECT status FROM backups.runs WHERE id = $1 FOR UPDATE", run_id)
    if current is None:
        raise NotFound(f"No run {run_id}.")
    if current["status"] in ("finished", "failed", "interrupted", "expired"):
        raise Conflict(f"Run {run_id} is {current['status']}; it cannot change any more.")
    closing = body.status in ("finished", "failed", "interrupted")
    await conn.execute(
        """UPDATE backups.runs SET
               status = coalesce($2::text, status),
               started_at = coalesce(started_at, now()),
               heartbeat_at = now(),
               ended_at = CASE WHEN $3::bool THEN now() ELSE ended_at END,
               bytes_done = coalesce(
                   $4::bigint, CASE WHEN $2::text = 'finished' THEN $5::bigint END, bytes_done),
               total_size = coalesce($5::bigint, total_size),
               error_stage = coalesce($6::text, error_stage),
               error_exit_code = coalesce($7::int, error_exit_code),
               error_message = coalesce($8::text, error_message)
           WHERE id = $1""",
        run_id,
        body.status,
        closing,
        body.bytes_done,
        body.total_size,
        body.error_stage,
        body.error_exit_code,
        _masked(body.error_message),
    )
    await _inventory(conn, run_id, body.files, body.objects, replace=True)
    if body.status is not None:
        cache.clear()
    row = await conn.fetchrow(f"SELECT {RUN_FIELDS} FROM backups.runs r WHERE r.id = $1", run_id)
    return dict(row) if row else None


class ProblemOut(BaseModel):
    rule: str
    status: str
    message: str
    since: dt.datetime | None = Field(
        default=None, description="When the problem began: the run that shows it, or a threshold crossed."
    )


class CheckOut(BaseModel):
    section: str
    type: str
    datacenter: str
    status: Literal["ok", "warning", "critical", "unknown"]
    message: str
    problems: list[ProblemOut]
    last_finished: dict[str, Any] | None
    thresholds: dict[str, Any]


@router.get(
    "/checks", response_model=list[CheckOut], summary="Check results per section, type and datacenter"
)
async def list_checks(
    _: Viewer,
    conn: ReadConn,
    section: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[RunType | None, Query()] = None,
    datacenter: Annotated[str | None, Query(max_length=100)] = None,
    problems_only: Annotated[bool, Query(description="Only series that are not OK, worst first.")] = False,
) -> Any:
    results = await checks.check(conn, section=section, type=type, datacenter=datacenter)
    if problems_only:
        results = sorted((r for r in results if r.status > checks.Status.OK), key=lambda r: -r.status)
    # Hundreds of series: written with orjson, not re-validated through the response model.
    return JSONResponse([result.as_json() for result in results])


DUE_SHOWN = 50
# A slot whose time has come and that nothing started; as in the checks, a later run of the series
# shows it is being backed up again, and the slot stops counting.
DUE = """r.status = 'scheduled' AND r.scheduled_for < now()
    AND NOT EXISTS (SELECT 1 FROM backups.runs x
                    WHERE (x.section, x.type, x.datacenter) = (r.section, r.type, r.datacenter)
                      AND x.status <> 'scheduled' AND x.started_at > r.scheduled_for)"""


class OverviewOut(BaseModel):
    generated_at: dt.datetime = Field(description="When the catalog was read for this answer.")
    counts: dict[str, int] = Field(description="Series per check status.")
    problems: list[CheckOut] = Field(description="Series that are not OK, worst first.")
    series: list[CheckOut] = Field(description="Every series, by section, type and datacenter.")
    ongoing: list[RunOut] = Field(description="Runs in progress (including stalled ones), oldest first.")
    upcoming: list[RunOut] = Field(description="The next scheduled runs (at most 20).")
    due: list[RunOut] = Field(
        description="Slots whose time has come that no run has started, the latest first (at most "
        f"{DUE_SHOWN}); `state` is `missed` once past the schedule grace."
    )
    due_total: int = Field(description="How many such slots there are in all.")


@router.get("/overview", response_model=OverviewOut, summary="Everything the dashboard's first page shows")
async def overview(_: Viewer, conn: ReadConn, cache: OverviewCache) -> Any:
    """Problems first (critical, then warning), every series' check, the runs in progress, the slots
    due that nothing has started, what comes next.

    Computed at most once per BACKUPS_OVERVIEW_CACHE_S (5 s) per worker, and again after a run is
    registered or updated through this worker; `generated_at` says when.
    """
    return Response(await cache.get(lambda: _overview(conn)), media_type="application/json")


async def _overview(conn: Any) -> bytes:
    results = await checks.check(conn)
    counts = {status.label: 0 for status in checks.Status}
    for result in results:
        counts[result.status.label] += 1
    problems = sorted((r for r in results if r.status > checks.Status.OK), key=lambda r: -r.status)
    runs = await conn.fetchval(
        f"""SELECT json_build_object(
            'generated_at', now(),
            'ongoing', coalesce((SELECT json_agg(x ORDER BY x.started_at) FROM (
                SELECT {RUN_FIELDS} FROM backups.runs r WHERE r.status = 'ongoing') x), '[]'),
            'upcoming', coalesce((SELECT json_agg(x ORDER BY x.scheduled_for) FROM (
                SELECT {RUN_FIELDS} FROM backups.runs r
                WHERE r.status = 'scheduled' AND r.scheduled_for >= now()
                ORDER BY r.scheduled_for LIMIT 20) x), '[]'),
            'due', coalesce((SELECT json_agg(x ORDER BY x.scheduled_for DESC, x.id DESC) FROM (
                SELECT {RUN_FIELDS} FROM backups.runs r WHERE {DUE}
                ORDER BY r.scheduled_for DESC, r.id DESC LIMIT $1) x), '[]'),
            'due_total', (SELECT count(*) FROM backups.runs r WHERE {DUE}))::text""",
        DUE_SHOWN,
    )
    lists = orjson.loads(runs)
    series = [r.as_json() for r in results]
    by_key = {(s["section"], s["type"], s["datacenter"]): s for s in series}
    payload = {
        "generated_at": lists["generated_at"],
        "counts": counts,
        "problems": [by_key[(r.section, r.type, r.datacenter)] for r in problems],
        "series": series,
        "ongoing": lists["ongoing"],
        "upcoming": lists["upcoming"],
        "due": lists["due"],
        "due_total": lists["due_total"],
    }
    return bytes(JSONResponse(payload).body)


class AlertOut(BaseModel):
    id: int
    section: str
    type: str
    datacenter: str
    rule: str
    severity: str
    message: str
    since: dt.datetime = Field(description="When the problem began (the run's time, or a threshold crossed).")
    first_seen_at: dt.datetime = Field(description="When a check first noticed it.")
    last_seen_at: dt.datetime
    resolved_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None = Field(description="The email of who acknowledged it.")
    silenced_until: dt.datetime | None
    silenced: bool
    note: str | None
    events: list[dict[str, Any]]


ALERT = """SELECT a.id, a.section, a.type, a.datacenter, a.rule, a.severity, a.message, a.since,
    a.first_seen_at, a.last_seen_at, a.resolved_at, a.acknowledged_at, u.email AS acknowledged_by,
    a.silenced_until,
    coalesce(a.silenced_until > now(), false) AS silenced, a.note,
    coalesce((SELECT json_agg(json_build_object('at', e.at, 'event', e.event, 'by', eu.email, 'note', e.note)
                              ORDER BY e.at, e.id)
              FROM backups.alert_events e LEFT JOIN accounts.users eu ON eu.id = e.user_id
              WHERE e.alert_id = a.id), '[]')::text AS events
FROM backups.alerts a LEFT JOIN accounts.users u ON u.id = a.acknowledged_by"""


def _alert(row: Any) -> dict[str, Any]:
    return {**dict(row), "events": json.loads(row["events"])}


ALERT_COLUMNS = [name for name in AlertOut.model_fields]
ALERTS = (
    ALERT
    + """ WHERE ($1 OR a.resolved_at IS NULL) AND ($2::text IS NULL OR a.section = $2)
        ORDER BY a.resolved_at IS NOT NULL, a.severity = 'warning', a.first_seen_at DESC, a.id DESC
        LIMIT $3"""
)


@router.get(
    "/alerts",
    response_model=list[AlertOut],
    summary="Alerts, open ones by default, critical first (or as CSV)",
    responses=export.responses("Alerts"),
)
async def list_alerts(
    _: Viewer,
    conn: ReadConn,
    request: Request,
    include_resolved: Annotated[bool, Query(description="Resolved alerts too (the history).")] = False,
    section: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    format: export.Format = None,
) -> Any:
    if export.wanted(request, format):
        return export.stream(
            conn,
            ALERTS,
            (include_resolved, section, export.limit_given(request, limit)),
            ALERT_COLUMNS,
            name="alerts",
        )
    rows = await conn.fetch(ALERTS, include_resolved, section, limit)
    return [_alert(row) for row in rows]


@router.post("/alerts/refresh", summary="Run the checks now and bring the alerts in line")
async def refresh_alerts(_: Manager, conn: Conn) -> dict[str, int]:
    """What the scheduler does periodically: raise, escalate, ease and resolve alerts."""
    return await alerts.sync(conn, await checks.check(conn))


class AlertAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str | None, Field(max_length=2000, pattern=r"^[^\x00]*$")] = None


class SilenceIn(AlertAction):
    until: Moment | None = Field(description="Silenced until then; null lifts the silence.")

    @model_validator(mode="after")
    def _in_the_future(self) -> SilenceIn:
        if self.until is not None and self.until <= dt.datetime.now(dt.UTC):
            raise BadInput("`until` must be in the future (or null to lift the silence).")
        return self


async def _alert_or_404(conn: Any, alert_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(ALERT + " WHERE a.id = $1", alert_id)
    if row is None:
        raise NotFound(f"No alert {alert_id}.")
    return _alert(row)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertOut,
    summary="Say somebody is on it",
    responses=errors(404, 409),
)
async def acknowledge_alert(alert_id: Id, body: AlertAction, user: Manager, conn: Conn) -> Any:
    await _alert_or_404(conn, alert_id)
    if not await alerts.acknowledge(conn, alert_id, user.user_id, body.note):
        raise Conflict(f"Alert {alert_id} is resolved; there is nothing to acknowledge.")
    return await _alert_or_404(conn, alert_id)


@router.post(
    "/alerts/{alert_id}/silence",
    response_model=AlertOut,
    summary="Silence until a time, or lift it",
    responses=errors(400, 404, 409),
)
async def silence_alert(alert_id: Id, body: SilenceIn, user: Manager, conn: Conn) -> Any:
    await _alert_or_404(conn, alert_id)
    if not await alerts.silence(conn, alert_id, user.user_id, body.until, body.note):
        raise Conflict(f"Alert {alert_id} is resolved; there is nothing to silence.")
    return await _alert_or_404(conn, alert_id)
