"""The OpenAPI description of the IHR lists, built from their declarations, and the IHR document.

Parameters are read the legacy way (query strings, an empty value meaning no filter, unknown names
ignored), so the route functions take no FastAPI parameters: each operation's parameters, its page
schema and its DRF error bodies are written here from the `Endpoint` — the real type and format of
every value, the fields and types of every row. `/ihr/api/swagger.json` (and `/ihr/api/openapi.json`,
which the IHR website loads) is the app's document restricted to the /ihr paths.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from dockyard.ihr.endpoint import Endpoint, Window
from dockyard.ihr.fields import Kind, Out
from dockyard.ihr.response import CONTENT_TYPE

TITLE = "Internet Health Report API"

_PAGE = {
    "name": "page",
    "in": "query",
    "required": False,
    "allowEmptyValue": True,
    "schema": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": ["last"]}]},
    "description": "Page number (1-based; `last` for the last page). Pages hold 100000 rows.",
}
_ORDERING = {
    "name": "ordering",
    "in": "query",
    "required": False,
    "allowEmptyValue": True,
    "schema": {"type": "string"},
    "description": "Comma-separated fields, `-` for descending; unknown fields are ignored.",
}
_FORMAT = {
    "name": "format",
    "in": "query",
    "required": False,
    "allowEmptyValue": True,
    "schema": {"type": "string", "enum": ["json", "api"]},
    "description": "`json` (or `api`, also JSON here); any other format answers 404.",
}

_KINDS: dict[Kind, dict[str, Any]] = {
    Kind.INT: {"type": "integer"},
    Kind.FLOAT: {"type": ["number", "null"]},  # NaN and ±Infinity are written null
    Kind.TEXT: {"type": "string"},
    Kind.BOOL: {"type": "boolean"},
    Kind.TIME: {"type": "string", "format": "date-time"},
}
_PROBE_FIELDS = {
    "probe_id": {"type": "integer"},
    "ipv4": {"type": "string"},
    "prefixv4": {"type": "string"},
    "event": {"type": "integer"},
    "starttime": _KINDS[Kind.TIME],
    "endtime": _KINDS[Kind.TIME],
    "level": _KINDS[Kind.FLOAT],
    "lat": _KINDS[Kind.FLOAT],
    "lon": _KINDS[Kind.FLOAT],
}
_PROBE = {"type": "object", "required": list(_PROBE_FIELDS), "properties": _PROBE_FIELDS}
# Fields whose SQL already produces JSON, by name.
_JSON_FIELDS: dict[str, dict[str, Any]] = {
    "msm_prb_ids": {
        "type": ["object", "null"],
        "description": "Measurement id → the probes it used.",
        "additionalProperties": {"type": "array", "items": {"type": "integer"}},
    },
    "msmid": {"type": "array", "items": {"type": "string"}, "description": '`"<msmid> <probeid>"` each.'},
    "discoprobes": {"type": "array", "items": _PROBE},
}

RULE_ERROR = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
    "description": "A rule broken: the message says which (DRF's ParseError).",
}
VALUE_ERRORS = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "description": "Each parameter whose value does not parse, with what to enter instead.",
}


def _field_schema(out: Out) -> dict[str, Any]:
    return _JSON_FIELDS[out.name] if out.kind is Kind.JSON else dict(_KINDS[out.kind])


def page_schema(endpoint: Endpoint) -> dict[str, Any]:
    """DRF's page envelope around the endpoint's rows."""
    row = {
        "type": "object",
        "required": [out.name for out in endpoint.fields],
        "additionalProperties": False,
        "properties": {out.name: _field_schema(out) for out in endpoint.fields},
    }
    return {
        "type": "object",
        "required": ["count", "next", "previous", "results"],
        "additionalProperties": False,
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"], "format": "uri", "description": "The next page's URL."},
            "previous": {"type": ["string", "null"], "format": "uri"},
            "results": {"type": "array", "items": row},
        },
    }


def description(endpoint: Endpoint) -> str:
    """The endpoint's rules in words."""
    rules = []
    if endpoint.one_of:
        rules.append("Needs one of: " + ", ".join(f"`{name}`" for name in endpoint.one_of) + ".")
    if endpoint.window is Window.REQUIRED:
        rules.append(
            f"Needs `timebin`, or `timebin__gte` and `timebin__lte` at most {endpoint.max_days} days apart."
        )
    elif endpoint.window is Window.DEFAULT:
        rules.append(f"Without a timebin, the last 7 days; a range is at most {endpoint.max_days} days.")
    rules.append("Lists: `1,2,3` (names and keys: `a|b`). Datetimes need a date and a time.")
    if endpoint.description:
        rules.append(endpoint.description)
    return " ".join(rules)


def parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    """Every query parameter of the endpoint, with its value's schema; an empty value means no filter."""
    own = []
    for spec in endpoint.filters:
        parameter: dict[str, Any] = {
            "name": spec.param,
            "in": "query",
            "required": False,
            "allowEmptyValue": True,
            "schema": dict(spec.schema),
        }
        if spec.description:
            parameter["description"] = spec.description
        own.append(parameter)
    return [*own, _PAGE, _ORDERING, _FORMAT]


def operation_extra(endpoint: Endpoint) -> dict[str, Any]:
    """What FastAPI cannot derive for a list operation: parameters, the page, 304 and the 400 bodies."""
    return {
        "parameters": parameters(endpoint),
        "responses": {
            "200": {
                "description": "A page of results.",
                "headers": {
                    "Cache-Control": {"schema": {"type": "string"}, "description": "`max-age=<seconds>`"},
                },
                "content": {CONTENT_TYPE: {"schema": page_schema(endpoint)}},
            },
            "304": {"description": "The page is unchanged since the ETag sent in `If-None-Match`."},
            "400": {
                "description": "A rule or a value was refused; the body says which.",
                "content": {CONTENT_TYPE: {"schema": {"anyOf": [RULE_ERROR, VALUE_ERRORS]}}},
            },
        },
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": '`{"detail": "Invalid page."}`, or `{"detail": "Not found."}` for another `format`.'
    },
    504: {"description": "The query ran past the statement timeout and was cancelled."},
}


def ihr_document(request: Request) -> dict[str, Any]:
    """The OpenAPI document of the /ihr part of the app (what the legacy swagger.json described)."""
    full: dict[str, Any] = request.app.openapi()
    paths = {path: item for path, item in full["paths"].items() if path.startswith("/ihr/")}
    return {**full, "info": {**full["info"], "title": TITLE}, "paths": paths}
