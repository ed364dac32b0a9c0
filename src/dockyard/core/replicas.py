"""Which read replicas may serve reads: a background probe of each, kept as a flag the hot path reads.

Every `every_s` seconds a probe connection per replica (application_name `dockyard-probe`, outside
the pools so a busy pool does not read as a dead server) asks the replica how far its replay is
behind. A replica is `down` when the probe cannot connect or query it, `lagging` when its replay is
more than `max_lag_s` behind, else `ok`. The request path never probes: it reads `healthy`, and a
request whose replica connection fails at acquire time reports it through `lost()` so the following
requests go to the primary before the next probe. A warning is logged once per change of state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
from prometheus_client import Gauge

from dockyard.core.dburl import redacted

logger = logging.getLogger(__name__)

State = Literal["ok", "down", "lagging"]

HEALTHY = Gauge(
    "dockyard_db_replica_healthy",
    "1 while a read replica serves reads, 0 while it is down or lagging (reads then go to the primary)",
    ["pool"],
    multiprocess_mode="livemin",
)
LAG = Gauge(
    "dockyard_db_replica_lag_seconds",
    "How far a replica's replay was behind at its last probe (0 when it has replayed all it received)",
    ["pool"],
    multiprocess_mode="livemax",
)

# The replay lag in seconds. A replica that has replayed everything it received is not behind,
# however old its last replayed transaction is (an idle primary sends none). One with WAL still to
# replay is behind since its last replayed commit, or, having replayed none since it started (paused
# or stuck from the start), since it started. Not a standby (promoted, or a copy): no lag.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE greatest(
        extract(epoch FROM now() - coalesce(pg_last_xact_replay_timestamp(), pg_postmaster_start_time())), 0
    )
END::float8
"""


@dataclass
class Replica:
    """What the last probe (or a failed acquire) found about one replica."""

    label: str
    url: str = field(repr=False)
    state: State = "ok"
    lag_s: float | None = None
    error: str | None = None
    since: float = field(default_factory=time.time)

    def public(self) -> dict[str, Any]:
        """The state for /readyz: no URL, no message that could hold one."""
        lag = None if self.lag_s is None else round(self.lag_s, 3)
        return {"state": self.state, "lag_s": lag, "error": self.error, "since": round(self.since, 3)}


class ReplicaMonitor:
    """Probes every replica in the background and keeps the indices of those that may serve reads."""

    def __init__(self, urls: Sequence[str], *, max_lag_s: float, every_s: float, timeout_s: float) -> None:
        self.replicas = [Replica(label=f"replica{index}", url=url) for index, url in enumerate(urls)]
        self.max_lag_s = max_lag_s
        self.every_s = every_s
        self.timeout_s = timeout_s
        # Until the first probe every replica is taken as healthy; a failed acquire corrects it.
        self.healthy: tuple[int, ...] = tuple(range(len(self.replicas)))
        self._conns: list[asyncpg.Connection | None] = [None] * len(self.replicas)
        self._task: asyncio.Task[None] | None = None
        for replica in self.replicas:
            HEALTHY.labels(replica.label).set(1)

    async def start(self) -> None:
        """Probe every replica once, then keep probing in a background task."""
        await self.probe_all()
        self._task = asyncio.create_task(self._loop(), name="replica-monitor")

    async def close(self) -> None:
        """Stop probing and close the probe connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for index in range(len(self._conns)):
            await self._drop(index)

    async def probe_all(self) -> None:
        """Probe every replica now, together."""
        await asyncio.gather(*(self._probe(index) for index in range(len(self.replicas))))

    def lost(self, index: int, exc: BaseException) -> None:
        """A request could not use replica `index`: send reads to the others until a probe finds it back."""
        self._set(index, "down", error=type(exc).__name__)

    def states(self) -> dict[str, dict[str, Any]]:
        """Each replica's state by label."""
        return {replica.label: replica.public() for replica in self.replicas}

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            await self.probe_all()

    async def _probe(self, index: int) -> None:
        replica = self.replicas[index]
        try:
            async with asyncio.timeout(self.timeout_s):
                conn = self._conns[index]
                if conn is None or conn.is_closed():
                    conn = self._conns[index] = await asyncpg.connect(
                        replica.url, server_settings={"application_name": "dockyard-probe"}
                    )
                lag: float | None = await conn.fetchval(LAG_SQL)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure means: do not send reads there
            await self._drop(index)
            self._set(index, "down", error=type(exc).__name__)
            return
        replica.lag_s = lag
        LAG.labels(replica.label).set(lag or 0)
        self._set(index, "lagging" if lag is not None and lag > self.max_lag_s else "ok")

    async def _drop(self, index: int) -> None:
        conn, self._conns[index] = self._conns[index], None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    def _set(self, index: int, state: State, *, error: str | None = None) -> None:
        replica = self.replicas[index]
        replica.error = error
        if state == replica.state:
            return
        was, replica.state, replica.since = replica.state, state, time.time()
        self.healthy = tuple(i for i, each in enumerate(self.replicas) if each.state == "ok")
        HEALTHY.labels(replica.label).set(1 if state == "ok" else 0)
        event = {"ok": "db.replica.back", "down": "db.replica.down", "lagging": "db.replica.lagging"}[state]
        logger.warning(
            event,
            extra={
                "pool": replica.label,
                "url": redacted(replica.url),
                "was": was,
                "lag_s": replica.lag_s,
                "max_lag_s": self.max_lag_s,
                "error": error,
                "reads_on": "replicas" if self.healthy else "primary",
            },
        )
