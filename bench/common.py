"""Shared pieces of the benchmarks: a served Dockyard, a load generator, and result files.

Load comes from `wrk` when it is on PATH (Debian package `wrk`), else from a small asyncio
client in this module, so a benchmark runs anywhere; the result records which one was used.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

RESULTS = Path(__file__).parent / "results"
DOCKYARD = str(Path(sys.executable).parent / "dockyard")
# Without DATABASE_URL, benchmarks run on an embedded server kept apart from `make run`'s data.
BENCH_DATA = Path(__file__).resolve().parents[1] / ".dockyard" / "bench"


@dataclass
class Load:
    """What one load run measured."""

    tool: str
    requests: int
    seconds: float
    rps: float
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    errors: int


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(
    workers: int, env: dict[str, str] | None = None, timeout_s: float = 120, port: int | None = None
) -> Iterator[str]:
    """Run `dockyard serve --workers N --migrate` until the block ends; yield its URL once /readyz is 200."""
    port = port or int(os.environ.get("BENCH_PORT", "0")) or free_port()
    base = f"http://127.0.0.1:{port}"
    merged = {**os.environ, "LOG_LEVEL": "WARNING", "DATA_DIR": str(BENCH_DATA), **(env or {})}
    # With DATABASE_URL the app refuses to start without a signing secret; a bench run makes its own.
    merged.setdefault("JWT_SECRET", secrets.token_urlsafe(48))
    command = [DOCKYARD, "serve", "--port", str(port), "--workers", str(workers), "--migrate"]
    proc = subprocess.Popen(command, env=merged, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"dockyard serve exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
                )
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dockyard serve not ready after {timeout_s}s")
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    url: str, *, seconds: int, connections: int, threads: int, headers: dict[str, str] | None = None
) -> Load:
    """Drive `url` with wrk and parse its summary."""
    header_args = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *header_args, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Load(
        tool=f"wrk -t{threads} -c{connections} -d{seconds}s",
        requests=requests,
        seconds=seconds,
        rps=rps,
        latency_p50_ms=_ms(p50.group(1)) if p50 else None,
        latency_p99_ms=_ms(p99.group(1)) if p99 else None,
        errors=int(errors.group(1)) if errors else 0,
    )


async def _python_load(
    url: str, seconds: float, connections: int, headers: dict[str, str] | None = None
) -> Load:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, headers=headers) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                began = time.perf_counter()
                response = await client.get(url)
                latencies.append(time.perf_counter() - began)
                errors += response.status_code >= 400

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return Load(
        tool=f"python asyncio client, {connections} connections",
        requests=len(latencies),
        seconds=round(elapsed, 2),
        rps=round(len(latencies) / elapsed, 1),
        latency_p50_ms=round(latencies[len(latencies) // 2] * 1000, 2),
        latency_p99_ms=round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
        errors=errors,
    )


def load(
    url: str,
    *,
    seconds: int = 10,
    connections: int = 64,
    threads: int = 2,
    headers: dict[str, str] | None = None,
) -> Load:
    """Measure `url` under load with wrk when available, else the asyncio client."""
    if shutil.which("wrk"):
        return run_wrk(url, seconds=seconds, connections=connections, threads=threads, headers=headers)
    return asyncio.run(_python_load(url, seconds, connections, headers))


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def record(name: str, result: dict[str, Any]) -> Path:
    """Write bench/results/<name>.json (latest run) and print a one-line summary."""
    RESULTS.mkdir(exist_ok=True)
    result = {
        "benchmark": name,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **result,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=lambda value: asdict(value)) + "\n")
    return path
