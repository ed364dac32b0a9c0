"""/backups/api/v1 restore tests: the drills `dockyard backups restore-test` recorded, newest first.

Reads need `backups.view`. Each test carries its run's section, type and datacenter, so a list can
be filtered by them; the page and its total come from one query.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from dockyard.accounts.auth import Principal, require
from dockyard.backups import export
from dockyard.backups.permissions import VIEW
from dockyard.core.db import ReadConn
from dockyard.core.errors import NotFound
from dockyard.core.openapi import errors
from dockyard.core.types import Id

Viewer = Annotated[Principal, Depends(require(VIEW.codename))]
router = APIRouter(prefix="/api/v1", tags=["backups"])

Result = Literal["ongoing", "passed", "failed"]


class RestoreTestOut(BaseModel):
    id: int
    run_id: int
    section: str
    type: str
    datacenter: str
    run_name: str | None
    result: Result
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration_s: float | None
    target: str | None = Field(
        description="Where the backup was restored (server/database, never credentials)."
    )
    detail: dict[str, Any] | None = Field(
        description="`tables` (db, name, expected and restored rows), `mismatches`, and on failure "
        "`stage` and `error`; snapshots add `compared_with_run`, the dump their counts were compared with."
    )


class RestoreTestPage(BaseModel):
    total: int
    limit: int
    offset: int
    results: list[RestoreTestOut]


FIELDS = """t.id, t.run_id, r.section, r.type, r.datacenter, r.name AS run_name, t.result, t.started_at,
    t.ended_at, extract(epoch FROM t.ended_at - t.started_at)::float8 AS duration_s, t.target, t.detail"""

PAGE = f"""WITH matching AS (
    SELECT {FIELDS} FROM backups.restore_tests t JOIN backups.runs r ON r.id = t.run_id
    WHERE ($1::text IS NULL OR r.section = $1) AND ($2::text IS NULL OR r.type = $2)
      AND ($3::text IS NULL OR r.datacenter = $3) AND ($4::text IS NULL OR t.result = $4)
)
SELECT (SELECT count(*) FROM matching) AS total,
       coalesce((SELECT json_agg(page) FROM (
           SELECT * FROM matching ORDER BY started_at DESC, id DESC LIMIT $5 OFFSET $6) page), '[]')
           AS results"""


MATCHING = f"""SELECT {FIELDS} FROM backups.restore_tests t JOIN backups.runs r ON r.id = t.run_id
WHERE ($1::text IS NULL OR r.section = $1) AND ($2::text IS NULL OR r.type = $2)
  AND ($3::text IS NULL OR r.datacenter = $3) AND ($4::text IS NULL OR t.result = $4)
ORDER BY t.started_at DESC, t.id DESC LIMIT $5 OFFSET $6"""
COLUMNS = list(RestoreTestOut.model_fields)


@router.get(
    "/restore-tests",
    response_model=RestoreTestPage,
    summary="Restore tests, newest first (or every match as CSV)",
    responses=export.responses("Restore tests"),
)
async def list_restore_tests(
    _: Viewer,
    conn: ReadConn,
    request: Request,
    section: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[Literal["dump", "snapshot"] | None, Query()] = None,
    datacenter: Annotated[str | None, Query(max_length=100)] = None,
    result: Annotated[Result | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    format: export.Format = None,
) -> Any:
    if export.wanted(request, format):
        given = export.limit_given(request, limit)
        return export.stream(
            conn, MATCHING, (section, type, datacenter, result, given, offset), COLUMNS, name="restore-tests"
        )
    row = await conn.fetchrow(PAGE, section, type, datacenter, result, limit, offset)
    assert row is not None
    return {"total": row["total"], "limit": limit, "offset": offset, "results": json.loads(row["results"])}


@router.get(
    "/runs/{run_id}/restore-tests",
    response_model=list[RestoreTestOut],
    summary="The restore tests of one run, newest first",
    responses=errors(404),
)
async def run_restore_tests(run_id: Id, _: Viewer, conn: ReadConn) -> Any:
    found = await conn.fetchval(
        f"""SELECT json_build_object('run', EXISTS (SELECT 1 FROM backups.runs WHERE id = $1),
               'tests', coalesce((SELECT json_agg(x ORDER BY x.started_at DESC, x.id DESC) FROM (
                   SELECT {FIELDS} FROM backups.restore_tests t JOIN backups.runs r ON r.id = t.run_id
                   WHERE t.run_id = $1) x), '[]'))::text""",
        run_id,
    )
    answer = json.loads(found)
    if not answer["run"]:
        raise NotFound(f"No run {run_id}.")
    return answer["tests"]
