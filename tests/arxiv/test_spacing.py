"""The spacing between calls to arXiv holds across worker processes (measured where arXiv would see it).

Two `dockyard arxiv search` processes search at once, each in two slices, against one stand-in with a
spacing of 1 s. The stand-in records when each of the 4 requests arrived; consecutive arrivals must
be at least the spacing apart, and never two in progress at once.
"""

from __future__ import annotations

import asyncio
import itertools

import asyncpg
from tests.arxiv.conftest import entries
from tests.arxiv.test_jobs import cli
from tests.support.arxiv import ArxivStandIn

SPACING_S = 1.0


async def test_two_worker_processes_keep_the_spacing(own_db: str, standin: ArxivStandIn) -> None:
    standin.corpus["ti:alpha"] = entries(20, first=1)
    standin.corpus["ti:beta"] = entries(20, first=100)
    settings = {"ARXIV_SPACING_S": str(SPACING_S)}
    workers = [
        cli(own_db, standin, "--title", name, "--max-results", "20", **settings) for name in ("alpha", "beta")
    ]
    outcomes = await asyncio.gather(
        *(asyncio.to_thread(worker.communicate, timeout=120) for worker in workers)
    )
    for worker, (_, err) in zip(workers, outcomes, strict=True):
        assert worker.returncode == 0, err
    arrivals = sorted(call.at for call in standin.calls())
    assert len(arrivals) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) >= SPACING_S, gaps
    assert standin.most_in_flight == 1
    conn = await asyncpg.connect(own_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM arxiv.query_results") == 40
    finally:
        await conn.close()
