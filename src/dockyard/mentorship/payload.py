"""Request bodies read as the original read them (Flask 1.0, flask-restx 0.5; spec A.1).

The original validates bodies by hand, so routes here take the raw body: `json_body` returns what
`request.get_json()` returned there (None unless the content type is JSON; undecodable JSON is a
400), and `check_model` applies a route's request model first, where the original did
(`validate=True`), with flask-restx's messages: "'<field>' is a required property",
"<value> is not of type '<type>'" (the value as Python prints it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request

from dockyard.core.errors import BadInput
from dockyard.mentorship import messages
from dockyard.mentorship.errors import PayloadInvalid

JsonType = Literal["string", "boolean", "integer", "number"]


async def json_body(request: Request) -> Any:
    """The decoded JSON body, or None when the request does not declare JSON."""
    mimetype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if mimetype != "application/json" and not (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    ):
        return None
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BadInput(messages.BODY_NOT_JSON.format(error=exc)) from exc
    except RecursionError as exc:
        raise BadInput(messages.BODY_NOT_JSON.format(error="nested too deeply")) from exc


def as_object(data: Any) -> dict[str, Any]:
    """The body as a JSON object; anything else counts as an object with no fields."""
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class RequestModel:
    """A request model as flask-restx checks it: each field's JSON type, and which are required."""

    fields: Mapping[str, JsonType]
    required: tuple[str, ...]


def _is(value: Any, kind: JsonType) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":  # JSON Schema draft 4: 1.0 is a number, not an integer
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_model(data: Any, model: RequestModel) -> dict[str, Any]:
    """The body if it matches `model`; PayloadInvalid (400, one entry per failing field) otherwise."""
    errors: dict[str, str] = {}
    if not isinstance(data, dict):
        errors[""] = f"{data!r} is not of type 'object'"
        raise PayloadInvalid(errors)
    for name, kind in model.fields.items():
        if name in data and not _is(data[name], kind):
            errors[name] = f"{data[name]!r} is not of type '{kind}'"
    for name in sorted(model.required):
        if name not in data:
            errors[name] = f"'{name}' is a required property"
    if errors:
        raise PayloadInvalid(errors)
    return data


REGISTER = RequestModel(
    fields={
        "name": "string",
        "username": "string",
        "password": "string",
        "email": "string",
        "terms_and_conditions_checked": "boolean",
        "need_mentoring": "boolean",
        "available_to_mentor": "boolean",
    },
    required=("name", "username", "password", "email", "terms_and_conditions_checked"),
)
CHANGE_PASSWORD = RequestModel(
    fields={"current_password": "string", "new_password": "string"},
    required=("current_password", "new_password"),
)
ADMIN_TARGET = RequestModel(fields={"user_id": "integer"}, required=("user_id",))
