"""Demo and benchmark data for the IHR tables: a synthetic but plausible Internet.

`seed(conn, size, progress)` is the service's generator (`python -m dockyard.seeding --service ihr`).
It fills every IHR data table: networks (real well-known ASes, generated ones, the global graph 0
and IXPs as negative numbers), countries, AS hegemony (global and local graphs, every 15 minutes),
cones, hegemony alarms, country and prefix hegemony, Atlas locations and delays with their alarms,
link delay and forwarding magnitudes and alarms (with the measurements and probes they cite), disco
events and probes, Metis rankings and traceroute hegemony. The user tables are never touched.

- Deterministic: every value comes from `random.Random` streams with fixed seeds, so a size always
  produces the same rows and row counts; only the timestamps move.
- Recent: the newest timebin is the last 15-minute boundary before now (UTC) and the time series
  reach `Plan.days` back (9 days for demo, 30 for bench), covering the API's default window.
- Re-runnable: the tables are emptied first (one TRUNCATE of exactly these tables, RESTART IDENTITY,
  no CASCADE), so `--force` replaces the data; ids that other rows point at (alarms, disco events,
  locations, identifiers) and the prefix ids are assigned here, and sequences are set past them.
- Fast: rows go in through binary COPY from generators, in batches, without the secondary indexes
  and foreign keys, which are rebuilt afterwards (see `loader`); all in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dockyard.core.seeds import Progress
from dockyard.ihr.seed import atlas, events, routing
from dockyard.ihr.seed.loader import Loader, Table, bulk_load
from dockyard.ihr.seed.world import PLANS, build_world

__all__ = ["TABLES", "plan_tables", "seed"]

TABLES = (
    "ihr_asn",
    "ihr_country",
    "ihr_hegemony",
    "ihr_hegemonycone",
    "ihr_hegemony_alarms",
    "ihr_hegemony_country",
    "ihr_hegemony_prefix",
    "ihr_atlas_location",
    "ihr_atlas_delay",
    "ihr_atlas_delay_alarms",
    "ihr_delay",
    "ihr_forwarding",
    "ihr_delay_alarms",
    "ihr_delay_alarms_msms",
    "ihr_forwarding_alarms",
    "ihr_forwarding_alarms_msms",
    "ihr_disco_events",
    "ihr_disco_probes",
    "ihr_metis_atlas_selection",
    "ihr_metis_atlas_deployment",
    "ihr_tr_hegemony_identifier",
    "ihr_tr_hegemony",
)


def plan_tables(size: str, now: datetime | None = None) -> list[Table]:
    """Every table's generator for `size` (demo or bench), in load order."""
    world = build_world(PLANS[size], now)
    return routing.tables(world) + atlas.tables(world) + events.tables(world)


async def seed(conn: Any, size: str, progress: Progress) -> int:
    """Replace the IHR data with the `size` data set; return the number of rows written."""
    tables = plan_tables(size)
    assert sorted(table.name for table in tables) == sorted(TABLES)
    loader = Loader(conn, progress, sum(table.estimate for table in tables))
    progress(0, loader.total)
    async with bulk_load(conn, TABLES, maintenance_mem=PLANS[size].maintenance_mem):
        for table in tables:
            await loader.load(table)
    progress(loader.done, loader.done)
    return loader.done
