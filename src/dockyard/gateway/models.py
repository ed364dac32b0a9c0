"""The gateway admin API's request and response bodies, named by role."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from dockyard.core.types import Count, Id
from dockyard.gateway.rights import is_name, is_pattern

LevelName = Literal["read", "append", "write", "admin"]


def _pattern(value: str) -> str:
    if not is_pattern(value):
        raise ValueError("must be a feed name (e.g. sensors.t1), a dotted prefix (sensors.*) or *")
    return value


def _column(value: str) -> str:
    if not is_name(value):
        raise ValueError("must be an Lbasedb column name (letters, digits, _ and dots), at most 256 bytes")
    return value


FeedPattern = Annotated[str, Field(max_length=300, examples=["sensors.*"]), AfterValidator(_pattern)]
Column = Annotated[str, Field(max_length=300), AfterValidator(_column)]
Columns = Annotated[
    list[Column] | None,
    Field(max_length=1000, description="The only columns the grant covers; null: every column."),
]


class GrantCreate(BaseModel):
    """A new grant: a user or a group, a feed pattern, a level, optionally columns."""

    user_id: Id | None = None
    group_id: Id | None = None
    feed: FeedPattern
    level: LevelName
    columns: Columns = None

    @model_validator(mode="after")
    def _one_subject(self) -> GrantCreate:
        if (self.user_id is None) == (self.group_id is None):
            raise ValueError("give exactly one of user_id and group_id")
        return self


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
