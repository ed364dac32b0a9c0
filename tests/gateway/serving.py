"""The gateway over real sockets: uvicorn in a thread (to look inside the app) or a process (for RSS)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from dockyard import accounts, gateway
from dockyard.app import create_app
from dockyard.core.config import Settings
from dockyard.gateway.settings import GatewaySettings
from tests.support.app import TEST_JWT_SECRET, service_settings_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gateway_thread(settings: Settings, gateway_settings: GatewaySettings) -> Iterator[tuple[str, FastAPI]]:
    """The app (accounts + gateway) under uvicorn in a thread; yields (base URL, app)."""
    port = free_port()
    app = create_app(
        settings,
        services=(accounts.service, gateway.service),
        service_settings=service_settings_for(gateway_settings),
        configure_logs=False,
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def gateway_process(database_url: str, lbasedb_url: str) -> Iterator[tuple[str, int]]:
    """`uvicorn dockyard.app:create_app` in its own process; yields (base URL, pid) once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LBASEDB_URL": lbasedb_url,
        "SERVICES": "accounts,gateway",
        "JWT_SECRET": TEST_JWT_SECRET,
        "LOG_LEVEL": "WARNING",
        "GATEWAY_AUDIT_FLUSH_S": "0.1",
    }
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "uvicorn", "--factory", "dockyard.app:create_app", "--port", str(port)]
    proc = subprocess.Popen([*command, "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the gateway process did not start")
            time.sleep(0.1)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
