"""The runs: weekly dumps and four snapshots a week per series, the failures and anomalies, the future.

Every value of a run comes from a random stream named after its series and schedule slot, so the
same clock always gives the same rows. The clock is `anchor(now)`: now, down to 10 minutes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import Any

from dockyard.backups.seed.topology import HOUR, Series, build_series, rng, stable_hash

WEEK = 7 * 86400
FIRST_ID = 10_000
SCHEDULE_AHEAD = timedelta(days=7)
FAIL_EVERY = 50  # one slot in this many fails, per series
SNAPSHOT_DAYS = {1: 0, 2: 1, 4: 2, 6: 3}  # weekday -> position in the week's four snapshots
EPOCH = date(2000, 1, 4)  # a Tuesday

# The anomalies of specs/backups.md §7, each on one series: (section, type, datacenter).
SIZE_DROP = ("s6", "dump", "eqiad")  # the latest dump is 20 % smaller than the one before
SIZE_JUMP = ("x1", "dump", "codfw")  # and here 7 % bigger
TINY = ("matomo", "dump", "eqiad")  # the latest dump is 150 KB, under the 300 KiB minimum
SINGLE = ("analytics_meta", "dump", "eqiad")  # a new series: one finished backup so far
STALE = ("s6", "snapshot", "codfw")  # the latest snapshots failed: older than 3 days
STUCK = ("m1", "dump", "codfw")  # a run-now dump silent for 30 hours
SPECIAL = {SIZE_DROP, SIZE_JUMP, TINY, SINGLE, STALE, STUCK}
TINY_SIZE = 150_000


@dataclass(frozen=True)
class Plan:
    days: int  # of history before now
    extra_sections: int  # besides production's, each with dumps and snapshots in both datacenters
    runs: int | None  # trim the oldest history to exactly this many runs
    runs_with_files: int  # the latest finished runs of each series that list their files and objects


PLANS = {
    "demo": Plan(days=90, extra_sections=0, runs=None, runs_with_files=4),
    "bench": Plan(days=365, extra_sections=180, runs=100_000, runs_with_files=2),
}


@dataclass(frozen=True)
class Failure:
    stage: str
    exit_code: int
    message: str  # a template: {db}, {table}, {name}, {source}, {host}, {gb}
    reached: tuple[float, float]  # share of the run done when it failed
    sized: bool  # total_size was measured before the failure


DUMP_FAILURES = (
    Failure("backup", 3, "mydumper: CRITICAL: Error dumping table ({db}.{table}) data: "
            "Lost connection to MySQL server during query", (0.1, 0.8), False),
    Failure("backup", 4, "mydumper log contains [ERROR]: Could not read data from {db}.{table}: "
            "Query execution was interrupted", (0.2, 0.9), False),
    Failure("metadata", 5, "{name}/metadata lacks 'Finished dump at:': the dump is incomplete",
            (0.97, 0.99), False),
    Failure("compress", 11, "pigz: write error on /srv/backups/dumps/ongoing/{name}.tar.gz: "
            "No space left on device", (1.0, 1.05), True),
)  # fmt: skip
SNAPSHOT_FAILURES = (
    Failure("transfer", 4, "transfer.py: stream from {source} to {host} stopped after {gb} GB: "
            "Connection reset by peer", (0.1, 0.7), False),
    Failure("prepare", 6, "mariabackup --prepare did not report 'completed OK!': InnoDB: "
            "Operating system error number 28 in a file operation", (0.5, 0.9), False),
    Failure("metadata", 5, "{name}/xtrabackup_info lacks 'end_time ='", (0.95, 0.99), False),
    Failure("compress", 11, "pigz: write error on /srv/backups/snapshots/ongoing/{name}.tar.gz: "
            "No space left on device", (1.0, 1.05), True),
)  # fmt: skip
REFUSED = Failure("transfer", 4, "transfer.py: cannot connect to {source} on port 4444: Connection refused "
                  "(is the firewall open?)", (0.02, 0.04), False)  # fmt: skip


@dataclass(eq=False)
class Run:
    series: Series
    status: str
    scheduled_for: datetime | None
    created_at: datetime
    name: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    heartbeat_at: datetime | None = None
    bytes_done: int | None = None
    total_size: int | None = None
    error_stage: str | None = None
    error_exit_code: int | None = None
    error_message: str | None = None
    attempt: int = 1
    retry_of: Run | None = None
    id: int = 0
    duration: float = 0.0  # seconds the run takes (or took)
    location: str | None = None  # the backup's directory on the host, as the runner records it

    def row(self) -> tuple[Any, ...]:
        section, kind, datacenter = self.series.key
        return (
            self.id, self.name, section, kind, datacenter, self.series.source, self.series.host,
            self.status, self.scheduled_for, self.started_at, self.ended_at, self.heartbeat_at,
            self.bytes_done, self.total_size, self.error_stage, self.error_exit_code, self.error_message,
            self.attempt, self.retry_of.id if self.retry_of else None, "runner", self.created_at,
            self.location,
        )  # fmt: skip


RUN_COLUMNS = (
    "id", "name", "section", "type", "datacenter", "source", "host", "status", "scheduled_for",
    "started_at", "ended_at", "heartbeat_at", "bytes_done", "total_size", "error_stage",
    "error_exit_code", "error_message", "attempt", "retry_of", "registered_by", "created_at", "location",
)  # fmt: skip


def anchor(now: datetime | None = None) -> datetime:
    """The data set's clock: now (UTC) down to 10 minutes, so runs close together agree."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(minute=now.minute - now.minute % 10, second=0, microsecond=0)


