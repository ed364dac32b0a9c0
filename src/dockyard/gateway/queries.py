"""The gateway's SQL, each statement beside the function that runs it.

Grant changes write their audit record in the same statement, so a change and its record commit
together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from dockyard.core.db import Connection
from dockyard.gateway.rights import Grant, Level

# A pattern covers a feed when it is `*`, the feed itself, or a dotted prefix of it (rights.covers).
COVERS = "(g.feed = '*' OR g.feed = {feed} OR (g.feed LIKE '%.*' AND starts_with({feed}, left(g.feed, -1))))"

GRANTS_OF_USER = f"""
SELECT g.feed, g.level::text AS level, g.columns
FROM gateway.grants g
WHERE (g.user_id = $1
       OR g.group_id IN (SELECT ug.group_id FROM accounts.user_groups ug WHERE ug.user_id = $1))
  AND ($2::text IS NULL OR {COVERS.format(feed="$2")})
"""


async def grants_of_user(conn: Connection, user_id: int, *, feed: str | None) -> list[Grant]:
    """The grants of the user and of the user's groups (those covering `feed`, when given)."""
    rows = await conn.fetch(GRANTS_OF_USER, user_id, feed)
    return [
        Grant(
            row["feed"],
            Level.of(row["level"]),
            frozenset(row["columns"]) if row["columns"] is not None else None,
        )
        for row in rows
    ]


GRANT_JSON = """json_build_object(
    'id', g.id, 'user_id', g.user_id, 'group_id', g.group_id, 'feed', g.feed, 'level', g.level,
    'columns', g.columns, 'created_at', g.created_at, 'created_by', g.created_by,
    'updated_at', g.updated_at)"""

# The audit record of a grant change, inserted in the same statement as the change.
AUDIT_CHANGE = """INSERT INTO gateway.audit (user_id, token_id, client, method, route, feed, decision, reason,
                           status, request_id, change)
SELECT $1, $2, $3, {method}, {route}, feed, 'allow', {reason}, {status}, $4, change FROM changed"""

CREATE_GRANT = f"""
WITH made AS (
    INSERT INTO gateway.grants (user_id, group_id, feed, level, columns, created_by)
    VALUES ($5, $6, $7, $8::gateway.level, $9, $1)
    RETURNING *
), changed AS (
    SELECT g.feed, json_build_object('action', 'create', 'grant', {GRANT_JSON})::jsonb AS change, g.id
    FROM made g
), logged AS ({
    AUDIT_CHANGE.format(
        method="'POST'", route="'/gateway/api/v1/grants'", reason="'grant created'", status=201
    )
})
SELECT {GRANT_JSON}::text FROM made g
"""


def _actor(actor: dict[str, Any]) -> tuple[Any, ...]:
    return actor["user_id"], actor["token_id"], actor["client"], actor["request_id"]


async def create_grant(
    conn: Connection,
    *,
    actor: dict[str, Any],
    user_id: int | None,
    group_id: int | None,
    feed: str,
    level: str,
    columns: Sequence[str] | None,
) -> str:
    """Create a grant; its JSON text."""
    text: str = await conn.fetchval(
        CREATE_GRANT,
        *_actor(actor),
        user_id,
        group_id,
        feed,
        level,
        list(columns) if columns is not None else None,
    )
    return text


GET_GRANT = f"SELECT {GRANT_JSON}::text FROM gateway.grants g WHERE g.id = $1"


async def grant_json(conn: Connection, grant_id: int) -> str | None:
    """One grant as JSON text, or None."""
    text: str | None = await conn.fetchval(GET_GRANT, grant_id)
    return text


UPDATE_GRANT = f"""
WITH before AS (
    SELECT {GRANT_JSON} AS grant_json FROM gateway.grants g WHERE g.id = $5 FOR UPDATE
), updated AS (
    UPDATE gateway.grants g
    SET level = coalesce($6::gateway.level, g.level),
        columns = CASE WHEN $7 THEN $8::text[] ELSE g.columns END,
        updated_at = now()
    WHERE g.id = $5
    RETURNING g.*
), changed AS (
    SELECT g.feed, json_build_object('action', 'update', 'before', (SELECT grant_json FROM before),
                                     'after', {GRANT_JSON})::jsonb AS change
    FROM updated g
), logged AS ({
    AUDIT_CHANGE.format(
        method="'PATCH'", route="'/gateway/api/v1/grants/{id}'", reason="'grant changed'", status=200
    )
})
SELECT {GRANT_JSON}::text FROM updated g
"""


