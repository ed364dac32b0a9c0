"""The arxiv service's SQL for queries (the history), jobs and the legacy routes.

Lists are built as JSON by PostgreSQL, the page and its total in one statement. Filters are fixed
SQL fragments chosen by which parameters are present, so no request text becomes SQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from dockyard.core.db import Connection


def utc(column: str) -> str:
    """SQL giving `column` (timestamptz) as ISO 8601 in UTC with a Z, whatever the session's zone."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


# Legacy rows may hold any bigint; only those PostgreSQL can turn into a time become one.
SEARCHED_AT = utc(
    "CASE WHEN q.timestamp BETWEEN -210866803200 AND 9224318015999 THEN to_timestamp(q.timestamp) END"
)

QUERY_JSON = f"""json_build_object(
    'id', q.id, 'query_id', q.query_id, 'timestamp', q.timestamp, 'searched_at', {SEARCHED_AT},
    'status', q.status, 'num_results', q.num_results, 'num_entries', q.num_entries, 'query', q.query,
    'user_id', q.user_id, 'search_query', q.search_query, 'id_list', q.id_list, 'sort_by', q.sort_by,
    'sort_order', q.sort_order, 'start', q.start, 'max_results', q.max_results,
    'from_cache', q.from_cache, 'duration_ms', q.duration_ms)"""


@dataclass
class Filters:
    """A WHERE clause made of fixed fragments, and the values of their parameters."""

    clauses: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)

    def add(self, fragment: str, *values: Any) -> None:
        """Add `fragment`, whose `{}` placeholders become the next parameter numbers."""
        numbers = [f"${len(self.values) + index + 1}" for index in range(len(values))]
        self.clauses.append(fragment.format(*numbers))
        self.values.extend(values)

    def where(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "true"

    def next(self) -> str:
        """The placeholder of the next parameter."""
        return f"${len(self.values) + 1}"


@dataclass(frozen=True)
class HistoryFilter:
    """Which recorded queries to list."""

    since: int | None = None  # Unix seconds, inclusive
    until: int | None = None  # Unix seconds, exclusive
    text: str | None = None  # a LIKE pattern over the canonical query
    user_id: int | None = None
    status: int | None = None

    def filters(self) -> Filters:
        found = Filters()
        if self.since is not None:
            found.add("q.timestamp >= {}", self.since)
        if self.until is not None:
            found.add("q.timestamp < {}", self.until)
        if self.text is not None:
            found.add("q.query ILIKE {}", self.text)
        if self.user_id is not None:
            found.add("q.user_id = {}", self.user_id)
        if self.status is not None:
            found.add("q.status = {}", self.status)
        return found


def _order(ascending: bool) -> str:
    return "q.timestamp, q.id" if ascending else "q.timestamp DESC, q.id DESC"


async def history_json(
    conn: Connection, history: HistoryFilter, *, ascending: bool, limit: int, offset: int
) -> str:
    """One page of recorded queries and the total matching, as JSON `{count, results}`."""
    found = history.filters()
    where = found.where()
    limit_at, offset_at = f"${len(found.values) + 1}", f"${len(found.values) + 2}"
    # The page is cut before its JSON is built, and counted apart (an index-only count).
    sql = f"""
    SELECT json_build_object(
        'count', (SELECT count(*) FROM arxiv.queries q WHERE {where}),
        'results', coalesce((
            SELECT json_agg({QUERY_JSON} ORDER BY {_order(ascending)})
            FROM (SELECT * FROM arxiv.queries q WHERE {where}
                  ORDER BY {_order(ascending)} LIMIT {limit_at} OFFSET {offset_at}) q), '[]'))"""
    text: str = await conn.fetchval(sql, *found.values, limit, offset)
    return text


async def history_lines(
    conn: Connection, history: HistoryFilter, *, ascending: bool, limit: int | None
) -> AsyncIterator[bytes]:
    """Every matching query as one JSON line (NDJSON), read through a server-side cursor."""
    found = history.filters()
    sql = f"""
    SELECT {QUERY_JSON}::text FROM arxiv.queries q WHERE {found.where()}
    ORDER BY {_order(ascending)} LIMIT {found.next()}"""
    async with conn.transaction():
        async for row in conn.cursor(sql, *found.values, limit, prefetch=500):
            yield row[0].encode() + b"\n"


QUERY_BY_ID = f"""
SELECT {QUERY_JSON}::text FROM arxiv.queries q WHERE q.id = $1
"""


async def query_json(conn: Connection, *, query_id: int) -> str | None:
    """One recorded query as JSON, or None."""
    text: str | None = await conn.fetchval(QUERY_BY_ID, query_id)
    return text


JOB_JSON = f"""json_build_object(
    'id', j.id,
    'state', CASE WHEN j.state = 'running' AND j.heartbeat_at < now() - make_interval(secs => $2)
                  THEN 'stalled' ELSE j.state END,
    'canonical', j.canonical, 'request', j.request, 'user_id', j.user_id,
    'slices_total', j.slices_total, 'slices_done', j.slices_done, 'entries_done', j.entries_done,
    'total_results', j.total_results, 'error', j.error, 'error_status', j.error_status,
    'query_id', j.query_id, 'created_at', {utc("j.created_at")}, 'started_at', {utc("j.started_at")},
    'finished_at', {utc("j.finished_at")}, 'heartbeat_at', {utc("j.heartbeat_at")})"""

JOB_BY_ID = f"SELECT {JOB_JSON}::text FROM arxiv.search_jobs j WHERE j.id = $1"


async def job_json(conn: Connection, *, job_id: int, stall_after_s: float) -> str | None:
    """One search job as JSON (`stalled` when its worker stopped sending heartbeats), or None."""
    text: str | None = await conn.fetchval(JOB_BY_ID, job_id, stall_after_s)
    return text


# Legacy routes (specs/arxiv.md §B.1): the shapes the old frontend answered, with UTC times.

LEGACY_QUERIES = """
SELECT coalesce(json_agg(json_build_object(
           'query', 'ArXiv Query: ' || coalesce(q.query, ''),
           'timestamp', to_char(CASE WHEN q.timestamp BETWEEN -210866803200 AND 9224318015999
                                     THEN to_timestamp(q.timestamp) END AT TIME ZONE 'UTC',
                                'YYYY-MM-DD"T"HH24:MI:SS'),
           'status', q.status, 'num_results', q.num_results) ORDER BY q.timestamp, q.id), '[]')::text
FROM arxiv.queries q
WHERE q.timestamp >= $1 AND ($2::bigint IS NULL OR q.timestamp <= $2)
"""


async def legacy_queries_json(conn: Connection, *, start: int, end: int | None) -> str:
    """The queries recorded between `start` and `end` (Unix seconds, inclusive), oldest first."""
    text: str = await conn.fetchval(LEGACY_QUERIES, start, end)
    return text


# Stably ordered now: by id, which follows each search's result_number.
LEGACY_RESULTS = """
SELECT coalesce(json_agg(json_build_object('author', r.author, 'title', r.title, 'journal', r.journal)
                         ORDER BY r.id), '[]')::text
FROM (SELECT * FROM arxiv.results ORDER BY id LIMIT $1 OFFSET $2) r
"""


async def legacy_results_json(conn: Connection, *, page: int, items_per_page: int) -> str:
    """Page `page` (0-based) of every stored result, in the order they were stored."""
    text: str = await conn.fetchval(LEGACY_RESULTS, items_per_page, page * items_per_page)
    return text