def seconds(value: float) -> timedelta:
    return timedelta(seconds=round(value))


def run_name(kind: str, section: str, when: datetime) -> str:
    return f"{kind}.{section}.{when:%Y-%m-%d--%H-%M-%S}"


def folder(kind: str, stage: str, name: str) -> str:
    """Where wmfbackups keeps a backup: /srv/backups/dumps/latest/dump.s1.2026-…; `ongoing` while taken."""
    return f"/srv/backups/{kind}s/{stage}/{name}"


def dump_slots(first: datetime, last: datetime) -> list[datetime]:
    """Tuesdays at 00:00 in (first, last]."""
    day = datetime.combine(first.date(), datetime.min.time(), UTC)
    day += timedelta(days=(1 - day.weekday()) % 7)
    slots = []
    while day <= last:
        if day > first:
            slots.append(day)
        day += timedelta(days=7)
    return slots


def snapshot_slots(first: datetime, last: datetime) -> list[datetime]:
    """Sundays, Tuesdays, Wednesdays and Fridays at 19:00 in (first, last]."""
    day = datetime.combine(first.date(), datetime.min.time(), UTC) + timedelta(hours=19)
    slots = []
    while day <= last:
        if day > first and day.weekday() in SNAPSHOT_DAYS:
            slots.append(day)
        day += timedelta(days=1)
    return slots


def slot_number(series: Series, slot: datetime) -> int:
    """The slot's position in its series since 2000."""
    weeks, weekday = divmod((slot.date() - EPOCH).days, 7)
    return weeks if series.type == "dump" else weeks * 4 + SNAPSHOT_DAYS[(weekday + 1) % 7]


@dataclass(frozen=True)
class Traits:
    """What stays the same across a series' runs."""

    seed: int  # its runs' random streams derive from this and the slot
    shift: float  # codfw's dump size against eqiad's
    late: float  # minutes codfw's snapshots start after eqiad's

    @classmethod
    def of(cls, series: Series) -> Traits:
        r = rng(*series.key, "traits")
        codfw = series.datacenter == "codfw"
        shift, late = r.uniform(-0.001, 0.001), r.uniform(0, 20)
        return cls(stable_hash(*series.key), shift if codfw else 0.0, late if codfw else 0.0)

    def rng(self, series: Series, slot: datetime) -> Random:
        """The random stream of the run of `slot`."""
        return Random(self.seed ^ slot_number(series, slot))  # noqa: S311 - reproducible data, not secrets

    def fails(self, series: Series, slot: datetime) -> bool:
        return (slot_number(series, slot) + self.seed) % FAIL_EVERY == 0


