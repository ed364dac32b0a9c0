"""A Redis server for the tests: `REDIS_URL` when set, else a private `redis-server` on a free port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest


@dataclass(frozen=True)
class RedisServer:
    """Where the tests' Redis listens."""

    url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@contextmanager
def redis_server(workdir: Path, *, required: bool) -> Iterator[RedisServer]:
    """Yield a reachable Redis; fail (when `required`) or skip when there is none.

    Locally a private `redis-server` from PATH is preferred (nothing shared is touched), else
    REDIS_URL. In CI (`required`) REDIS_URL comes first: it names the server CI provides.
    """
    url = os.environ.get("REDIS_URL")
    binary = shutil.which("redis-server")
    if binary is not None and not (required and url):
        with _private_server(binary, workdir) as server:
            yield server
        return
    if not url:
        _missing("no redis-server on PATH and no REDIS_URL", required)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if not _wait_for_port(port, 2, host):
        _missing(f"Redis at REDIS_URL ({host}:{port}) is unreachable", required)
    yield RedisServer(url)


def _missing(message: str, required: bool) -> NoReturn:
    if not required:
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


@contextmanager
def private_redis(workdir: Path) -> Iterator[tuple[RedisServer, subprocess.Popen[bytes]]]:
    """A Redis of the test's own (the process too, to stop or freeze it); needs redis-server on PATH."""
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("no redis-server on PATH", required=True)
    with _private_server(binary, workdir) as server:
        yield server, _SERVERS[server.url]


_SERVERS: dict[str, subprocess.Popen[bytes]] = {}


@contextmanager
def _private_server(binary: str, workdir: Path) -> Iterator[RedisServer]:
    port = _free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [*command, "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        if not _wait_for_port(port, 10):
            pytest.fail(f"redis-server did not listen on {port}", pytrace=False)
        server = RedisServer(f"redis://127.0.0.1:{port}/0")
        _SERVERS[server.url] = proc
        yield server
    finally:
        _SERVERS.pop(f"redis://127.0.0.1:{port}/0", None)
        proc.kill()  # SIGKILL: a frozen (SIGSTOPped) server would never act on SIGTERM
        proc.wait(5)
