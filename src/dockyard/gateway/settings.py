"""The gateway's settings: `LBASEDB_URL` and `GATEWAY_*` environment variables (docs/CONFIGURATION.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import AliasChoices, AnyHttpUrl, Field

from dockyard.core.services import ServiceSettings, service_settings_config, settings_dependency


class GatewaySettings(ServiceSettings):
    """Where Lbasedb is, how long to wait for it, how much to let through, how long to keep the audit."""

    model_config = {**service_settings_config("GATEWAY_"), "populate_by_name": True}

    lbasedb_url: AnyHttpUrl | None = Field(
        default=None,
        validation_alias=AliasChoices("LBASEDB_URL", "GATEWAY_LBASEDB_URL", "lbasedb_url"),
        description="Lbasedb's base URL (e.g. http://127.0.0.1:8080); unset: data routes answer 503.",
    )
    max_body: int = Field(
        default=1 << 30,
        ge=0,
        description="Largest request body passed to Lbasedb, in bytes "
        "(Lbasedb's own PAYLOAD_LIMIT is 1 GiB).",
    )
    connect_timeout_s: float = Field(
        default=5.0, gt=0, description="Longest wait to connect to Lbasedb; past it the answer is 504."
    )
    read_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="Longest silence from Lbasedb once the request is sent "
        "(it answers only after parsing the "
        "whole body or building the whole response); past it the answer is 504.",
    )
    pool_size: int = Field(default=100, ge=1, description="Most connections to Lbasedb per worker.")
    list_max_bytes: int = Field(
        default=16 << 20,
        ge=1024,
        description="Largest feed or column list read from Lbasedb to filter by rights "
        "(GET /feed, GET /col).",
    )
    audit_batch: int = Field(default=500, ge=1, description="Most audit records written in one statement.")
    audit_flush_s: float = Field(
        default=0.5, gt=0, description="Longest time an audit record waits in memory before it is written."
    )
    audit_queue: int = Field(
        default=100_000,
        ge=100,
        description="Audit records kept in memory while the database is slow or down; past it, records are "
        "dropped (and counted in dockyard_gateway_audit_dropped_total) rather than delay requests.",
    )
    audit_retention_days: int = Field(
        default=90, ge=1, description="Default age past which `dockyard gateway audit purge` deletes records."
    )


GatewayConfig = Annotated[GatewaySettings, Depends(settings_dependency(GatewaySettings))]
