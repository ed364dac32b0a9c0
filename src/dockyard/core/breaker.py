"""A circuit breaker for a shared helper service (Redis): fail fast once, then skip it until it answers.

Callers ask `available` before using the service and call `trip(exc)` when a call fails (a timeout
included). A tripped breaker makes every caller skip the service at no cost, while one background
probe asks it every `probe_every_s` whether it answers again; the first answer closes the breaker.
The warning is logged when the breaker opens and at most once a minute while it stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)


class Breaker:
    """Open while the service fails; closed again by the first successful probe."""

    def __init__(
        self,
        name: str,
        probe: Callable[[], Awaitable[Any]],
        *,
        timeout_s: float,
        probe_every_s: float = 1.0,
        warn_every_s: float = 60.0,
    ) -> None:
        self.name = name
        self.probe = probe
        self.timeout_s = timeout_s
        self.probe_every_s = probe_every_s
        self.warn_every_s = warn_every_s
        self.trips = 0
        self._open = False
        self._warned_at = -math.inf
        self._probing: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        """False while the breaker is open: skip the service."""
        return not self._open

    def trip(self, exc: BaseException) -> None:
        """Record a failed call: open the breaker and start probing."""
        self.trips += 1
        self._open = True
        now = time.monotonic()
        if now - self._warned_at >= self.warn_every_s:
            self._warned_at = now
            logger.warning(
                "%s unavailable: skipped until it answers again", self.name, extra={"error": repr(exc)}
            )
        if self._probing is None or self._probing.done():
            self._probing = asyncio.get_running_loop().create_task(self._probe(), name=f"{self.name}-probe")

    async def _probe(self) -> None:
        while self._open:
            await asyncio.sleep(self.probe_every_s)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.probe(), self.timeout_s)
                self._open = False
                logger.warning("%s answers again", self.name)

    async def close(self) -> None:
        """Stop probing (at shutdown)."""
        if self._probing is not None:
            self._probing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probing
