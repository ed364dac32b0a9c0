"""Request and response models of the IHR user routes (the lists are described from their declarations)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from dockyard.core.types import BIGINT_MAX, BIGINT_MIN

MAX_MONITORED_ASNS = 1000
MAX_CHANNELS = 20  # far above the allow-list; duplicates are refused with a clearer message

NotifyLevel = Literal[0, 5, 10]


def _integral(value: object) -> object:
    """`2497.0` is the integer 2497 in JSON (and JSON Schema); strings and `2497.5` stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class Channel(StrEnum):
    """Where notifications go; the allow-list (and the table's CHECK) grows with the notifier."""

    EMAIL = "email"


class Frequency(StrEnum):
    NORMAL = "normal"
    DAILY = "daily"
    WEEKLY = "weekly"


class MonitoredAsnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asn: Annotated[
        int,
        Field(
            strict=True,
            ge=BIGINT_MIN,
            le=BIGINT_MAX,
            description="The AS number (IHR uses negative numbers for IXPs and 0 for the global graph).",
        ),
        BeforeValidator(_integral),
    ]
    notifylevel: NotifyLevel = Field(
        default=10, description="Alarms to be told about: 0 low, 5 moderate, 10 high (the default)."
    )


class MonitoredAsnOut(BaseModel):
    asn: int
    notifylevel: int


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    frequency: Frequency = Frequency.NORMAL


class ChannelOut(BaseModel):
    channel: str
    frequency: str
