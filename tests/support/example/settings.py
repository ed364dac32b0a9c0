"""The example service's settings: `EXAMPLE_*` environment variables."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import Field

from dockyard.core.services import ServiceSettings, service_settings_config, settings_dependency


class ExampleSettings(ServiceSettings):
    """How the example service greets."""

    model_config = service_settings_config("EXAMPLE_")

    greeting: str = Field(default="Hello", min_length=1, description="The word the greeting starts with.")


ExampleConfig = Annotated[ExampleSettings, Depends(settings_dependency(ExampleSettings))]
