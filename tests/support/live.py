"""A Dockyard app served over real HTTP (uvicorn in a thread), and the machine's Chromium."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager

import uvicorn
from playwright.async_api import Browser, async_playwright

from dockyard.app import create_app
from dockyard.core.config import Settings
from dockyard.core.services import Service, ServiceSettings
from tests.support.app import service_settings_for
from tests.support.ci import unavailable

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str:
    """Debian's Chromium, for Playwright's `executable_path` (no downloaded browser)."""
    found = next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)
    if found is None:
        unavailable("Chromium is not installed; apt-get install chromium")
    return found


@contextmanager
def live_server(
    settings: Settings, services: Sequence[Service], *, service_settings: Sequence[ServiceSettings] = ()
) -> Iterator[str]:
    """Serve an app on a free local port until the block ends; yield its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(
        settings,
        services=services,
        service_settings=service_settings_for(*service_settings),
        configure_logs=False,
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """The machine's Chromium driven by Playwright, headless, closed when the block ends."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()
