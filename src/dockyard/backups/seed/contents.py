"""What a finished run holds: its files (mydumper or mariabackup layout), per-database and per-table
sizes, and the restore drills that checked a few of them.

A series always has the same databases, tables and chunks; a run's sizes wobble around the series'
lognormal weights and add up exactly to the run's total_size.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

from dockyard.backups.seed.runs import Run
from dockyard.backups.seed.topology import Series, rng

FILE_COLUMNS = ("run_id", "path", "name", "size", "modified_at")
OBJECT_COLUMNS = ("run_id", "db", "name", "size", "rows")
RESTORE_COLUMNS = ("run_id", "started_at", "ended_at", "result", "target", "detail")
MAX_FILES = 80
CHUNK_BYTES = 8_000_000_000
MIB = 1 << 20

SNAPSHOT_TOP = (
    ("xtrabackup_info", 600, 800), ("xtrabackup_checkpoints", 110, 130), ("xtrabackup_binlog_info", 40, 60),
    ("xtrabackup_slave_info", 110, 140), ("backup-my.cnf", 480, 520), ("aria_log_control", 52, 52),
    ("aria_log.00000001", 8192, 65536), ("ib_buffer_pool", MIB, 6 * MIB), ("ibdata1", 12 * MIB, 90 * MIB),
    ("ib_logfile0", 2048 * MIB, 2048 * MIB),
)  # fmt: skip
SNAPSHOT_MYSQL = (
    "global_priv.MAD", "global_priv.MAI", "global_priv.frm", "db.MAD", "db.MAI", "db.frm", "proxies_priv.MAD",
    "innodb_index_stats.ibd", "innodb_table_stats.ibd", "gtid_slave_pos.ibd", "plugin.MAD", "servers.MAD",
    "time_zone_name.MAD", "help_topic.MAD",
)  # fmt: skip
# Restore drills: (section, type, datacenter) and how they ended.
DRILLS = (
    (("s1", "dump", "eqiad"), "passed"),
    (("s4", "snapshot", "eqiad"), "passed"),
    (("m2", "dump", "codfw"), "passed"),
    (("s8", "snapshot", "codfw"), "passed"),
    (("es4", "dump", "eqiad"), "passed"),
    (("s3", "dump", "codfw"), "failed"),
)
RESTORE_HOSTS = {"eqiad": "db1133.eqiad.wmnet", "codfw": "db2102.codfw.wmnet"}


@dataclass(frozen=True)
class Part:
    """One file of a series' backups: a fixed small size, or a share (weight) of the rest."""

    db: str  # '' for files outside any database
    table: str
    path: str
    name: str
    weight: float = 0.0
    fixed: int = 0


def _weights(r: Random, count: int, decay: float, sigma: float) -> list[float]:
    return [decay**index * r.lognormvariate(0, sigma) for index in range(count)]