class History:
    """Builds every run of every series over the plan's window, then numbers them."""

    def __init__(self, plan: Plan, now: datetime | None = None) -> None:
        self.plan = plan
        self.anchor = anchor(now)
        self.first = self.anchor - timedelta(days=plan.days)
        self.series = build_series(plan.extra_sections)
        self.traits = {series.key: Traits.of(series) for series in self.series}
        self.runs: list[Run] = []

    def build(self) -> list[Run]:
        last = self.anchor + SCHEDULE_AHEAD
        by_host: dict[str, list[Series]] = defaultdict(list)
        for series in self.series:
            if series.type == "dump":
                by_host[series.host].append(series)
            else:
                for slot in snapshot_slots(self.first, last):
                    self._snapshot(series, slot)
        for queue in by_host.values():
            for slot in dump_slots(self.first, last):
                self._dumps(queue, slot)
        by_series = self.by_series()
        self._stale(by_series[STALE])
        self._resize(by_series)
        self._single(by_series[SINGLE])
        self._stuck(next(series for series in self.series if series.key == STUCK))
        self._number()
        return self.runs

    def by_series(self) -> dict[tuple[str, str, str], list[Run]]:
        """Each series' runs that have started, oldest first."""
        grouped: dict[tuple[str, str, str], list[Run]] = defaultdict(list)
        for run in sorted(self.runs, key=lambda run: run.started_at or run.created_at):
            if run.started_at is not None:
                grouped[run.series.key].append(run)
        return grouped

    def _planned(self, series: Series, slot: datetime) -> Run:
        run = Run(series, "scheduled", slot, created_at=slot - SCHEDULE_AHEAD)
        self.runs.append(run)
        return run

    def _dumps(self, queue: list[Series], slot: datetime) -> None:
        """One host's weekly dumps: two at a time, each next one as soon as one ends."""
        free = [slot, slot]
        for series in queue:
            run = self._planned(series, slot)
            if slot > self.anchor:
                continue
            traits = self.traits[series.key]
            r = traits.rng(series, slot)
            spec = series.section.dump
            assert spec is not None
            opens = min(free)
            free.remove(opens)
            start = opens + seconds(1 if opens == slot else r.randint(2, 40))
            weeks = (self.anchor - slot).total_seconds() / WEEK
            size = spec.size * (1 + traits.shift) * (1 + spec.growth) ** -weeks * (1 + r.gauss(0, 0.0003))
            failure = self._failure(series, slot, r)
            self._play(run, r, start, r.uniform(*spec.hours) * HOUR, round(size), failure)
            free.append(start + seconds(run.duration))

    def _snapshot(self, series: Series, slot: datetime) -> None:
        run = self._planned(series, slot)
        if slot > self.anchor:
            return
        traits = self.traits[series.key]
        r = traits.rng(series, slot)
        spec = series.section.snapshot
        assert spec is not None
        start = slot + seconds((spec.offset_min + traits.late + r.uniform(-6, 6)) * 60)
        extra = spec.codfw_extra if series.datacenter == "codfw" else 0.0
        weeks = (self.anchor - slot).total_seconds() / WEEK
        size = spec.size * (1 + extra) * 1.0005**-weeks * (1 + r.uniform(-0.015, 0.015))
        named = slot + seconds(r.randint(1, 4))
        failure = self._failure(series, slot, r)
        self._play(run, r, start, r.uniform(*spec.hours) * HOUR, round(size), failure, named)

    def _failure(self, series: Series, slot: datetime, r: Random) -> Failure | None:
        """One slot in FAIL_EVERY fails, except in the special series and this week's dumps."""
        failure = r.choice(DUMP_FAILURES if series.type == "dump" else SNAPSHOT_FAILURES)
        if series.key in SPECIAL or not self.traits[series.key].fails(series, slot):
            return None
        if series.type == "dump" and self.anchor - slot < SCHEDULE_AHEAD:
            return None
        return failure

    def _play(
        self,
        run: Run,
        r: Random,
        start: datetime,
        duration: float,
        size: int,
        failure: Failure | None,
        named: datetime | None = None,
    ) -> None:
        """Set the run's state at the anchor: queued, ongoing, failed or finished.

        A failed snapshot is always tried again, a failed dump most of the time.
        """
        reached = r.uniform(*failure.reached) if failure else 1.0
        heartbeat = r.randint(20, 240)
        retry = failure is not None and (run.series.type == "snapshot" or r.random() < 0.6)
        run.duration = duration * reached
        if start > self.anchor:
            return
        run.started_at = start
        run.name = run_name(run.series.type, run.series.section.name, named or start)
        if start + seconds(run.duration) > self.anchor:
            run.status = "ongoing"
            run.location = folder(run.series.type, "ongoing", run.name)
            run.heartbeat_at = max(start, self.anchor - timedelta(seconds=heartbeat))
            run.bytes_done = round(size * min((self.anchor - start).total_seconds() / duration, 0.99))
            return
        run.ended_at = run.heartbeat_at = start + seconds(run.duration)
        if failure is None:
            run.status = "finished"
            run.bytes_done = run.total_size = size
            run.location = folder(run.series.type, "latest", run.name)
            return
        run.status = "failed"
        run.bytes_done = round(size * min(reached, 1.0))
        run.total_size = size if failure.sized else None
        run.error_stage, run.error_exit_code = failure.stage, failure.exit_code
        run.error_message = self._message(run, failure, r)
        if retry:
            again = Run(run.series, "scheduled", None, run.ended_at, attempt=2, retry_of=run)
            begins = run.ended_at + seconds(r.uniform(12, 45) * 60)
            self._play(again, rng(run.name, "retry"), begins, duration * r.uniform(0.97, 1.03), size, None)
            if again.started_at is not None:
                again.created_at = begins
                self.runs.append(again)

    def _message(self, run: Run, failure: Failure, r: Random) -> str:
        section = run.series.section
        return failure.message.format(
            db=section.dbs[0],
            table=r.choice(section.tables[:6]),
            name=run.name,
            source=run.series.source.split(":")[0],
            host=run.series.host,
            gb=round((run.bytes_done or 0) / 1e9),
        )

    def _stale(self, runs: list[Run]) -> None:
        """The source is unreachable: the latest snapshots fail, so the last good one is over 3 days old."""
        done = [run for run in runs if run.status in ("finished", "failed")]
        failing = 2
        while failing < len(done) - 1:
            good = done[-failing - 1].started_at
            assert good is not None
            if self.anchor - good > timedelta(days=3, hours=2):
                break
            failing += 1
        for run in done[-failing:]:
            assert run.started_at is not None
            r = rng(run.name, "refused")
            run.status = "failed"
            run.duration = r.uniform(90, 300)
            run.ended_at = run.heartbeat_at = run.started_at + seconds(run.duration)
            run.bytes_done, run.total_size, run.location = 0, None, None
            run.error_stage, run.error_exit_code = REFUSED.stage, REFUSED.exit_code
            run.error_message = self._message(run, REFUSED, r)
        for run in runs:
            if run.status == "ongoing":
                run.bytes_done = 0

    def _resize(self, by_series: dict[tuple[str, str, str], list[Run]]) -> None:
        """The latest finished dump of three series against the one before: -20 %, +7 %, 150 KB."""
        for key, factor in ((SIZE_DROP, 0.8), (SIZE_JUMP, 1.07), (TINY, None)):
            previous, latest = [run for run in by_series[key] if run.status == "finished"][-2:]
            assert previous.total_size is not None
            size = TINY_SIZE if factor is None else round(previous.total_size * factor)
            latest.total_size = latest.bytes_done = size

    def _single(self, runs: list[Run]) -> None:
        """Keep only the latest finished run (and the open ones): the series is new."""
        keep = [run for run in runs if run.status == "finished"][-1]
        dropped = {id(run) for run in runs if run.status in ("finished", "failed") and run is not keep}
        self.runs = [run for run in self.runs if id(run) not in dropped]

    def _stuck(self, series: Series) -> None:
        """A dump started by hand that stopped reporting 30 hours ago, a third of the way through."""
        start = self.anchor - timedelta(hours=31, minutes=24, seconds=17)
        assert series.section.dump is not None
        run = Run(series, "ongoing", None, start, name=run_name("dump", series.section.name, start))
        run.started_at, run.heartbeat_at = start, self.anchor - timedelta(hours=30)
        run.location = folder("dump", "ongoing", run.name or "")
        run.bytes_done = math.floor(series.section.dump.size * 0.37)
        self.runs.append(run)

    def _number(self) -> None:
        """Ids in creation order from FIRST_ID; the bench plan drops the oldest runs beyond its count."""
        order = {series.key: index for index, series in enumerate(self.series)}
        self.runs.sort(key=lambda run: (run.created_at, order[run.series.key], run.attempt))
        if self.plan.runs is not None and len(self.runs) > self.plan.runs:
            gone = {id(run) for run in self.runs[: len(self.runs) - self.plan.runs]}
            self.runs = self.runs[len(self.runs) - self.plan.runs :]
            for run in self.runs:
                if run.retry_of is not None and id(run.retry_of) in gone:
                    run.retry_of = None
        for index, run in enumerate(self.runs):
            run.id = FIRST_ID + index
