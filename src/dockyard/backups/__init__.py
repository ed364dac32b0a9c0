"""backups: a catalog of database backups, their checks and alerts (specs/backups.md, docs/backups.md).

`api` serves /backups/api/v1 (reads need `backups.view`, writes `backups.manage`); `checks` applies
the wmfbackups rules and Dockyard's own (failed, stalled, missed, too long) to every series.
"""

from __future__ import annotations

from fastapi import APIRouter

from dockyard.backups import (
    api,
    dashboard,
    diff,
    metrics,
    restores,
    runnow,
    scheduler,
    schedules,
    sections,
    seed,
    thresholds,
)
from dockyard.backups.commands import backups_app
from dockyard.backups.permissions import MANAGE, VIEW
from dockyard.backups.settings import BackupsSettings
from dockyard.core.services import Link, Service

router = APIRouter()
router.include_router(api.router)
router.include_router(diff.router)
router.include_router(restores.router)
router.include_router(schedules.router)
router.include_router(runnow.router)
router.include_router(thresholds.router)
router.include_router(sections.router)
router.include_router(dashboard.router)

service = Service(
    name="backups",
    title="Backups",
    description="Database backups: the catalog of runs with files and errors, checks and alerts.",
    router=router,
    prefix="/backups",
    links=(Link("Dashboard", "/backups/"), Link("API", "/docs#/backups")),
    permissions=(VIEW, MANAGE),
    seeder=seed.seed,
    lifespan=scheduler.lifespan,
    metrics=metrics.exposition,
    commands={"backups": backups_app},
    settings=BackupsSettings,
    # A run's inventory: up to 100 000 files and objects (a whole instance, per-table files).
    body_limits={"/api/v1/runs": 32 * 1024 * 1024},
)

__all__ = ["router", "service"]
