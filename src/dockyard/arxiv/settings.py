"""The arxiv service's settings: `ARXIV_*` environment variables (docs/CONFIGURATION.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import Field

from dockyard.core.services import ServiceSettings, service_settings_config, settings_dependency


class ArxivSettings(ServiceSettings):
    """The upstream, the polite client's pace, the cache, the search budget and the job runner."""

    model_config = service_settings_config("ARXIV_")

    api_url: str = Field(
        default="https://export.arxiv.org/api/query",
        pattern=r"^https?://",
        description="arXiv's query endpoint (tests point it at a local stand-in).",
    )
    contact: str = Field(
        default="",
        max_length=200,
        description="Who runs this deployment (an email or URL), named in the User-Agent sent to arXiv.",
    )
    spacing_s: float = Field(
        default=3.0, ge=0, le=600, description="Least time between two calls to arXiv, across all workers."
    )
    timeout_s: float = Field(default=30.0, gt=0, le=600, description="Longest wait for one arXiv answer.")
    retries: int = Field(
        default=3, ge=0, le=10, description="Retries after HTTP 429, 503 or an empty page (with backoff)."
    )
    backoff_s: float = Field(
        default=3.0, ge=0, le=600, description="First retry delay; each further retry waits twice as long."
    )
    page_size: int = Field(default=2000, ge=1, le=2000, description="Results asked for per arXiv call.")
    cache_ttl_s: int = Field(
        default=86_400, ge=0, description="Answers are reused this long for the same request (0: never)."
    )
    search_rate: str = Field(
        default="10/minute;300/day", description="Searches per account (`limits` notation)."
    )
    runner: bool = Field(default=True, description="Run queued multi-slice searches in `dockyard serve`.")
    job_concurrency: int = Field(default=2, ge=1, le=32, description="Searches one process runs at once.")
    job_poll_s: float = Field(
        default=5.0,
        gt=0,
        description="Seconds between looks for queued searches and for papers without a tsvector.",
    )
    heartbeat_s: float = Field(
        default=5.0, gt=0, description="Seconds between a running search's heartbeats."
    )
    stall_after_s: float = Field(
        default=60.0, gt=0, description="A running search without a heartbeat this long is shown `stalled`."
    )
    legacy_max_results: int = Field(
        default=8, ge=1, le=2000, description="`max_results` of GET /arxiv/arxiv when not given."
    )
    legacy_items_per_page: int = Field(
        default=10, ge=1, le=1000, description="`items_per_page` of GET /arxiv/results when not given."
    )


ArxivConfig = Annotated[ArxivSettings, Depends(settings_dependency(ArxivSettings))]