async def update_grant(
    conn: Connection,
    grant_id: int,
    *,
    actor: dict[str, Any],
    level: str | None,
    set_columns: bool,
    columns: Sequence[str] | None,
) -> str | None:
    """Change a grant's level and/or columns; its new JSON text, or None when there is no such grant."""
    text: str | None = await conn.fetchval(
        UPDATE_GRANT,
        *_actor(actor),
        grant_id,
        level,
        set_columns,
        list(columns) if columns is not None else None,
    )
    return text


DELETE_GRANT = f"""
WITH deleted AS (
    DELETE FROM gateway.grants g WHERE g.id = $5 RETURNING g.*
), changed AS (
    SELECT g.feed, json_build_object('action', 'delete', 'grant', {GRANT_JSON})::jsonb AS change
    FROM deleted g
), logged AS ({
    AUDIT_CHANGE.format(
        method="'DELETE'", route="'/gateway/api/v1/grants/{id}'", reason="'grant deleted'", status=204
    )
})
SELECT count(*) FROM deleted
"""


async def delete_grant(conn: Connection, grant_id: int, *, actor: dict[str, Any]) -> bool:
    """Delete a grant; False when there is none."""
    deleted: int = await conn.fetchval(DELETE_GRANT, *_actor(actor), grant_id)
    return deleted > 0


LIST_GRANTS = f"""
SELECT json_build_object(
    'count', coalesce(max(total), 0),
    'results', coalesce(json_agg({GRANT_JSON} ORDER BY g.feed, g.id), '[]'))::text
FROM (
    SELECT g.*, count(*) OVER () AS total
    FROM gateway.grants g
    WHERE ($1::bigint IS NULL OR g.user_id = $1)
      AND ($2::bigint IS NULL OR g.group_id = $2)
      AND ($3::text IS NULL OR g.feed = $3)
      AND ($4::gateway.level IS NULL OR g.level = $4::gateway.level)
    ORDER BY g.feed, g.id
    LIMIT $5 OFFSET $6
) g
"""


async def list_grants(
    conn: Connection,
    *,
    user_id: int | None,
    group_id: int | None,
    feed: str | None,
    level: str | None,
    limit: int,
    offset: int,
) -> str:
    """A page of grants matching the filters and their total, as JSON text `{count, results}`."""
    text: str = await conn.fetchval(LIST_GRANTS, user_id, group_id, feed, level, limit, offset)
    return text


USER_EXISTS = "SELECT is_superuser FROM accounts.users WHERE id = $1 AND deleted_at IS NULL"


async def user_superuser(conn: Connection, user_id: int) -> bool | None:
    """Whether the user is a superuser; None when there is no such user."""
    value: bool | None = await conn.fetchval(USER_EXISTS, user_id)
    return value


RIGHTS_GRANTS = f"""
SELECT coalesce(json_agg(json_build_object(
    'grant', {GRANT_JSON}, 'via_group', grp.name) ORDER BY g.feed, g.id), '[]')::text
FROM gateway.grants g LEFT JOIN accounts.groups grp ON grp.id = g.group_id
WHERE (g.user_id = $1
       OR g.group_id IN (SELECT ug.group_id FROM accounts.user_groups ug WHERE ug.user_id = $1))
  AND ($2::text IS NULL OR {COVERS.format(feed="$2")})
"""


async def rights_grants_json(conn: Connection, user_id: int, *, feed: str | None) -> str:
    """The user's grants (direct and through groups), with the group each comes through, as JSON text."""
    text: str = await conn.fetchval(RIGHTS_GRANTS, user_id, feed)
    return text


# What the data routes change: the creator's admin grant, and grants following their feed.
SYSTEM_CHANGE = """INSERT INTO gateway.audit (user_id, token_id, client, method, route, feed, decision,
                           reason,
                           status, request_id, change)
SELECT $1, $2, $3, {method}, {route}, {feed}, 'allow', {reason}, {status}, $4, {change}"""

