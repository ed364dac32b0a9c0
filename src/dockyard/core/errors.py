"""Errors: the domain exceptions code raises, and one renderer per API style.

    DockyardError            status 500, the base; never raised itself
    ├── BadInput             400  the request is malformed; `detail` says what to fix
    ├── Unauthorized         401  no or invalid credentials
    ├── Forbidden            403  authenticated but not allowed
    ├── NotFound             404
    ├── Conflict             409  e.g. a unique value already taken
    ├── TooManyRequests      429  carries Retry-After
    ├── ServiceUnavailable   503  e.g. the database cannot be reached
    └── GatewayTimeout       504  e.g. a statement ran past STATEMENT_TIMEOUT_S

Each API style (RFC 9457 problem+json by default, DRF `{"detail": ...}` for the legacy IHR API,
and so on) is an `ErrorStyle`, registered for a path prefix: the longest matching prefix wins. A
style renders the body and describes it to OpenAPI (`core.openapi` documents every error status
of every operation with its style's media type and schema).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from dockyard.core.logging import request_id_var


class DockyardError(Exception):
    """An error with an HTTP status and a message meant for the client."""

    status: int = 500

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})


class BadInput(DockyardError):
    status = 400


class Unauthorized(DockyardError):
    status = 401

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer", **(headers or {})})


class Forbidden(DockyardError):
    status = 403


class NotFound(DockyardError):
    status = 404


class Conflict(DockyardError):
    status = 409


class TooManyRequests(DockyardError):
    status = 429

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})


class ServiceUnavailable(DockyardError):
    status = 503


class GatewayTimeout(DockyardError):
    status = 504


class PayloadTooLarge(DockyardError):
    status = 413


ErrorRenderer = Callable[[Request, int, Any, Mapping[str, str]], Response]
"""(request, status, detail, headers) -> response. `detail` is a string or a list of problems."""


class FieldProblem(BaseModel):
    """One invalid field of a request."""

    field: str = Field(examples=["query.limit"])
    message: str = Field(examples=["Input should be less than or equal to 1000"])


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong and what to fix (`detail`)."""

    type: str = Field(examples=["about:blank"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["No run has id 42."])
    instance: str = Field(examples=["/backups/api/v1/runs/42"])
    request_id: str | None = Field(default=None, examples=["3f0c5e0e8f9a4e1c9f1f6f1d2b7f9a10"])
    errors: list[FieldProblem] | None = Field(default=None, description="Present for invalid fields (422).")


class DetailError(BaseModel):
    """Django REST framework's error body."""

    detail: str | list[FieldProblem] = Field(examples=["Not found."])


@dataclass(frozen=True)
class ErrorStyle:
    """How one API family renders errors, and how OpenAPI describes that body."""

    render: ErrorRenderer
    media_type: str
    model: type[BaseModel]


def render_problem(request: Request, status: int, detail: Any, headers: Mapping[str, str]) -> Response:
    """RFC 9457 problem+json: type, title, status, detail, instance, request_id."""
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    if isinstance(detail, str):
        body["detail"] = detail
    else:
        body["detail"] = "The request has invalid fields; see `errors`."
        body["errors"] = detail
    body["instance"] = request.url.path
    request_id = request_id_var.get()
    if request_id is not None:
        body["request_id"] = request_id
    return Response(orjson.dumps(body), status, headers=dict(headers), media_type="application/problem+json")


def render_detail(request: Request, status: int, detail: Any, headers: Mapping[str, str]) -> Response:
    """Django REST framework's shape: `{"detail": ...}` with application/json."""
    return Response(
        orjson.dumps({"detail": detail}), status, headers=dict(headers), media_type="application/json"
    )


PROBLEM_JSON = ErrorStyle(render_problem, "application/problem+json", Problem)
"""The default style of new APIs (RFC 9457)."""

DRF_DETAIL = ErrorStyle(render_detail, "application/json", DetailError)
"""The style of APIs that keep a Django REST framework contract."""


class ErrorStyles:
    """Error styles by path prefix; the longest matching prefix wins, problem+json otherwise."""

    def __init__(self, default: ErrorStyle = PROBLEM_JSON) -> None:
        self._default = default
        self._by_prefix: list[tuple[str, ErrorStyle]] = []

    def register(self, prefix: str, style: ErrorStyle) -> None:
        """Use `style` for every path under `prefix`."""
        self._by_prefix.append((prefix, style))
        self._by_prefix.sort(key=lambda item: len(item[0]), reverse=True)

    def style_for(self, path: str) -> ErrorStyle:
        """The style that answers errors for `path`."""
        for prefix, style in self._by_prefix:
            if path.startswith(prefix):
                return style
        return self._default

    def for_path(self, path: str) -> ErrorRenderer:
        """The renderer that answers errors for `path`."""
        return self.style_for(path).render

    def styles(self) -> list[ErrorStyle]:
        """Every style in use, the default first."""
        found = [self._default]
        for _, style in self._by_prefix:
            if style not in found:
                found.append(style)
        return found


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts for this request's path (for `Allow`), sorted."""
    methods: set[str] = set()
    path = request.url.path
    for context in iter_route_contexts(request.app.router.routes):
        template, route_methods = context.path_format, getattr(context.original_route, "methods", None)
        if template and route_methods and _compiled(template).match(path):
            methods.update(route_methods)
    if methods:
        methods.add("OPTIONS")
    return sorted(methods)


@lru_cache(maxsize=1024)
def _compiled(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]


def _validation_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()))
        problems.append({"field": location, "message": error.get("msg", "invalid value")})
    return problems


def install_error_handlers(app: FastAPI, styles: ErrorStyles) -> None:
    """Render DockyardError, HTTP errors and validation errors in each path's style."""

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DockyardError)
        return styles.for_path(request.url.path)(request, exc.status, exc.detail, exc.headers)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else "Not found."
        if detail == "There was an error parsing the body":  # FastAPI's words for a body it cannot decode
            detail = "The body could not be read: send it as UTF-8 JSON."
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route matching the path; a path often has several.
            allow = allowed_methods(request)
            headers["Allow"] = ", ".join(allow)
            if request.method == "OPTIONS":
                return Response(status_code=204, headers=headers)
            detail = f"{request.method} is not allowed here; use {', '.join(allow)}."
        return styles.for_path(request.url.path)(request, exc.status_code, detail, headers)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return styles.for_path(request.url.path)(request, 422, _validation_problems(exc), {})

    app.add_exception_handler(DockyardError, on_domain_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
