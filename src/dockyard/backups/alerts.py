"""Alerts: one row per open problem (series and rule), kept in step with the checks, with history.

`sync` turns a round of check results into alerts: a new problem raises one, a changed severity
escalates or eases it, a problem gone resolves it. Concurrent syncs are safe: the open alert of a
series and rule is unique, and each sync runs in one transaction holding an advisory lock.
Acknowledging and silencing never hide an alert from the API; they say somebody is on it.
An alert's `since` is when its problem began (the run that shows it, or the threshold crossing),
not when a sync first saw it (`first_seen_at`); it moves only earlier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from dockyard.backups.checks import Result, Status
from dockyard.core.db import Connection

Handled = Mapping[tuple[str, str, str, str], str]  # (section, type, datacenter, rule) → how

SYNC_LOCK = 7_246_001  # pg_advisory_xact_lock key: one sync at a time

OPEN = """SELECT id, section, type, datacenter, rule, severity FROM backups.alerts
          WHERE resolved_at IS NULL FOR UPDATE"""


async def sync(conn: Connection, results: Sequence[Result], *, complete: bool = True) -> dict[str, int]:
    """Make the open alerts match `results`; how many were raised, changed and resolved.

    `complete` says `results` covers every series, so an open alert of a series missing from it is
    resolved too; after a filtered check, only the checked series' alerts are brought in line.
    """
    counts = {"raised": 0, "changed": 0, "resolved": 0}
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SYNC_LOCK)
        open_alerts = {
            (row["section"], row["type"], row["datacenter"], row["rule"]): row
            for row in await conn.fetch(OPEN)
        }
        checked = {(r.section, r.type, r.datacenter) for r in results}
        seen = set()
        for result in results:
            for problem in result.problems:
                if problem.status <= Status.OK:
                    continue
                key = (result.section, result.type, result.datacenter, problem.rule)
                seen.add(key)
                severity = "critical" if problem.status >= Status.CRITICAL else "warning"
                existing = open_alerts.get(key)
                if existing is None:
                    alert_id = await conn.fetchval(
                        """INSERT INTO backups.alerts
                            (section, type, datacenter, rule, severity, message, since)
                        VALUES ($1, $2, $3, $4, $5, $6, least(coalesce($7, now()), now())) RETURNING id""",
                        *key,
                        severity,
                        problem.message,
                        problem.since,
                    )
                    await _event(conn, alert_id, "raised")
                    counts["raised"] += 1
                    continue
                await conn.execute(
                    "UPDATE backups.alerts SET last_seen_at = now(), message = $2, severity = $3, "
                    "since = least(since, coalesce($4, since)) WHERE id = $1",
                    existing["id"],
                    problem.message,
                    severity,
                    problem.since,
                )
                if existing["severity"] != severity:
                    await _event(conn, existing["id"], "escalated" if severity == "critical" else "eased")
                    counts["changed"] += 1
        for key, row in open_alerts.items():
            if key in seen or (not complete and key[:3] not in checked):
                continue
            await conn.execute("UPDATE backups.alerts SET resolved_at = now() WHERE id = $1", row["id"])
            await _event(conn, row["id"], "resolved")
            counts["resolved"] += 1
    return counts


async def _event(
    conn: Connection, alert_id: int, event: str, user_id: int | None = None, note: str | None = None
) -> None:
    await conn.execute(
        "INSERT INTO backups.alert_events (alert_id, event, user_id, note) VALUES ($1, $2, $3, $4)",
        alert_id,
        event,
        user_id,
        note,
    )


async def acknowledge(conn: Connection, alert_id: int, user_id: int, note: str | None) -> bool:
    """Mark an open alert as being handled; False when there is no such open alert."""
    done = await conn.execute(
        """UPDATE backups.alerts SET acknowledged_at = now(), acknowledged_by = $2, note = coalesce($3, note)
        WHERE id = $1 AND resolved_at IS NULL""",
        alert_id,
        user_id,
        note,
    )
    if done.endswith(" 0"):
        return False
    await _event(conn, alert_id, "acknowledged", user_id, note)
    return True


async def silence(
    conn: Connection, alert_id: int, user_id: int, until: dt.datetime | None, note: str | None
) -> bool:
    """Silence an open alert until a time (None: lift the silence); False when there is none."""
    done = await conn.execute(
        """UPDATE backups.alerts SET silenced_until = $2, note = coalesce($3, note)
        WHERE id = $1 AND resolved_at IS NULL""",
        alert_id,
        until,
        note,
    )
    if done.endswith(" 0"):
        return False
    await _event(conn, alert_id, "silenced" if until is not None else "unsilenced", user_id, note)
    return True


HANDLED = """SELECT a.section, a.type, a.datacenter, a.rule,
    CASE WHEN a.silenced_until > now() THEN 'silenced until ' || to_char(a.silenced_until AT TIME ZONE 'UTC',
                                                                         'YYYY-MM-DD HH24:MI') || ' UTC'
         ELSE 'acknowledged' || coalesce(' by ' || u.email, '') END AS how
FROM backups.alerts a LEFT JOIN accounts.users u ON u.id = a.acknowledged_by
WHERE a.resolved_at IS NULL
  AND (a.silenced_until > now()
       OR (a.acknowledged_at IS NOT NULL
           -- like Icinga's (non-sticky) acknowledgement, an escalation since ends it
           AND NOT EXISTS (SELECT 1 FROM backups.alert_events e
                           WHERE e.alert_id = a.id AND e.event = 'escalated' AND e.at > a.acknowledged_at)))
  AND ($1::text IS NULL OR a.section = $1) AND ($2::text IS NULL OR a.type = $2)
  AND ($3::text IS NULL OR a.datacenter = $3)"""


async def handled(
    conn: Connection, *, section: str | None = None, type: str | None = None, datacenter: str | None = None
) -> Handled:
    """The open alerts somebody acknowledged or silenced, by (section, type, datacenter, rule): how."""
    rows = await conn.fetch(HANDLED, section, type, datacenter)
    return {(row["section"], row["type"], row["datacenter"], row["rule"]): row["how"] for row in rows}
