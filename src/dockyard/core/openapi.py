"""The OpenAPI document, made exact: every error status an operation can answer, with its body.

FastAPI documents success bodies from response models, and a 422 in its own shape. Dockyard's
errors are rendered per API style (`core.errors.ErrorStyle`), so after FastAPI builds the document,
`exact_openapi` rewrites each operation's error responses:

- the statuses a route declares itself (`responses=errors(404, 409)`),
- those its dependencies can raise (marked with `@raises(401, 403)`, e.g. `require(...)`),
- 422 and 400 (a value PostgreSQL refuses, such as a NUL character) where it takes parameters or a
  body; 413 (and 400 for a body that is not UTF-8) where it takes a body,
- 429 and 503 on every budgeted route (rate limits, database or upstream outage),

each with the media type and schema of the style that serves the operation's path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from dockyard.core.errors import ErrorStyle, ErrorStyles

F = TypeVar("F", bound=Callable[..., Any])

ERROR_MARK = "dockyard_error_statuses"

DESCRIPTIONS = {
    400: "Bad input: the body says what to fix.",
    401: "Missing, invalid or expired credentials (see `WWW-Authenticate`).",
    403: "Authenticated, but not allowed: the body names what is missing.",
    404: "Not found.",
    405: "Method not allowed (see `Allow`).",
    409: "Conflict with the current state: the body says which.",
    413: "The request body is larger than this route accepts.",
    422: "Invalid parameters or body fields: the body lists each one.",
    429: "Rate limit reached: retry after `Retry-After` seconds.",
    502: "The upstream service failed.",
    503: "A dependency (the database, or an upstream) is unavailable: retry shortly.",
    504: "The work took too long and was cancelled.",
}

HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
}

# Paths neither budgeted nor backed by the database.
UNBUDGETED = ("/healthz",)


def raises(*statuses: int) -> Callable[[F], F]:
    """Mark a dependency as answering these error statuses, so every route using it documents them."""

    def mark(function: F) -> F:
        setattr(function, ERROR_MARK, (*getattr(function, ERROR_MARK, ()), *statuses))
        return function

    return mark


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route's own error statuses; `exact_openapi` fills in their bodies."""
    return {
        status: {"description": DESCRIPTIONS.get(status, HTTPStatus(status).phrase)} for status in statuses
    }


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def route_error_statuses(route: APIRoute, path: str) -> set[int]:
    """Every error status `route`, mounted at `path`, can answer."""
    statuses = {int(code) for code in route.responses if str(code).isdigit() and int(code) >= 400}
    takes_body = route.body_field is not None
    takes_input = takes_body
    for dependant in _dependants(route.dependant):
        statuses.update(getattr(dependant.call, ERROR_MARK, ()))
        if (
            dependant.path_params
            or dependant.query_params
            or dependant.header_params
            or dependant.cookie_params
        ):
            takes_input = True
    if takes_input:
        # 400: a value PostgreSQL refuses as text (a NUL character), from a parameter or a body.
        statuses.update((400, 422))
    if takes_body:
        statuses.add(413)
    if not path.startswith(UNBUDGETED):
        statuses.update((429, 503))
    return statuses


def _error_response(status: int, style: ErrorStyle, description: str | None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
        "content": {style.media_type: {"schema": {"$ref": f"#/components/schemas/{style.model.__name__}"}}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def _add_models(document: dict[str, Any], styles: Iterable[ErrorStyle]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for style in styles:
        generated = style.model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(generated.pop("$defs", {}))
        schemas[style.model.__name__] = generated


def _drop_unused_validation_schemas(document: dict[str, Any]) -> None:
    text = str(document.get("paths", {}))
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in text:
            schemas.pop(name, None)


def exact_openapi(app: FastAPI, styles: ErrorStyles) -> Callable[[], dict[str, Any]]:
    """The `app.openapi` replacement: FastAPI's document with every error response made exact."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        used: list[ErrorStyle] = []
        for context in iter_route_contexts(app.routes):
            route, path = context.original_route, context.path_format
            # Routes left out of the document (include_in_schema=False) have no path item.
            if not isinstance(route, APIRoute) or path is None or path not in document["paths"]:
                continue
            style = styles.style_for(path)
            statuses = route_error_statuses(route, path)
            if statuses and style not in used:
                used.append(style)
            path_item = document["paths"][path]
            for method in route.methods or ():
                operation = path_item.get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                for status in sorted(statuses):
                    declared = route.responses.get(status) or route.responses.get(str(status)) or {}
                    responses[str(status)] = _error_response(status, style, declared.get("description"))
        _add_models(document, used)
        _drop_unused_validation_schemas(document)
        app.openapi_schema = document
        return document

    return openapi
