"""Stage 2: the SQL of the IHR lists, and of the user routes, beside the functions that run them.

A list page small enough (at most SMALL_PAGE rows) is one statement: PostgreSQL filters, orders,
pages, renders each row as JSON text and joins them. A larger page is read from a server-side
cursor inside a read-only snapshot, its count running beside it on a second connection of the
same snapshot when the pool has one to spare.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator, Hashable, Iterable, Sequence
from contextlib import asynccontextmanager

from dockyard.core.db import Connection, Pool, translated_errors
from dockyard.core.errors import BadInput
from dockyard.ihr.endpoint import Endpoint
from dockyard.ihr.models import ChannelIn, MonitoredAsnIn
from dockyard.ihr.plan import Plan

SMALL_PAGE = 5_000  # rows answered from one query; a bigger page is streamed
FETCH_BATCH = 5_000  # rows per cursor fetch while streaming

# --- the lists -------------------------------------------------------------------------------------


def _select(endpoint: Endpoint, planned: Plan, limit_arg: int, offset_arg: int) -> str:
    return (
        f"SELECT {endpoint.row} AS r FROM {endpoint.source} WHERE {planned.where} "
        f"ORDER BY {planned.order} LIMIT ${limit_arg} OFFSET ${offset_arg}"
    )


def small_page_sql(endpoint: Endpoint, planned: Plan) -> str:
    """At most SMALL_PAGE + 1 rows of the page, joined into one text, and how many there were."""
    n = len(planned.args)
    return f"SELECT string_agg(r, ','), count(*) FROM ({_select(endpoint, planned, n + 1, n + 2)}) page"


def count_sql(endpoint: Endpoint, planned: Plan) -> str:
    """Every matching row (the joins only name things, so the table alone is counted when it can be)."""
    return f"SELECT count(*) FROM {endpoint.count_source} WHERE {planned.where}"


async def small_page(
    pool: Pool, *, endpoint: Endpoint, planned: Plan, offset: int, wait_s: float
) -> tuple[str | None, int]:
    """The page's rows as one JSON text (None when there are none) and their number, up to SMALL_PAGE + 1."""
    with translated_errors():
        async with pool.acquire(timeout=wait_s) as conn:
            record = await conn.fetchrow(
                small_page_sql(endpoint, planned), *planned.args, SMALL_PAGE + 1, offset
            )
    assert record is not None  # an aggregate always yields one row
    return record[0], record[1]


async def count_rows(pool: Pool, *, endpoint: Endpoint, planned: Plan, wait_s: float) -> int:
    """How many rows match the plan."""
    with translated_errors():
        async with pool.acquire(timeout=wait_s) as conn:
            total: int = await conn.fetchval(count_sql(endpoint, planned), *planned.args)
    return total


