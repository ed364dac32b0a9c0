"""300 MB through the gateway both ways, byte for byte, while its memory stays flat (section 4's goal).

The gateway runs in its own process (uvicorn), so psutil measures its RSS alone; the stand-in runs
in this process. Each transfer runs at full speed, then with a slow writer and a slow reader (the
case where a buffering proxy grows: Lbasedb sends faster than the caller reads).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import psutil
import pytest

from tests.gateway.conftest import People, feed_name
from tests.gateway.serving import gateway_process
from tests.support.lbasedb import StandIn

pytestmark = pytest.mark.slow

ROW = 1024
MIB = 1 << 20
TOTAL = 300 * 1000 * 1000 // ROW * ROW  # 300 MB in whole rows
LIMIT = 32 * MIB  # the spec's bound on RSS growth while 300 MB pass


class PeakRss:
    """Samples a process's RSS every 20 ms in a thread; `growth` is the peak over the starting value."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.start


def _block(index: int) -> bytes:
    return hashlib.sha256(index.to_bytes(8, "little")).digest() * (MIB // 32)


async def _upload(pause_s: float) -> AsyncIterator[bytes]:
    sent = 0
    index = 0
    while sent < TOTAL:
        piece = _block(index)[: TOTAL - sent]
        for start in range(0, len(piece), 256 << 10):
            yield piece[start : start + (256 << 10)]
        sent += len(piece)
        index += 1
        if pause_s:
            await asyncio.sleep(pause_s)


def _expected_sha() -> str:
    digest = hashlib.sha256()
    sent, index = 0, 0
    while sent < TOTAL:
        piece = _block(index)[: TOTAL - sent]
        digest.update(piece)
        sent += len(piece)
        index += 1
    return digest.hexdigest()


@pytest.fixture(scope="module")
def gateway_pid(migrated_db: str, lbasedb: tuple[str, StandIn]) -> Iterator[tuple[str, int]]:
    with gateway_process(migrated_db, lbasedb[0]) as running:
        yield running


@pytest.mark.parametrize(("label", "pause_s"), [("full speed", 0.0), ("slow writer and reader", 0.004)])
async def test_300_mb_up_and_down_byte_exact_with_flat_memory(
    gateway_pid: tuple[str, int], lbasedb: tuple[str, StandIn], people: People, label: str, pause_s: float
) -> None:
    base, pid = gateway_pid
    standin = lbasedb[1]
    standin.clear()
    feed = feed_name("xfer")
    standin.store.feed_add(feed)
    standin.store.col_add(feed, "b", f"Bytes[{ROW}]")
    caller = await people.caller()
    await people.grant(feed, "write", user=caller.user_id)
    expected = _expected_sha()
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        # warm up: pools, buffers and code paths allocated before the baseline is taken
        assert (await http.get("/gateway/lbasedb/version", headers=caller.headers)).status_code == 200
        headers = {**caller.headers, "content-length": str(TOTAL)}
        with PeakRss(pid) as upload_rss:
            answer = await http.post(
                f"/gateway/lbasedb/bytes?feed={feed}&col[]=b", content=_upload(pause_s), headers=headers
            )
        assert answer.status_code == 204, answer.text
        received = standin.requests_to("/bytes")[-1]
        assert (received.body_bytes, received.body_sha256) == (TOTAL, expected)
        assert received.header("content-length") == str(TOTAL)
        assert "transfer-encoding" not in received.header_names()

        digest = hashlib.sha256()
        size = 0
        began = time.monotonic()
        with PeakRss(pid) as download_rss:
            async with http.stream(
                "GET",
                f"/gateway/lbasedb/bytes?feed={feed}&ix=0&size={TOTAL // ROW}&col[]=b",
                headers=caller.headers,
            ) as download:
                assert download.headers["content-length"] == str(TOTAL)
                async for chunk in download.aiter_raw(1 << 16):
                    digest.update(chunk)
                    size += len(chunk)
                    if pause_s and size % MIB < len(chunk):
                        await asyncio.sleep(pause_s)
        assert (size, digest.hexdigest()) == (TOTAL, expected)
    del standin.store.feeds[feed]
    print(
        f"{label}: RSS growth upload {upload_rss.growth / MIB:.1f} MiB, "
        f"download {download_rss.growth / MIB:.1f} MiB, "
        f"download {TOTAL / (time.monotonic() - began) / 1e6:.0f} MB/s"
    )
    assert upload_rss.growth < LIMIT
    assert download_rss.growth < LIMIT
