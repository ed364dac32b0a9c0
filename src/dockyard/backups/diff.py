"""/backups/api/v1/runs/{id}/diff?against={other}: what changed between two runs' files and objects.

Files are matched by path and name, objects by database and table, with a FULL JOIN in PostgreSQL:
an entry only in the run `appeared`, only in the other `vanished`, in both `grew`, `shrank` or is
`unchanged` by size. Counts and byte totals cover every entry; the lists hold the changed ones
(and the unchanged with `include_unchanged`), biggest change first, up to `limit` each.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dockyard.backups.api import Viewer
from dockyard.core.db import ReadConn
from dockyard.core.errors import BadInput, NotFound
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse
from dockyard.core.types import Id

router = APIRouter(prefix="/api/v1/runs", tags=["backups"])

Change = Literal["appeared", "vanished", "grew", "shrank", "unchanged"]


def _part(table: str, keys: tuple[str, str]) -> str:
    """SQL for one side of the diff (files or objects), as JSON. `table` and `keys` come from the code."""
    first, second = keys
    return f"""(WITH joined AS (
        SELECT {first}, {second}, b.size AS before, a.size AS after,
               CASE WHEN b.run_id IS NULL THEN 'appeared' WHEN a.run_id IS NULL THEN 'vanished'
                    WHEN a.size > b.size THEN 'grew' WHEN a.size < b.size THEN 'shrank'
                    ELSE 'unchanged' END AS change
        FROM (SELECT * FROM backups.{table} WHERE run_id = $1) a
        FULL JOIN (SELECT * FROM backups.{table} WHERE run_id = $2) b USING ({first}, {second})
    )
    SELECT json_build_object(
        'counts', json_build_object(
            'appeared', count(*) FILTER (WHERE change = 'appeared'),
            'vanished', count(*) FILTER (WHERE change = 'vanished'),
            'grew', count(*) FILTER (WHERE change = 'grew'),
            'shrank', count(*) FILTER (WHERE change = 'shrank'),
            'unchanged', count(*) FILTER (WHERE change = 'unchanged')),
        'size_before', coalesce(sum(before), 0),
        'size_after', coalesce(sum(after), 0),
        'changes', coalesce((SELECT json_agg(x) FROM (
            SELECT {first}, {second}, change, before, after,
                   coalesce(after, 0) - coalesce(before, 0) AS delta
            FROM joined WHERE $3 OR change <> 'unchanged'
            ORDER BY abs(coalesce(after, 0) - coalesce(before, 0)) DESC, {first}, {second}
            LIMIT $4) x), '[]'))
    FROM joined)"""


DIFF = f"""SELECT json_build_object(
    'run', (SELECT json_build_object('id', id, 'name', name, 'started_at', started_at,
                                     'total_size', total_size) FROM backups.runs WHERE id = $1),
    'against', (SELECT json_build_object('id', id, 'name', name, 'started_at', started_at,
                                         'total_size', total_size) FROM backups.runs WHERE id = $2),
    'files', {_part("files", ("path", "name"))},
    'objects', {_part("objects", ("db", "name"))}
)::text"""


class DiffRun(BaseModel):
    id: int
    name: str | None
    started_at: dt.datetime | None
    total_size: int | None


class FileChange(BaseModel):
    path: str
    name: str
    change: Change
    before: int | None = Field(description="Its size in `against`; null when it appeared.")
    after: int | None = Field(description="Its size in the run; null when it vanished.")
    delta: int = Field(description="after - before, in bytes (a missing side counts 0).")


class ObjectChange(BaseModel):
    db: str
    name: str = Field(description="The table ('' is the database as a whole).")
    change: Change
    before: int | None
    after: int | None
    delta: int


class Counts(BaseModel):
    appeared: int
    vanished: int
    grew: int
    shrank: int
    unchanged: int


class FilesDiff(BaseModel):
    counts: Counts
    size_before: int = Field(description="Bytes of every file of `against`.")
    size_after: int = Field(description="Bytes of every file of the run.")
    changes: list[FileChange] = Field(description="Biggest change first, up to `limit`.")


class ObjectsDiff(BaseModel):
    counts: Counts
    size_before: int
    size_after: int
    changes: list[ObjectChange]


class DiffOut(BaseModel):
    run: DiffRun
    against: DiffRun
    files: FilesDiff
    objects: ObjectsDiff


@router.get(
    "/{run_id}/diff",
    response_model=DiffOut,
    summary="Files and objects that appeared, vanished, grew or shrank since another run",
    responses=errors(400, 404),
)
async def run_diff(
    run_id: Id,
    against: Annotated[Id, Query(description="The run to compare with (usually the previous one).")],
    _: Viewer,
    conn: ReadConn,
    include_unchanged: Annotated[bool, Query(description="List unchanged entries too.")] = False,
    limit: Annotated[int, Query(ge=1, le=100_000, description="Most entries per list.")] = 1000,
) -> Any:
    """What the run holds that `against` did not, and the other way round, by size."""
    if against == run_id:
        raise BadInput("`against` is the run itself; give another run's id (e.g. the previous run).")
    found = await conn.fetchval(
        "SELECT coalesce(array_agg(id), '{}') FROM backups.runs WHERE id = ANY($1::bigint[])",
        [run_id, against],
    )
    if run_id not in found:
        raise NotFound(f"No run {run_id}.")
    if against not in found:
        raise NotFound(f"against: no run {against}.")
    return RawJSONResponse(await conn.fetchval(DIFF, run_id, against, include_unchanged, limit))
