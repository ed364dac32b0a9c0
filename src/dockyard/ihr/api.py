"""Routes of the public IHR API: the list endpoints, their slash-less redirects, swagger.json/.yaml."""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from dockyard.ihr.endpoints import ENDPOINTS
from dockyard.ihr.listing import CONTENT_TYPE, Endpoint, Window, answer

router = APIRouter(prefix="/api", tags=["ihr"])

COMMON_PARAMETERS = [
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "string"},
        "description": "Page number (1-based; `last` for the last page). Pages hold 100000 rows.",
    },
    {
        "name": "ordering",
        "in": "query",
        "schema": {"type": "string"},
        "description": "Comma-separated fields, `-` for descending; unknown fields are ignored.",
    },
    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json"]}},
]

ENVELOPE = {
    "type": "object",
    "required": ["count", "next", "previous", "results"],
    "properties": {
        "count": {"type": "integer"},
        "next": {"type": ["string", "null"]},
        "previous": {"type": ["string", "null"]},
        "results": {"type": "array", "items": {"type": "object"}},
    },
}


def _description(endpoint: Endpoint) -> str:
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


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    own = [{"name": f.param, "in": "query", "schema": {"type": "string"}} for f in endpoint.filters]
    return own + COMMON_PARAMETERS


def _openapi_extra(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "parameters": _parameters(endpoint),
        "responses": {
            "200": {
                "description": "A page of results.",
                "content": {CONTENT_TYPE: {"schema": ENVELOPE}},
            },
            "400": {"description": "A rule or a value was refused; the body says which."},
            "404": {"description": '`{"detail": "Invalid page."}`'},
        },
    }


def _add(endpoint: Endpoint) -> None:
    async def list_rows(request: Request) -> Response:
        return await answer(request, endpoint)

    async def add_slash(request: Request) -> Response:
        query = request.url.query
        return RedirectResponse(request.url.path + "/" + (f"?{query}" if query else ""), status_code=301)

    name = endpoint.path.strip("/").replace("/", "_")
    list_rows.__name__ = f"ihr_{name}"
    router.add_api_route(
        f"/{endpoint.path}",
        list_rows,
        methods=["GET"],
        summary=endpoint.summary,
        description=_description(endpoint),
        openapi_extra=_openapi_extra(endpoint),
        response_class=Response,
        name=f"ihr_{name}",
    )
    router.add_api_route(f"/{endpoint.path.rstrip('/')}", add_slash, methods=["GET"], include_in_schema=False)


for _endpoint in ENDPOINTS:
    _add(_endpoint)


def ihr_openapi(request: Request) -> dict[str, Any]:
    """The OpenAPI document of the /ihr part of the app (what the legacy swagger.json described)."""
    full: dict[str, Any] = request.app.openapi()
    paths = {path: item for path, item in full["paths"].items() if path.startswith("/ihr/")}
    return {
        **full,
        "info": {**full["info"], "title": "Internet Health Report API"},
        "paths": paths,
    }


@router.get("/swagger.json", include_in_schema=False)
async def swagger_json(request: Request) -> Response:
    return Response(orjson.dumps(ihr_openapi(request)), media_type=CONTENT_TYPE)


@router.get("/swagger.yaml", include_in_schema=False)
async def swagger_yaml(request: Request) -> Response:
    text = yaml.safe_dump(ihr_openapi(request), sort_keys=False, allow_unicode=True)
    return Response(text, media_type="application/yaml")
