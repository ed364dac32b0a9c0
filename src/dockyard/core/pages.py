"""HTML pages of the core: the index of services (`/`) and Swagger UI (`/docs`) from local assets."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dockyard import __version__
from dockyard.core.services import Service

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/static/site.css"></head>
<body>{body}</body></html>"""

_DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dockyard API</title>
<link rel="icon" type="image/png" href="/static/vendor/swagger-ui/favicon-32x32.png">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>"""


def _service_item(service: Service) -> str:
    links = [f'<a href="{escape(link.href)}">{escape(link.title)}</a>' for link in service.links]
    return (
        f"<li><h2>{escape(service.title)} <code>{escape(service.name)}</code></h2>"
        f"<p>{escape(service.description)}</p><nav>{' '.join(links)}</nav></li>"
    )


def index_html(services: Sequence[Service]) -> str:
    """The index page listing every mounted service and the core endpoints."""
    items = "".join(_service_item(service) for service in services) or "<li>No service is enabled.</li>"
    body = (
        f"<header><h1>Dockyard</h1><p>Version {escape(__version__)} · {len(services)} service(s) mounted</p>"
        '<nav><a href="/docs">API docs</a><a href="/openapi.json">OpenAPI</a><a href="/readyz">Readiness</a>'
        '<a href="/metrics">Metrics</a></nav></header>'
        f'<main><ul class="services">{items}</ul></main>'
    )
    return _PAGE.format(title="Dockyard", body=body)


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    """A small HTML index of the mounted services and their links."""
    return HTMLResponse(index_html(request.app.state.services))


@router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request) -> HTMLResponse:
    """Swagger UI, served from the vendored bundle under /static (no CDN)."""
    return HTMLResponse(_DOCS.format(openapi_url=escape(request.app.openapi_url or "/openapi.json")))
