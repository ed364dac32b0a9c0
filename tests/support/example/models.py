"""The example service's request and response bodies, named by role."""

from __future__ import annotations

from pydantic import BaseModel, Field

from dockyard.core.types import Count, Id


class GreetingPublic(BaseModel):
    message: str = Field(examples=["Hello, ada@example.org"])


class GroupPublic(BaseModel):
    id: Id
    name: str
    members: Count


class GroupList(BaseModel):
    count: Count = Field(description="Groups matching the filter, over every page.")
    results: list[GroupPublic]
