"""The gateway admin API's request and response bodies, named by role."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from dockyard.core.types import Count, Id

LevelName = Literal["read", "append", "write", "admin"]

# Ids in JSON bodies stop at 2^53 - 1: past it a JSON number is not exact in many clients
# (JavaScript's), and identity keys never get there.
JsonId = Annotated[int, Field(ge=1, le=2**53 - 1)]


# Lbasedb's name pattern (names are stored in 256 bytes; the pattern allows ASCII only).
NAME_REGEX = r"^[a-zA-Z_][a-zA-Z_0-9]*(\.[a-zA-Z_][a-zA-Z_0-9]*)*$"
PATTERN_REGEX = r"^(\*|[a-zA-Z_][a-zA-Z_0-9]*(\.[a-zA-Z_][a-zA-Z_0-9]*)*(\.\*)?)$"

FeedPattern = Annotated[
    str,
    Field(
        max_length=258,
        pattern=PATTERN_REGEX,
        examples=["sensors.*"],
        description="An exact feed name, a dotted prefix ending in `.*`, or `*`.",
    ),
]
Name = Annotated[str, Field(max_length=256, pattern=NAME_REGEX, examples=["sensors.t1"])]
Columns = Annotated[
    list[Name] | None,
    Field(max_length=1000, description="The only columns the grant covers; null: every column."),
]


class UserGrantCreate(BaseModel):
    """A new grant to a user: a feed pattern, a level, optionally columns."""

    model_config = ConfigDict(extra="forbid")

    user_id: JsonId
    feed: FeedPattern
    level: LevelName
    columns: Columns = None


class GroupGrantCreate(BaseModel):
    """A new grant to a group: a feed pattern, a level, optionally columns."""

    model_config = ConfigDict(extra="forbid")

    group_id: JsonId
    feed: FeedPattern
    level: LevelName
    columns: Columns = None


GrantCreate = UserGrantCreate | GroupGrantCreate


class GrantChange(BaseModel):
    """A change of a grant's level and/or columns (`columns: null` makes it cover every column)."""

    level: LevelName | None = None
    columns: Columns = None


class GrantPublic(BaseModel):
    id: Id
    user_id: Id | None
    group_id: Id | None
    feed: str = Field(examples=["sensors.*"])
    level: LevelName
    columns: list[str] | None
    created_at: dt.datetime
    created_by: Id | None
    updated_at: dt.datetime


class GrantList(BaseModel):
    count: Count = Field(description="Grants matching the filters, over every page.")
    results: list[GrantPublic]


class GrantSource(BaseModel):
    grant: GrantPublic
    via_group: str | None = Field(description="The group the grant comes through; null for the user's own.")


class RightsPublic(BaseModel):
    """A user's effective rights: on one feed when asked, and the grants they come from."""

    user_id: Id
    is_superuser: bool
    feed: str | None = Field(description="The feed asked about, if any.")
    level: LevelName | None = Field(description="The level on the whole feed (grants without column limits).")
    columns: dict[str, LevelName] = Field(
        description="Columns on which column-limited grants give more than `level`."
    )
    grants: list[GrantSource]


class AuditPublic(BaseModel):
    id: Id
    at: dt.datetime
    user_id: Id | None
    token_id: Id | None
    client: str | None
    method: str
    route: str
    feed: str | None
    cols: list[str] | None
    ix: Count | None
    size: Count | None
    decision: Literal["allow", "deny"]
    reason: str
    upstream_status: int | None
    status: int
    bytes_in: Count
    bytes_out: Count
    duration_ms: float
    request_id: str | None
    change: dict[str, object] | None = Field(description="For grant changes: what changed.")


class AuditList(BaseModel):
    count: Count = Field(description="Records matching the filters, over every page.")
    results: list[AuditPublic]
