"""Loading the data of the system this replaces: its `queries` and `results` INSERT statements.

Its tables live on in schema `arxiv` with the same columns, so its SQL runs as written once the
search path points there (names written `public.queries` / `public.results`, as pg_dump writes them,
are pointed at `arxiv` too). The load is one transaction; afterwards the id sequence is moved past
every id and legacy query id loaded, so new searches never take a number already in use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.core.db import Connection

QUALIFIED = re.compile(r"\bpublic\.(queries|results)\b")

MOVE_SEQUENCES = """
SELECT setval(pg_get_serial_sequence('arxiv.queries', 'id'),
              greatest((SELECT max(id) FROM arxiv.queries), (SELECT max(query_id) FROM arxiv.queries), 1)),
       setval(pg_get_serial_sequence('arxiv.results', 'id'), greatest((SELECT max(id) FROM arxiv.results), 1))
"""
COUNTS = "SELECT (SELECT count(*) FROM arxiv.queries), (SELECT count(*) FROM arxiv.results)"


@dataclass(frozen=True)
class Loaded:
    queries: int
    results: int


async def load_legacy(conn: Connection, sql: str) -> Loaded:
    """Run the legacy data `sql` against schema arxiv in one transaction; rows added per table."""
    before = await conn.fetchrow(COUNTS)
    assert before is not None
    async with conn.transaction():
        await conn.execute("SET LOCAL search_path TO arxiv")
        await conn.execute(QUALIFIED.sub(r"arxiv.\1", sql))
        await conn.execute(MOVE_SEQUENCES)
    after = await conn.fetchrow(COUNTS)
    assert after is not None
    return Loaded(after[0] - before[0], after[1] - before[1])
