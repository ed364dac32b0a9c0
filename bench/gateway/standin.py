"""The Lbasedb stand-in as a separate process for the benchmarks, and data loaded into it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bench.common import free_port

ROW = 1024  # bytes per row of the bench feed's one Bytes[1024] column


@contextmanager
def answering_process(command: list[str], probe: str, what: str) -> Iterator[int]:
    """Run `command` until the block ends, once `probe` answers over HTTP; yields its pid."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(probe, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{what} did not start") from None
                time.sleep(0.1)
        yield proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def standin_process() -> Iterator[tuple[str, int]]:
    """`python -m tests.support.lbasedb` on a free port until the block ends; yields (URL, pid)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "tests.support.lbasedb", "--port", str(port)]
    with answering_process(command, base + "/version", "the stand-in") as pid:
        yield base, pid


def block(mib: int) -> bytes:
    """`mib` MiB of bytes that differ from one MiB to the next."""
    return b"".join(bytes([index % 251]) * (1 << 20) for index in range(mib))


def load_bytes_feed(base: str, feed: str, megabytes: int) -> int:
    """Create `feed` with one Bytes[1024] column holding `megabytes` MiB; returns its row count."""
    with httpx.Client(base_url=base, timeout=300) as client:
        client.post("/feed", json={"name": feed})
        client.post("/col", params={"feed": feed}, json={"name": "b", "datatype": f"Bytes[{ROW}]"})
        data = block(megabytes)
        answer = client.post(f"/bytes?feed={feed}&col[]=b", content=data)
        answer.raise_for_status()
    return len(data) // ROW


def load_json_feed(base: str, feed: str, rows: int) -> None:
    """Create `feed` with Float64 columns x and y holding `rows` rows (the 36 MB JSON of section 2)."""
    import random

    with httpx.Client(base_url=base, timeout=300) as client:
        client.post("/feed", json={"name": feed})
        for name in ("x", "y"):
            client.post("/col", params={"feed": feed}, json={"name": name, "datatype": "Float64"})
        chooser = random.Random(7)
        dataset = {"x": [chooser.random() for _ in range(rows)], "y": [chooser.random() for _ in range(rows)]}
        client.post(f"/data?feed={feed}", json=dataset).raise_for_status()
