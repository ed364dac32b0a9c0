"""Demo and benchmark data for the backups catalog: production's 2021 layout (specs/backups.md §7).

`seed(conn, size, progress)` is the service's generator (`python -m dockyard.seeding --service backups`).

- demo: the 34 dump and 18 snapshot series of eqiad and codfw over the last 90 days (≈1 400 runs
  from id 10 000), the next 7 days of scheduled slots, files and per-table objects for the latest
  4 finished runs of each series, a few restore drills, and the anomalies the checks must catch:
  failures with their stage, exit code, message and retries; a snapshot series gone stale; a dump
  silent for 30 hours; dumps at -20 %, +7 % and 150 KB; a series with a single backup; this week's
  long dumps still running on Tuesdays.
- bench: the same plus 180 more sections over a year, trimmed to exactly 100 000 runs; files for
  the latest 2 finished runs of each series.

Finished runs record where they lie (`location`). Retention is applied as of the data set's own
dates: the finished runs the policy in `backups.retention` would have expired by now are written
`expired`, at the time they passed the policy, so the first retention pass of a new server finds
nothing of the seed's history to expire.

Deterministic: the same clock (now, down to 10 minutes) gives the same rows. The generator replaces
the catalog (one TRUNCATE of its tables, RESTART IDENTITY); check_config and retention are left as
they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dockyard.backups import retention
from dockyard.backups.seed.contents import (
    FILE_COLUMNS,
    OBJECT_COLUMNS,
    RESTORE_COLUMNS,
    Contents,
    restore_tests,
)
from dockyard.backups.seed.runs import PLANS, RUN_COLUMNS, History, Run
from dockyard.backups.slots import resolved
from dockyard.core.seeds import Progress

__all__ = ["TABLES", "Dataset", "build", "seed"]

TABLES = ("alert_events", "alerts", "restore_tests", "objects", "files", "store_folders", "schedules", "runs")
SCHEDULE_COLUMNS = ("section", "type", "datacenter", "cron", "source", "host", "enabled", "created_at")
ID_PAST_MAX = (
    "SELECT setval(pg_get_serial_sequence('backups.runs', 'id'), (SELECT max(id) FROM backups.runs))"
)


class Dataset:
    """Every row of one data set, by table, in load order."""

    def __init__(self, size: str, now: datetime | None = None) -> None:
        plan = PLANS[size]
        history = History(plan, now)
        self.anchor = history.anchor
        self.runs = history.build()
        latest: dict[tuple[str, str, str], list[Run]] = defaultdict(list)
        for run in self.runs:
            if run.status == "finished":
                latest[run.series.key].append(run)
        for runs in latest.values():
            runs.sort(key=lambda run: run.started_at or run.created_at)
        with_files = {key: runs[-plan.runs_with_files :] for key, runs in latest.items()}
        contents = Contents()
        for runs in with_files.values():
            for run in runs:
                contents.add(run)
        schedules = [  # in place since the history began (the same rows on every reseed)
            (*series.key, series.cron, series.source, series.host, True, history.first)
            for series in history.series
        ]
        self.tables: list[tuple[str, Sequence[str], list[tuple[Any, ...]]]] = [
            ("runs", RUN_COLUMNS, [run.row() for run in self.runs]),
            ("schedules", SCHEDULE_COLUMNS, schedules),
            ("files", FILE_COLUMNS, contents.files),
            ("objects", OBJECT_COLUMNS, contents.objects),
            ("restore_tests", RESTORE_COLUMNS, restore_tests(with_files, self.anchor, contents)),
        ]

    @property
    def rows(self) -> int:
        return sum(len(records) for _, _, records in self.tables)


def build(size: str, now: datetime | None = None) -> Dataset:
    """The `size` data set (demo or bench) as of `now` (default: the current time)."""
    return Dataset(size, now)


async def seed(conn: Any, size: str, progress: Progress) -> int:
    """Replace the backups catalog with the `size` data set; return the number of rows written."""
    progress(0, None)
    dataset = build(size)
    total = dataset.rows
    progress(0, total)
    await conn.execute(f"TRUNCATE {', '.join(f'backups.{table}' for table in TABLES)} RESTART IDENTITY")
    done = 0
    for table, columns, records in dataset.tables:
        await conn.copy_records_to_table(table, schema_name="backups", columns=list(columns), records=records)
        if table == "runs":
            await conn.execute(ID_PAST_MAX)
            await conn.execute(EXPIRED, await retention.due(conn))
        done += len(records)
        progress(done, total)
    # The external-storage (es) and s4 dumps take 13 to 15 hours: their own limit, as production had.
    await conn.execute(LONG_DUMPS)
    await conn.execute(f"ANALYZE {', '.join(f'backups.{table}' for table in TABLES)}")
    return done


# A run past the policy expired when it passed it: `keep_days` after it started (when that is set,
# and not before it ended); a count-only policy pushes it out at the latest when the seed is taken.
EXPIRED = f"""UPDATE backups.runs r SET status = 'expired', expired_at = least(now(), greatest(r.ended_at,
    r.started_at + make_interval(days => coalesce({resolved("keep_days", "r", "retention")}, 0))))
WHERE r.id = ANY($1::bigint[])"""

LONG_DUMPS = """
INSERT INTO backups.check_config (section, type, max_duration_s)
VALUES ('es4', 'dump', 72000), ('es5', 'dump', 72000), ('s4', 'dump', 72000)
ON CONFLICT (section, type, datacenter) DO NOTHING
"""
