"""Demo and benchmark data for the arxiv service.

- demo: four recorded searches (one with no hits) and the 16 invented papers they found, stored
  through the same code as a real search, so the history and browse routes show something at once.
- bench: 20,000 searches of 50 results each (1,000,000 stored results, in `query_results` and in
  the legacy `results`) over 200,000 papers with titles and abstracts drawn from a skewed
  vocabulary, so full-text search meets both common and rare words. Generated in SQL.

The generator replaces the service's data (one TRUNCATE, RESTART IDENTITY).
"""

from __future__ import annotations

from typing import Any

from dockyard.arxiv.seed.bench import seed_bench
from dockyard.arxiv.seed.demo import seed_demo
from dockyard.core.seeds import Progress

TABLES = ("query_results", "results", "search_jobs", "queries", "papers", "api_cache")


async def seed(conn: Any, size: str, progress: Progress) -> int:
    """Replace the arxiv data with the `size` data set; the number of rows written."""
    progress(0, None)
    await conn.execute(f"TRUNCATE {', '.join(f'arxiv.{table}' for table in TABLES)} RESTART IDENTITY")
    rows = await (seed_bench(conn, progress) if size == "bench" else seed_demo(conn, progress))
    await conn.execute(f"ANALYZE {', '.join(f'arxiv.{table}' for table in TABLES)}")
    return rows
