"""The example service's SQL, each statement beside the function that runs it."""

from __future__ import annotations

from dockyard.core.db import Connection

# The page and the total in one statement, as JSON built by PostgreSQL.
GROUPS = """
SELECT json_build_object(
    'count', coalesce(max(total), 0),
    'results', coalesce(json_agg(json_build_object('id', id, 'name', name, 'members', members)
                                 ORDER BY name, id), '[]'))
FROM (
    SELECT g.id, g.name, count(ug.user_id) AS members, count(*) OVER () AS total
    FROM accounts.groups g LEFT JOIN accounts.user_groups ug ON ug.group_id = g.id
    WHERE g.name ILIKE $1
    GROUP BY g.id
    ORDER BY g.name, g.id
    LIMIT $2 OFFSET $3
) page
"""


async def groups_json(conn: Connection, *, pattern: str, limit: int, offset: int) -> str:
    """One page of groups whose name matches `pattern`, as JSON text `{count, results}`."""
    text: str = await conn.fetchval(GROUPS, pattern, limit, offset)
    return text
