"""The gateway's index page (/gateway/): whether Lbasedb is configured and answering, and where to go."""

from __future__ import annotations

from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse

from dockyard.core.errors import DockyardError
from dockyard.gateway.upstream import read_small

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gateway · Dockyard</title><link rel="stylesheet" href="/static/site.css"></head>
<body><header><h1>Gateway</h1><p>Lbasedb's API with users, groups and per-feed grants, streamed both ways.</p>
<nav><a href="/">Dockyard</a><a href="/docs#/gateway">Admin API</a></nav></header>
<main><h2>Upstream</h2><p>{status}</p>
<h2>Use it</h2><p>Every Lbasedb route is under <code>/gateway/lbasedb/</code> with the same paths,
parameters and
bodies, e.g. <code>GET /gateway/lbasedb/version</code>, with <code>Authorization: Bearer &lt;token&gt;</code>.
Grants and the audit log: <code>/gateway/api/v1/</code> (permission <code>gateway.admin</code>) or
<code>dockyard gateway grant|revoke|rights|audit</code>.</p></main></body></html>"""


async def index(request: Request) -> HTMLResponse:
    """Whether the upstream is configured and what version it reports."""
    runtime = getattr(request.app.state, "gateway", None)
    upstream = runtime.upstream if runtime is not None else None
    if upstream is None:
        status = (
            "<strong>Not configured.</strong> Set <code>LBASEDB_URL</code> (e.g. http://127.0.0.1:8080) and "
            "restart; until then every data route answers 503."
        )
    else:
        try:
            async with upstream.request("GET", "/version", {"host": upstream.host}) as response:
                body = await read_small(response, limit=4096)
            where = escape(upstream.base_url)
            status = f"Lbasedb at <code>{where}</code> answers: <code>{escape(body.decode())}</code>"
        except DockyardError as exc:
            status = (
                f"Lbasedb at <code>{escape(upstream.base_url)}</code> does not answer: {escape(exc.detail)}"
            )
    return HTMLResponse(_PAGE.format(status=status))