def _tables_per_db(budget: int, dbs: int, per_table: int, available: int) -> int:
    return max(1, min(available, (budget // dbs - 1) // per_table))


def dump_layout(series: Series) -> list[Part]:
    """mydumper's files: schema-create per database, schema and 20M-row chunks per table, metadata."""
    r = rng("layout", *series.key)
    section = series.section
    assert section.dump is not None
    per_db = _tables_per_db(r.randint(24, 76) - 1, len(section.dbs), 2, len(section.tables))
    db_weights = _weights(r, len(section.dbs), 0.55, 0.3)
    tables = [
        (db, table, db_weight * table_weight)
        for db, db_weight in zip(section.dbs, db_weights, strict=True)
        for table, table_weight in zip(section.tables[:per_db], _weights(r, per_db, 0.72, 0.6), strict=True)
    ]
    spare = MAX_FILES - 1 - len(section.dbs) - 2 * len(tables)
    total = sum(weight for _, _, weight in tables)
    parts = []
    for db in section.dbs:
        parts.append(Part(db, "", "", f"{db}-schema-create.sql.gz", fixed=r.randint(150, 260)))
        for name, table, weight in tables:
            if name != db:
                continue
            chunks = min(max(1, math.ceil(section.dump.size * weight / total / CHUNK_BYTES)), 6, spare + 1)
            spare -= chunks - 1
            parts.append(Part(db, table, "", f"{db}.{table}-schema.sql.gz", fixed=r.randint(350, 2600)))
            shares = [1.0] * (chunks - 1) + [r.uniform(0.2, 1.0)]
            parts += [
                Part(db, table, "", f"{db}.{table}.{index:05d}.sql.gz", weight=weight * share)
                for index, share in enumerate(shares)
            ]
    parts.append(Part("", "", "", "metadata", fixed=r.randint(180, 420)))
    return parts


def snapshot_layout(series: Series) -> list[Part]:
    """A prepared mariabackup datadir: its info files, InnoDB system files, mysql/ and one .ibd per table."""
    r = rng("layout", *series.key)
    section = series.section
    parts = [Part("", "", "", name, fixed=r.randint(low, high)) for name, low, high in SNAPSHOT_TOP]
    parts += [Part("", "", "mysql", name, fixed=r.randint(8192, 4 * MIB)) for name in SNAPSHOT_MYSQL]
    budget = r.randint(50, MAX_FILES) - len(parts)
    per_db = _tables_per_db(budget, len(section.dbs), 1, len(section.tables))
    for db, db_weight in zip(section.dbs, _weights(r, len(section.dbs), 0.55, 0.3), strict=True):
        if len(parts) + per_db + 1 > MAX_FILES:
            break
        parts.append(Part(db, "", db, "db.opt", fixed=65))
        weights = _weights(r, per_db, 0.72, 0.6)
        parts += [
            Part(db, table, db, f"{table}.ibd", weight=db_weight * weight)
            for table, weight in zip(section.tables, weights, strict=False)
        ]
    return parts


def split(total: int, parts: list[Part], r: Random) -> list[int]:
    """Sizes for `parts` that add up to `total`: fixed ones first (at most half), the rest by weight."""
    fixed = sum(part.fixed for part in parts)
    scale = min(1.0, total / 2 / fixed) if fixed else 1.0
    sizes = [math.floor(part.fixed * scale) for part in parts]
    rest = total - sum(sizes)
    weights = [part.weight * max(0.5, 1 + r.gauss(0, 0.01)) for part in parts]
    weight = sum(weights)
    for index, share in enumerate(weights):
        if share:
            sizes[index] += math.floor(rest * share / weight)
    sizes[max(range(len(parts)), key=lambda index: weights[index])] += total - sum(sizes)
    return sizes


class Contents:
    """Files and objects of the latest finished runs of each series."""

    def __init__(self) -> None:
        self._layouts: dict[tuple[str, str, str], list[Part]] = {}
        self.files: list[tuple[Any, ...]] = []
        self.objects: list[tuple[Any, ...]] = []
        self.rows: dict[int, list[tuple[str, str, int]]] = {}  # run id -> (db, table, rows) as counted

    def layout(self, series: Series) -> list[Part]:
        if series.key not in self._layouts:
            make = dump_layout if series.type == "dump" else snapshot_layout
            self._layouts[series.key] = make(series)
        return self._layouts[series.key]

    def add(self, run: Run) -> None:
        assert run.total_size is not None
        assert run.started_at is not None
        assert run.ended_at is not None
        parts = self.layout(run.series)
        sizes = split(run.total_size, parts, rng(run.name, "files"))
        took = run.ended_at - run.started_at
        written = 0
        by_db: dict[str, int] = defaultdict(int)
        by_table: dict[tuple[str, str], int] = defaultdict(int)
        for part, size in zip(parts, sizes, strict=True):
            written += size
            share = written / run.total_size if run.total_size else 1.0
            modified = run.started_at + timedelta(seconds=round(took.total_seconds() * share))
            self.files.append((run.id, part.path, part.name, size, modified))
            if part.db:
                by_db[part.db] += size
                if part.table:
                    by_table[part.db, part.table] += size
        # Each table's rows, counted at backup time: its size over a row width of its own.
        counted = [
            (db, table, max(1, size // rng("row width", *run.series.key, db, table).randint(60, 900)))
            for (db, table), size in by_table.items()
        ]
        self.rows[run.id] = counted
        self.objects += [(run.id, db, "", size, None) for db, size in by_db.items()]
        self.objects += [(run.id, db, table, by_table[db, table], rows) for db, table, rows in counted]


def restore_tests(
    with_files: dict[tuple[str, str, str], list[Run]], now: datetime, contents: Contents
) -> list[tuple[Any, ...]]:
    """Restore drills of recent backups: all passed but one, which found a table short of rows."""
    rows = []
    for key, result in DRILLS:
        for run in reversed(with_files.get(key, [])[:-1]):
            assert run.ended_at is not None
            assert run.total_size is not None
            r = rng(run.name, "restore")
            started = run.ended_at + timedelta(hours=r.uniform(20, 30))
            speed = 60e6 if run.series.type == "dump" else 400e6
            ended = started + timedelta(seconds=round(run.total_size / speed * r.uniform(0.9, 1.1)))
            if ended > now:
                continue
            detail = _detail(contents.rows[run.id], result, r)
            rows.append((run.id, started, ended, result, RESTORE_HOSTS[key[2]], detail))
            break
    return rows


def _detail(counted: list[tuple[str, str, int]], result: str, r: Random) -> str:
    """What `dockyard backups restore-test` records: every table's rows expected and restored."""
    tables: list[dict[str, Any]] = [
        {"db": db, "name": table, "expected": rows, "restored": rows} for db, table, rows in counted
    ]
    detail: dict[str, Any] = {"tables": tables, "mismatches": []}
    if result == "failed":
        short = tables[0]
        expected = counted[0][2]
        short["restored"] = restored = max(0, expected - r.randint(1, 9999))
        detail["mismatches"] = [short]
        detail["stage"] = "compare"
        detail["error"] = f"1 table(s) differ: {short['name']}: {restored} rows, expected {expected}"
    return json.dumps(detail)
