"""Run a stand-in on its own event loop in a thread, so a test can reach into its state."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from tests.support.lbasedb.server import DEFAULT_PAYLOAD_LIMIT, StandIn, start


@contextmanager
def running_standin(*, payload_limit: int = DEFAULT_PAYLOAD_LIMIT) -> Iterator[tuple[str, StandIn]]:
    """A stand-in listening on a free local port until the block ends: (base URL, stand-in)."""
    standin = StandIn(payload_limit=payload_limit)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, asyncio.Server] = {}

    async def serve() -> None:
        holder["server"] = await start(standin)
        ready.set()
        await holder["server"].serve_forever()

    def run() -> None:
        asyncio.set_event_loop(loop)
        with suppress(asyncio.CancelledError):
            loop.run_until_complete(serve())

    thread = threading.Thread(target=run, name="lbasedb-standin", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the Lbasedb stand-in did not start")
    port = holder["server"].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", standin
    finally:
        loop.call_soon_threadsafe(holder["server"].close)
        for task in asyncio.all_tasks(loop):
            loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=10)
