"""The mentorship API's error body, `{"message": ...}`, and the request-model failure it extends.

Every error under /mentorship/ — the service's own, and those the core raises (401, 413, 422, 429,
503, 504) — is rendered as `{"message": "..."}`. A body failing its request model gets the
original's shape, `{"errors": {"<field>": "<why>"}, "message": "Input payload validation failed"}`;
parameter validation errors (422) use the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel, Field, RootModel
from starlette.requests import Request
from starlette.responses import Response

from dockyard.core.errors import BadInput, ErrorStyle
from dockyard.mentorship import messages


class MessageError(BaseModel):
    """An error: `message` says what went wrong; `errors` names each invalid field."""

    message: str = Field(examples=["User does not exist."])
    errors: dict[str, str] | None = Field(
        default=None,
        description="Present when the body fails its request model: field name → why.",
        examples=[{"name": "'name' is a required property"}],
    )


class MentorshipError(RootModel[MessageError | list[str]]):
    """An error body: a message, except the empty list of GET /mentorship_relations with an unknown state."""


class PayloadInvalid(BadInput):
    """The body does not match the route's request model (A.1: 400 with `errors`)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(messages.PAYLOAD_INVALID)
        # The renderer receives `detail`: a mapping means "request-model errors".
        self.detail = errors  # type: ignore[assignment]


def render_message(request: Request, status: int, detail: Any, headers: Mapping[str, str]) -> Response:
    """`{"message": detail}`; request-model and parameter errors add `errors`."""
    body: dict[str, Any]
    if isinstance(detail, str):
        body = {"message": detail}
    elif isinstance(detail, Mapping):
        body = {"errors": dict(detail), "message": messages.PAYLOAD_INVALID}
    else:  # the core's 422: a list of {field, message}
        problems = {str(item.get("field", "")): str(item.get("message", "")) for item in detail}
        body = {"errors": problems, "message": messages.PAYLOAD_INVALID}
    return Response(orjson.dumps(body), status, headers=dict(headers), media_type="application/json")


MESSAGE_STYLE = ErrorStyle(render_message, "application/json", MentorshipError)
