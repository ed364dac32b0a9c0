"""The backups service's settings: `BACKUPS_*` environment variables (docs/CONFIGURATION.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends
from pydantic import Field

from dockyard.core.services import ServiceSettings, service_settings_config, settings_dependency


class BackupsSettings(ServiceSettings):
    """Scheduling, concurrency, the store and the overview cache of the backups service."""

    model_config = service_settings_config("BACKUPS_")

    scheduler: bool = Field(
        default=False,
        description="Run the backups scheduler in `dockyard serve` (else: `dockyard backups scheduler`).",
    )
    scheduler_interval_s: float = Field(
        default=30.0, gt=0, description="Seconds between the scheduler's rounds."
    )
    concurrency: int = Field(default=2, ge=1, description="Backups one scheduler runs at once.")
    overview_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="Serve the backups overview from memory this long (0: compute every time).",
    )
    store: Path | None = Field(
        default=None, description="Where the runner writes backups [default: DATA_DIR/backup-store]."
    )


BackupsConfig = Annotated[BackupsSettings, Depends(settings_dependency(BackupsSettings))]
