"""The IHR website's API page in a real browser (Chromium): Swagger UI on another origin loads
`/ihr/api/openapi.json` from Dockyard, as the website's src/views/Api.vue does, and shows every list.

The page is served from a second local origin with Dockyard's vendored Swagger UI; Dockyard allows
that origin through CORS_ORIGINS, as a deployment serving the website does.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from dockyard import ihr
from dockyard.ihr.endpoints import ENDPOINTS
from tests.support.app import settings_for
from tests.support.live import chromium, live_server

SWAGGER_UI = Path(__file__).resolve().parents[2] / "src" / "dockyard" / "static" / "vendor" / "swagger-ui"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js"></script>
<script>
  SwaggerUIBundle({
    url: "%(api)s/ihr/api/openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    defaultModelsExpandDepth: -1,
    presets: [SwaggerUIBundle.presets.apis],
    deepLinking: false,
  });
</script></body></html>
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
def website(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static origin of its own (the website's), serving files from a folder."""
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        shutil.copy(SWAGGER_UI / name, tmp_path / name)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


async def test_the_api_page_shows_every_list_from_openapi_json(
    browser: Browser, ihr_db: str, website: tuple[str, Path]
) -> None:
    origin, folder = website
    with live_server(settings_for(ihr_db, cors_origins=[origin]), (ihr.service,)) as api:
        (folder / "index.html").write_text(PAGE % {"api": api})
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        async with page.expect_response(lambda r: r.url.endswith("/ihr/api/openapi.json")) as loaded:
            await page.goto(f"{origin}/index.html")
        response = await loaded.value
        assert response.status == 200
        assert response.headers["access-control-allow-origin"] == origin
        await page.locator(".opblock-summary-path").first.wait_for()
        shown = await page.locator(".opblock-summary-path").all_inner_texts()
        title = await page.locator(".info .title").inner_text()
        shown_errors = await page.locator(".errors-wrapper").count()
    paths = {text.replace("\u200b", "").strip() for text in shown}
    assert {f"/ihr/api/{endpoint.path}" for endpoint in ENDPOINTS} <= paths
    assert "/ihr/api/user/monitored_asns" in paths
    assert all(path.startswith("/ihr/") for path in paths)
    assert title.startswith("Internet Health Report API")
    assert shown_errors == 0
    assert errors == []


async def test_an_origin_not_allowed_cannot_load_the_document(
    browser: Browser, ihr_db: str, website: tuple[str, Path]
) -> None:
    origin, folder = website
    with live_server(settings_for(ihr_db, cors_origins=["https://www.ihr.live"]), (ihr.service,)) as api:
        (folder / "index.html").write_text(PAGE % {"api": api})
        page = await browser.new_page()
        await page.goto(f"{origin}/index.html")
        await page.locator(".errors-wrapper, .loading-container .errors").first.wait_for()
        shown = await page.locator(".opblock-summary-path").count()
    assert shown == 0
