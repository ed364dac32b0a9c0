"""Retention: finished runs past the policy become `expired`; their files go, their history stays.

The policy (`backups.retention`) is resolved per series like the check thresholds: for each of
`keep_last` and `keep_days`, the most specific row that sets it wins. A run expires when it is not
among the newest `keep_last` finished runs of its series and, if `keep_days` is set, started
longer ago than that. Failed runs are kept: they are the failure history, and hold no backup.

Files are deleted only where this host's runner wrote them and recorded so (`store`): the folder
recorded by run id and store-relative path, checked again at delete time. A `location` is never
trusted as something to delete: runs registered over the API are catalog-only for retention.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from dockyard.backups import redaction
from dockyard.backups import store as _store
from dockyard.backups.slots import resolved
from dockyard.core.db import Connection

log = redaction.logger("dockyard.backups.retention")

# Runs past the policy, oldest first. `s` is each series with its resolved policy.
DUE = f"""WITH series AS (
    SELECT s.section, s.type, s.datacenter,
           {resolved("keep_last", "s", "retention")} AS keep_last,
           {resolved("keep_days", "s", "retention")} AS keep_days
    FROM (SELECT DISTINCT section, type, datacenter FROM backups.runs WHERE status = 'finished') s
), ranked AS (
    SELECT r.id, r.started_at, s.keep_last, s.keep_days,
           row_number() OVER (PARTITION BY r.section, r.type, r.datacenter
                              ORDER BY r.started_at DESC, r.id DESC) AS n
    FROM backups.runs r JOIN series s USING (section, type, datacenter)
    WHERE r.status = 'finished' AND (s.keep_last IS NOT NULL OR s.keep_days IS NOT NULL)
)
SELECT id FROM ranked
WHERE n > coalesce(keep_last, 1)
  AND (keep_days IS NULL OR started_at < now() - make_interval(days => keep_days))"""

EXPIRE = f"""UPDATE backups.runs r SET status = 'expired', expired_at = now()
FROM ({DUE}) due WHERE r.id = due.id
RETURNING r.id, r.section, r.type, r.datacenter, r.name"""


# Runs already expired whose folder this host's runner wrote is still recorded: expired by a
# scheduler on another host (which may not delete it), or a deletion that failed. Tried again.
LEFTOVERS = """SELECT r.id, r.section, r.type, r.datacenter, r.name
FROM backups.store_folders f JOIN backups.runs r ON r.id = f.run_id
WHERE r.status = 'expired' AND f.host = $1"""


@dataclass(frozen=True)
class Expired:
    """A run that retention expired, and what happened to its files."""

    run_id: int
    series: str
    name: str | None
    files: str  # deleted | gone | kept (why: not written by the runner, elsewhere, changed) | error: …


async def due(conn: Connection) -> list[int]:
    """The runs the policy would expire now, without changing anything (for --dry-run)."""
    return [row["id"] for row in await conn.fetch(DUE + " ORDER BY started_at")]


async def apply(conn: Connection, *, host: str, store: Path) -> list[Expired]:
    """Expire the runs past the policy and delete the folders this host's runner wrote for them.

    The folders of runs expired earlier (by a scheduler on another host, or whose deletion failed)
    that this host wrote are deleted too, and listed with them.
    """
    leftovers = await conn.fetch(LEFTOVERS, host)
    rows = [*leftovers, *await conn.fetch(EXPIRE)]
    root = await asyncio.to_thread(store.resolve)
    written = await _store.folders(conn, [row["id"] for row in rows])
    outcome = []
    for row in sorted(rows, key=lambda r: r["id"]):
        files = await asyncio.to_thread(_store.remove, written.get(row["id"]), host=host, root=root)
        if files in ("deleted", "gone"):
            await _store.forget(conn, row["id"])
        series = f"{row['type']} of {row['section']} in {row['datacenter']}"
        outcome.append(Expired(row["id"], series, row["name"], files))
        if files.startswith("error"):
            log.warning("run %s expired, but its files stay: %s", row["id"], files)
    return outcome
