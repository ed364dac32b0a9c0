"""The mentorship service's settings: `MENTORSHIP_*` environment variables."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import Field

from dockyard.core.services import ServiceSettings, service_settings_config, settings_dependency


class MentorshipSettings(ServiceSettings):
    """The programme's daily jobs and email verification."""

    model_config = service_settings_config("MENTORSHIP_")

    scheduler: bool = Field(
        default=True,
        description="Run the daily jobs (relation completion, unverified-account purge) in this process; "
        "each slot runs once across all workers and replicas.",
    )
    scheduler_interval_s: float = Field(
        default=60.0, gt=0, description="Seconds between two checks for a due daily job."
    )
    verification_ttl_days: int = Field(
        default=30, ge=1, le=365, description="Days a verification link stays valid."
    )
    unverified_purge_days: int = Field(
        default=30, ge=1, le=3650, description="Days after which an unverified registration is purged."
    )


MentorshipConfig = Annotated[MentorshipSettings, Depends(settings_dependency(MentorshipSettings))]