GRANT_CREATOR = f"""
WITH made AS (
    INSERT INTO gateway.grants (user_id, feed, level, created_by)
    VALUES ($1, $5, 'admin', $1)
    ON CONFLICT DO NOTHING
    RETURNING *
), logged AS ({
    SYSTEM_CHANGE.format(
        method="'POST'",
        route="'/gateway/lbasedb/feed'",
        feed="$5",
        reason="'creator granted admin'",
        status=201,
        change=f"(SELECT json_build_object('action', 'create', 'grant', {GRANT_JSON})::jsonb FROM made g)",
    )
})
SELECT count(*) FROM made
"""


async def grant_creator(conn: Connection, *, actor: dict[str, Any], feed: str) -> None:
    """Give the feed's creator `admin` on it."""
    await conn.execute(GRANT_CREATOR, *_actor(actor), feed)


# A rename moves the exact-name grants; where the new name already has the same subject and level,
# the grant already there stays and the moved one goes.
MOVE_GRANTS = f"""
WITH clash AS (
    DELETE FROM gateway.grants g
    WHERE g.feed = $5 AND EXISTS (
        SELECT 1 FROM gateway.grants o
        WHERE o.feed = $6 AND o.level = g.level
          AND o.user_id IS NOT DISTINCT FROM g.user_id AND o.group_id IS NOT DISTINCT FROM g.group_id)
    RETURNING g.id
), moved AS (
    UPDATE gateway.grants g SET feed = $6, updated_at = now()
    WHERE g.feed = $5 AND g.id NOT IN (SELECT id FROM clash)
    RETURNING g.*
), logged AS ({
    SYSTEM_CHANGE.format(
        method="'PATCH'",
        route="'/gateway/lbasedb/feed'",
        feed="$6",
        reason="'grants moved with the feed'",
        status=204,
        change="json_build_object('action', 'move', 'from', $5::text, 'to', $6::text, "
        "'moved', (SELECT count(*) FROM moved), 'dropped', (SELECT count(*) FROM clash))::jsonb",
    )
})
SELECT (SELECT count(*) FROM moved)
"""


async def move_grants(conn: Connection, *, actor: dict[str, Any], old: str, new: str) -> int:
    """Move the grants of feed `old` to `new`; how many moved."""
    moved: int = await conn.fetchval(MOVE_GRANTS, *_actor(actor), old, new)
    return moved


DROP_GRANTS = f"""
WITH dropped AS (
    DELETE FROM gateway.grants g WHERE g.feed = $5 RETURNING g.id
), logged AS ({
    SYSTEM_CHANGE.format(
        method="'DELETE'",
        route="'/gateway/lbasedb/feed'",
        feed="$5",
        reason="'grants deleted with the feed'",
        status=204,
        change="json_build_object('action', 'drop', 'feed', $5::text, "
        "'dropped', (SELECT count(*) FROM dropped))::jsonb",
    )
})
SELECT count(*) FROM dropped
"""


async def drop_grants(conn: Connection, *, actor: dict[str, Any], feed: str) -> int:
    """Delete the grants naming exactly `feed`; how many."""
    dropped: int = await conn.fetchval(DROP_GRANTS, *_actor(actor), feed)
    return dropped


# Column renames and deletes follow in the column lists of grants naming the feed exactly
# (a pattern's column list covers many feeds and is left alone).
RENAME_COLUMN = f"""
WITH renamed AS (
    UPDATE gateway.grants g SET columns = array_replace(g.columns, $6, $7), updated_at = now()
    WHERE g.feed = $5 AND $6 = ANY (g.columns)
    RETURNING g.id
), logged AS ({
    SYSTEM_CHANGE.format(
        method="'PATCH'",
        route="'/gateway/lbasedb/col'",
        feed="$5",
        reason="'column lists follow the rename'",
        status=204,
        change="json_build_object('action', 'rename_column', 'from', $6::text, 'to', $7::text, "
        "'grants', (SELECT count(*) FROM renamed))::jsonb",
    )
})
SELECT count(*) FROM renamed
"""