@asynccontextmanager
async def streamed_page(
    pool: Pool, *, endpoint: Endpoint, planned: Plan, offset: int, page_size: int, wait_s: float
) -> AsyncIterator[tuple[int, AsyncIterator[bytes]]]:
    """The count and the page's rows in batches of joined JSON text, read from a cursor in a snapshot."""
    select = _select(endpoint, planned, len(planned.args) + 1, len(planned.args) + 2)
    with translated_errors():
        async with (
            pool.acquire(timeout=wait_s) as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            # The count goes first in the body but costs as much as reading the page: when the pool
            # has a connection to spare, it runs there, in this transaction's snapshot, while this
            # connection reads the first batch.
            counting: asyncio.Task[int] | None = None
            if pool.get_idle_size() > 0:
                snapshot: str = await conn.fetchval("SELECT pg_export_snapshot()")
                counting = asyncio.create_task(
                    _count_in_snapshot(pool, snapshot, endpoint=endpoint, planned=planned, wait_s=wait_s)
                )
            try:
                cursor = await conn.cursor(select, *planned.args, page_size, offset)
                batch = await cursor.fetch(FETCH_BATCH)
                if counting is not None:
                    count = await counting
                else:
                    count = await conn.fetchval(count_sql(endpoint, planned), *planned.args)
            finally:
                if counting is not None and not counting.done():
                    counting.cancel()

            async def batches() -> AsyncIterator[bytes]:
                nonlocal batch
                while batch:
                    yield ",".join([record[0] for record in batch]).encode()
                    batch = await cursor.fetch(FETCH_BATCH)

            yield count, batches()


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+-[0-9]+")


async def _count_in_snapshot(
    pool: Pool, snapshot: str, *, endpoint: Endpoint, planned: Plan, wait_s: float
) -> int:
    if not _SNAPSHOT_ID.fullmatch(snapshot):  # it goes into SQL text: SET takes no parameters
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    async with (
        pool.acquire(timeout=wait_s) as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        await conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        count: int = await conn.fetchval(count_sql(endpoint, planned), *planned.args)
        return count


# --- the user routes -------------------------------------------------------------------------------

# Two PUTs of one user at the same time would each delete only the rows they can see and then
# collide on the primary key; locking the account row makes them take turns. NO KEY UPDATE does
# not block foreign-key checks, so other services inserting rows for this user are not held up.
LOCK_USER = "SELECT 1 FROM accounts.users WHERE id = $1 FOR NO KEY UPDATE"

MONITORED_ASNS = """
SELECT coalesce(json_agg(json_build_object('asn', asn, 'notifylevel', notifylevel) ORDER BY asn), '[]')::text
FROM public.ihr_user_monitoredasn WHERE user_id = $1
"""

DELETE_MONITORED_ASNS = "DELETE FROM public.ihr_user_monitoredasn WHERE user_id = $1"

INSERT_MONITORED_ASNS = """
INSERT INTO public.ihr_user_monitoredasn (user_id, asn, notifylevel)
SELECT $1, asn, notifylevel FROM unnest($2::bigint[], $3::smallint[]) AS entry (asn, notifylevel)
"""

CHANNELS = """
SELECT coalesce(
    json_agg(json_build_object('channel', channel, 'frequency', frequency) ORDER BY channel), '[]'
)::text
FROM public.ihr_user_channel WHERE user_id = $1
"""

DELETE_CHANNELS = "DELETE FROM public.ihr_user_channel WHERE user_id = $1"

INSERT_CHANNELS = """
INSERT INTO public.ihr_user_channel (user_id, channel, frequency)
SELECT $1, channel, frequency FROM unnest($2::text[], $3::text[]) AS entry (channel, frequency)
"""


def _refuse_duplicates(values: Iterable[Hashable], *, field: str) -> None:
    repeated = [str(value) for value, seen in Counter(values).items() if seen > 1]
    if repeated:
        shown = ", ".join(repeated[:10]) + (", …" if len(repeated) > 10 else "")
        raise BadInput(f"Each {field} may appear only once in the list; repeated: {shown}.")


async def monitored_asns(conn: Connection, *, user_id: int) -> str:
    """The user's monitored ASes as JSON text, ordered by asn."""
    text: str = await conn.fetchval(MONITORED_ASNS, user_id)
    return text


async def replace_monitored_asns(conn: Connection, *, user_id: int, entries: Sequence[MonitoredAsnIn]) -> str:
    """Replace the user's monitored ASes with `entries` (call inside a transaction); the new list as JSON."""
    _refuse_duplicates((entry.asn for entry in entries), field="asn")
    await conn.execute(LOCK_USER, user_id)
    await conn.execute(DELETE_MONITORED_ASNS, user_id)
    await conn.execute(
        INSERT_MONITORED_ASNS,
        user_id,
        [entry.asn for entry in entries],
        [entry.notifylevel for entry in entries],
    )
    return await monitored_asns(conn, user_id=user_id)


async def channels(conn: Connection, *, user_id: int) -> str:
    """The user's notification channels as JSON text, ordered by channel."""
    text: str = await conn.fetchval(CHANNELS, user_id)
    return text


async def replace_channels(conn: Connection, *, user_id: int, entries: Sequence[ChannelIn]) -> str:
    """Replace the user's channels with `entries` (call inside a transaction); the new list as JSON."""
    _refuse_duplicates((entry.channel.value for entry in entries), field="channel")
    await conn.execute(LOCK_USER, user_id)
    await conn.execute(DELETE_CHANNELS, user_id)
    await conn.execute(
        INSERT_CHANNELS,
        user_id,
        [entry.channel.value for entry in entries],
        [entry.frequency.value for entry in entries],
    )
    return await channels(conn, user_id=user_id)
