"""The IHR service's settings: `IHR_*` environment variables (docs/CONFIGURATION.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import Field

from dockyard.core.services import ServiceSettings, service_settings_config, settings_dependency


class IhrSettings(ServiceSettings):
    """Caching of the IHR API's pages."""

    model_config = service_settings_config("IHR_")

    cache_ttl_s: int = Field(
        default=86_400,
        ge=0,
        description="Longest an IHR page is cached; recent pages expire with their data's cadence "
        "(0: no page cache).",
    )
    page_cache_bytes: int = Field(
        default=64 * 2**20,
        ge=0,
        description="Bytes of IHR pages each worker keeps in memory, in front of Redis when REDIS_URL "
        "is set (0: Redis only).",
    )


IhrConfig = Annotated[IhrSettings, Depends(settings_dependency(IhrSettings))]
