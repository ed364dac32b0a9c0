"""Bulk loading: empty the IHR tables, COPY generated rows in, then rebuild indexes and foreign keys.

PostgreSQL loads an empty table fastest with no secondary index and no foreign key to maintain row
by row ("Populating a Database" in its manual), so `bulk_load` drops them and creates them again
from their own catalog definitions (`pg_get_indexdef`, `pg_get_constraintdef`) once the rows are in.
It all happens in the caller's transaction: the schema ends up exactly as it was, and a failure
rolls everything back. Primary keys and unique indexes are never touched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from dockyard.core.seeds import Progress

Row = tuple[Any, ...]
Batches = Iterator[list[Row]]
REPORT_EVERY = 50_000

SECONDARY_INDEXES = """
SELECT format('%I.%I', n.nspname, c.relname) AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = ANY($1::regclass[])
  AND NOT i.indisunique
  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname
"""
FOREIGN_KEYS = """
SELECT conrelid::regclass::text AS owner, conname AS name, pg_get_constraintdef(oid) AS definition
FROM pg_constraint
WHERE contype = 'f' AND conrelid = ANY($1::regclass[])
ORDER BY conrelid::regclass::text, conname
"""

ID_SEQUENCES = """
SELECT attrelid::regclass::text AS owner, pg_get_serial_sequence(attrelid::regclass::text, 'id') AS sequence
FROM pg_attribute
WHERE attrelid = ANY($1::regclass[]) AND attname = 'id' AND NOT attisdropped
"""


@dataclass(frozen=True)
class Table:
    """One table's rows: produced lazily, in batches, with the number expected for progress."""

    name: str
    columns: tuple[str, ...]
    batches: Callable[[], Batches]
    estimate: int


class Loader:
    """COPYs tables into the database and reports rows written through `progress`."""

    def __init__(self, conn: Any, progress: Progress, total: int) -> None:
        self.conn = conn
        self.progress = progress
        self.total = total
        self.done = 0
        self._next_report = REPORT_EVERY

    async def load(self, table: Table) -> int:
        """COPY one table's rows (binary COPY through asyncpg); return how many."""
        before = self.done
        await self.conn.copy_records_to_table(
            table.name, schema_name="public", columns=list(table.columns), records=self._rows(table.batches())
        )
        self._report()
        return self.done - before

    async def _rows(self, batches: Batches) -> AsyncIterator[Row]:
        for batch in batches:
            for row in batch:
                yield row
            self.done += len(batch)
            if self.done >= self._next_report:
                self._report()

    def _report(self) -> None:
        self.total = max(self.total, self.done)
        self.progress(self.done, self.total)
        self._next_report = self.done + REPORT_EVERY


@asynccontextmanager
async def bulk_load(conn: Any, tables: Sequence[str], *, maintenance_mem: str) -> AsyncIterator[None]:
    """Empty `tables` (restarting their id sequences), and load them without indexes or foreign keys.

    On exit the dropped indexes and foreign keys are created again (the keys are validated then, in
    one pass per key), the id sequences are set past the largest id, and the tables are analyzed.
    """
    qualified = [f"public.{name}" for name in tables]
    await conn.execute(f"TRUNCATE {', '.join(qualified)} RESTART IDENTITY")
    indexes = await conn.fetch(SECONDARY_INDEXES, qualified)
    keys = await conn.fetch(FOREIGN_KEYS, qualified)
    for key in keys:
        await conn.execute(f'ALTER TABLE {key["owner"]} DROP CONSTRAINT "{key["name"]}"')
    for index in indexes:
        await conn.execute(f"DROP INDEX {index['name']}")
    yield
    await conn.execute(f"SET LOCAL maintenance_work_mem = '{maintenance_mem}'")
    for index in indexes:
        await conn.execute(index["definition"])
    for key in keys:
        await conn.execute(f'ALTER TABLE {key["owner"]} ADD CONSTRAINT "{key["name"]}" {key["definition"]}')
    for owner, sequence in await conn.fetch(ID_SEQUENCES, qualified):
        if sequence:
            await conn.execute(
                f"SELECT setval($1, (SELECT coalesce(max(id), 0) + 1 FROM {owner}), false)", sequence
            )
    await conn.execute(f"ANALYZE {', '.join(qualified)}")
