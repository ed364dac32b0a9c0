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
        default=0,
        ge=0,
        description="Keep small IHR list pages in Redis this long (0: no response cache; needs REDIS_URL).",
    )


IhrConfig = Annotated[IhrSettings, Depends(settings_dependency(IhrSettings))]