async def rename_column(conn: Connection, *, actor: dict[str, Any], feed: str, old: str, new: str) -> int:
    """Rename a column in the column lists of the feed's grants; how many grants changed."""
    changed: int = await conn.fetchval(RENAME_COLUMN, *_actor(actor), feed, old, new)
    return changed


REMOVE_COLUMN = f"""
WITH removed AS (
    UPDATE gateway.grants g SET columns = array_remove(g.columns, $6), updated_at = now()
    WHERE g.feed = $5 AND $6 = ANY (g.columns)
    RETURNING g.id
), logged AS ({
    SYSTEM_CHANGE.format(
        method="'DELETE'",
        route="'/gateway/lbasedb/col'",
        feed="$5",
        reason="'column lists lose the column'",
        status=204,
        change="json_build_object('action', 'remove_column', 'column', $6::text, "
        "'grants', (SELECT count(*) FROM removed))::jsonb",
    )
})
SELECT count(*) FROM removed
"""


async def remove_column(conn: Connection, *, actor: dict[str, Any], feed: str, column: str) -> int:
    """Remove a deleted column from the column lists of the feed's grants (a list may become empty)."""
    changed: int = await conn.fetchval(REMOVE_COLUMN, *_actor(actor), feed, column)
    return changed


AUDIT_COLUMNS = (
    "at", "user_id", "token_id", "client", "method", "route", "feed", "cols", "ix", "size", "decision",
    "reason", "upstream_status", "status", "bytes_in", "bytes_out", "duration_ms", "request_id",
)  # fmt: skip


async def write_audit(conn: Connection, records: Sequence[tuple[Any, ...]]) -> None:
    """Append audit records (tuples in AUDIT_COLUMNS order) in one COPY."""
    await conn.copy_records_to_table("audit", schema_name="gateway", columns=AUDIT_COLUMNS, records=records)


LIST_AUDIT = """
SELECT json_build_object(
    'count', coalesce(max(total), 0),
    'results', coalesce(json_agg(json_build_object(
        'id', a.id, 'at', a.at, 'user_id', a.user_id, 'token_id', a.token_id, 'client', a.client,
        'method', a.method, 'route', a.route, 'feed', a.feed, 'cols', a.cols, 'ix', a.ix, 'size', a.size,
        'decision', a.decision, 'reason', a.reason, 'upstream_status', a.upstream_status, 'status', a.status,
        'bytes_in', a.bytes_in, 'bytes_out', a.bytes_out, 'duration_ms', a.duration_ms,
        'request_id', a.request_id, 'change', a.change) ORDER BY a.at DESC, a.id DESC), '[]'))::text
FROM (
    SELECT a.*, count(*) OVER () AS total
    FROM gateway.audit a
    WHERE ($1::bigint IS NULL OR a.user_id = $1)
      AND ($2::text IS NULL OR a.feed = $2)
      AND ($3::text IS NULL OR a.decision = $3)
      AND ($4::timestamptz IS NULL OR a.at >= $4)
      AND ($5::timestamptz IS NULL OR a.at < $5)
    ORDER BY a.at DESC, a.id DESC
    LIMIT $6 OFFSET $7
) a
"""


async def list_audit(
    conn: Connection,
    *,
    user_id: int | None,
    feed: str | None,
    decision: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    offset: int,
) -> str:
    """A page of audit records, newest first, with the total matching, as JSON text `{count, results}`."""
    text: str = await conn.fetchval(LIST_AUDIT, user_id, feed, decision, since, until, limit, offset)
    return text


PURGE_AUDIT = """
WITH gone AS (DELETE FROM gateway.audit WHERE at < now() - make_interval(days => $1) RETURNING 1)
SELECT count(*) FROM gone
"""
COUNT_OLD_AUDIT = "SELECT count(*) FROM gateway.audit WHERE at < now() - make_interval(days => $1)"


async def purge_audit(conn: Connection, *, older_than_days: int, dry_run: bool) -> int:
    """Delete (or, dry, count) audit records older than the given age; how many."""
    count: int = await conn.fetchval(COUNT_OLD_AUDIT if dry_run else PURGE_AUDIT, older_than_days)
    return count
