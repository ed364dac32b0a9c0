"""Settings resolved per series in SQL, and schedule slots fulfilled by the runs that start in them.

A slot (a `scheduled` run the planner made) is fulfilled by the run of its series that starts in
it: from an hour early to the end of the schedule grace. The slot row then gives way to that run,
which keeps the slot's time in `scheduled_for`. A slot nobody fulfils stays `scheduled` and reads
as `missed`, until a later run of the series shows the series is being backed up again.
"""

from __future__ import annotations

from dockyard.core.db import Connection


def resolved(column: str, series: str = "r", table: str = "check_config") -> str:
    """SQL for the most specific `table` value of `column` for the series of row alias `series`.

    A NULL section, type or datacenter in `table` matches any; section outranks type, which
    outranks datacenter. `column` and `table` come from the code, never from a request.
    """
    return f"""(SELECT p.{column} FROM backups.{table} p
        WHERE (p.section IS NULL OR p.section = {series}.section)
          AND (p.type IS NULL OR p.type = {series}.type)
          AND (p.datacenter IS NULL OR p.datacenter = {series}.datacenter) AND p.{column} IS NOT NULL
        ORDER BY p.section IS NOT NULL DESC, p.type IS NOT NULL DESC, p.datacenter IS NOT NULL DESC
        LIMIT 1)"""


EARLY = "interval '1 hour'"  # a run may start this much before its slot and still fulfil it

TAKE_SLOT = f"""DELETE FROM backups.runs s WHERE s.id = (
    SELECT c.id FROM backups.runs c, backups.runs r
    WHERE r.id = $1 AND r.scheduled_for IS NULL AND c.status = 'scheduled'
      AND (c.section, c.type, c.datacenter) = (r.section, r.type, r.datacenter)
      AND c.scheduled_for <= r.started_at + {EARLY}
      AND c.scheduled_for >= r.started_at - make_interval(secs => {resolved("schedule_grace_s")})
    ORDER BY c.scheduled_for DESC LIMIT 1
    FOR UPDATE OF c SKIP LOCKED)
RETURNING s.scheduled_for"""


async def fulfil(conn: Connection, run_id: int) -> None:
    """If run `run_id` started within an open slot of its series, it takes that slot's place."""
    async with conn.transaction():
        slot = await conn.fetchval(TAKE_SLOT, run_id)
        if slot is not None:
            await conn.execute("UPDATE backups.runs SET scheduled_for = $2 WHERE id = $1", run_id, slot)
