"""asyncpg pools (a primary and optional read replicas) and the request dependencies that use them.

Handlers declare `conn: Conn` (primary, inside a transaction that commits before the response
starts) or `conn: ReadConn` (a healthy replica when configured, else the primary: see
`core/replicas.py` for how a replica that is down or lagging is left out, and `GuardedPool.fallback`
for the request that finds it down at acquire time and is served by the primary). asyncpg's errors are
translated into `core.errors` types here, once: unreachable database → 503, statement timeout →
504, unique or integrity violation and serialization failure → 409. Every pool is a `GuardedPool`,
so whoever uses it (a route, a dependency, a middleware, a metrics hook) sees a connection-level
failure — refused, reset, socket missing, pool closed, acquire timeout — as ServiceUnavailable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any, TypeAlias

import asyncpg
from asyncpg.exceptions._base import DataError as ClientDataError
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import Counter

from dockyard.core.config import Settings
from dockyard.core.dburl import redacted
from dockyard.core.errors import BadInput, Conflict, DockyardError, GatewayTimeout, ServiceUnavailable
from dockyard.core.openapi import raises
from dockyard.core.replicas import ReplicaMonitor

logger = logging.getLogger(__name__)

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"

_UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,
    asyncpg.ConnectionFailureError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)
# What can only mean the connection itself failed while in use (an OSError in a block holding a
# connection may be the block's own file work, so it is not in this list).
_CONNECTION_LOST = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.ConnectionFailureError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
)
UNREACHABLE_DETAIL = "The database is unreachable; try again shortly."
PROBE_TIMEOUT_S = 5.0  # longest a replica's probe may take before the replica counts as down


def translate(exc: BaseException) -> DockyardError | None:
    """The client-facing error for a database exception, or None when it is a bug to surface as 500."""
    if isinstance(exc, asyncpg.QueryCanceledError):
        return GatewayTimeout("The database query took too long and was cancelled; narrow the request.")
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Conflict("A record with the same unique value already exists.")
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return Conflict("The change conflicts with other records and was not saved.")
    if isinstance(exc, asyncpg.TransactionRollbackError):
        return Conflict("The change collided with a concurrent one and was not saved; retry it.")
    if isinstance(exc, asyncpg.CharacterNotInRepertoireError | asyncpg.UntranslatableCharacterError):
        return BadInput("Text values cannot contain the NUL character (\\u0000); remove it and retry.")
    if isinstance(exc, ClientDataError | asyncpg.DataError):
        # A value the driver could not encode (out of its type's range) or PostgreSQL refused as
        # data: the driver's words name internals ("query argument $2 …"), so they stay in the log.
        return BadInput("A value is outside the range its field accepts; check numbers, dates and sizes.")
    if isinstance(exc, asyncpg.UndefinedTableError | asyncpg.InvalidSchemaNameError):
        return ServiceUnavailable(
            "The database schema is not up to date; an operator must run `dockyard db migrate`."
        )
    if isinstance(exc, _UNREACHABLE):
        return ServiceUnavailable(UNREACHABLE_DETAIL, headers={"Retry-After": "5"})
    return None


@contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise asyncpg and connection errors as `core.errors` types (the one seam for them)."""
    try:
        yield
    except DockyardError:
        raise
    except (asyncpg.PostgresError, *_UNREACHABLE) as exc:
        mapped = translate(exc)
        if mapped is None:
            raise
        raise mapped from exc


BUSY_DETAIL = "The server is busy; retry shortly."
SHED = Counter(
    "dockyard_db_acquire_shed_total", "Requests refused at once because the pool's wait queue was full"
)


class _GuardedAcquire(PoolAcquireContext):
    """`pool.acquire()` whose connection-level failures are raised as ServiceUnavailable."""

    __slots__ = ()

    async def __aenter__(self) -> Any:
        pool: GuardedPool = self.pool  # type: ignore[assignment]
        try:
            with pool.queued():
                return await super().__aenter__()
        except _UNREACHABLE as exc:
            self.connection = await pool.instead(exc, self.timeout)
            return self.connection

    async def __aexit__(self, *exc: object) -> None:
        exc_val = exc[1] if len(exc) > 1 else None
        pool: GuardedPool = self.pool  # type: ignore[assignment]
        own = _owner(self.connection) is pool  # False when the fallback's connection was used
        try:
            await super().__aexit__(*exc)
        except _UNREACHABLE:
            if exc_val is None:  # only the release failed: the connection is gone, the work is done
                logger.warning("db.release_failed", exc_info=True)
        if isinstance(exc_val, _CONNECTION_LOST) and not isinstance(exc_val, ClientDataError):
            if own and pool.on_lost is not None:
                pool.on_lost(exc_val)
            raise ServiceUnavailable(UNREACHABLE_DETAIL, headers={"Retry-After": "5"}) from exc_val

    def __await__(self) -> Any:
        return self._acquire().__await__()

    async def _acquire(self) -> Any:
        self.done = True
        pool: GuardedPool = self.pool  # type: ignore[assignment]
        try:
            with pool.queued():
                return await pool._acquire(self.timeout)  # type: ignore[attr-defined]
        except _UNREACHABLE as exc:
            return await pool.instead(exc, self.timeout)


def _owner(connection: object) -> object:
    """The pool a pooled connection came from (None for anything else)."""
    holder = getattr(connection, "_holder", None)
    return getattr(holder, "_pool", None)


class GuardedPool(asyncpg.Pool):
    """An asyncpg pool whose connection-level failures come out as ServiceUnavailable (503).

    It also bounds its wait queue: past capacity, a request that would wait behind `queue_limit`
    others for a connection is refused at once (503, `Retry-After: 1`) instead of waiting up to
    DB_ACQUIRE_TIMEOUT_S and failing anyway, so the requests it does take are served at full speed.

    A replica's pool has a `fallback` (the primary's): when a connection cannot be had from the
    replica (refused, reset, acquire timeout), `on_lost` reports it and the caller gets one of the
    primary's instead — so a replica going down costs no request an error while the primary is up;
    with the primary down too, the answer is 503 as for any outage. A request refused because the
    wait queue is full is not sent to the primary: that is load shedding, not an outage.
    """

    queue_limit: int | None = None  # None: no bound
    waiting: int = 0
    fallback: GuardedPool | None = None
    on_lost: Callable[[BaseException], None] | None = None

    def acquire(self, *, timeout: float | None = None) -> Any:
        """Like asyncpg's, for `async with` and `await` alike, with failures translated."""
        return _GuardedAcquire(self, timeout)

    async def instead(self, exc: BaseException, wait_s: float | None) -> Any:
        """After `exc` at acquire time: the fallback pool's connection, else ServiceUnavailable."""
        if self.fallback is None:
            raise ServiceUnavailable(UNREACHABLE_DETAIL, headers={"Retry-After": "5"}) from exc
        if self.on_lost is not None:
            self.on_lost(exc)
        return await self.fallback.acquire(timeout=wait_s)

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:  # noqa: ASYNC109 (asyncpg's signature)
        """Release `connection` to the pool it came from (the fallback's, when it stood in)."""
        owner = _owner(connection)
        if isinstance(owner, GuardedPool) and owner is not self:
            await owner.release(connection, timeout=timeout)
            return
        await super().release(connection, timeout=timeout)

    @contextmanager
    def queued(self) -> Iterator[None]:
        """Count a caller waiting for a connection; refuse it when the queue is full and none is free."""
        if self.queue_limit is not None and self.waiting >= self.queue_limit and self._queue.empty():  # type: ignore[attr-defined]
            SHED.inc()
            raise ServiceUnavailable(BUSY_DETAIL, headers={"Retry-After": "1"})
        self.waiting += 1
        try:
            yield
        finally:
            self.waiting -= 1


class Database:
    """The primary pool and the replica pools of one process (and, once asked for, stateless ones)."""

    def __init__(
        self,
        primary: Pool,
        replicas: Sequence[Pool],
        *,
        read_urls: Sequence[str] = (),
        primary_url: str | None = None,
        settings: Settings | None = None,
        monitor: ReplicaMonitor | None = None,
    ) -> None:
        self.primary = primary
        self.replicas = list(replicas)
        self.monitor = monitor
        self._turn = 0
        self._read_urls = list(read_urls)
        self._primary_url = primary_url
        self._stateless_primary: Pool | None = None
        self._settings = settings
        self._stateless: list[Pool] = []
        self._stateless_ready = False
        self._stateless_lock = asyncio.Lock()
        for index, pool in enumerate(self.replicas):
            self._stand_in(pool, index)

    def _stand_in(self, pool: Pool, index: int) -> None:
        """Let the primary serve what replica `index`'s pool cannot (see GuardedPool.fallback)."""
        if (
            isinstance(pool, GuardedPool)
            and isinstance(self.primary, GuardedPool)
            and self.monitor is not None
        ):
            pool.fallback = self.primary
            pool.on_lost = functools.partial(self.monitor.lost, index)

    def _healthy_replica(self) -> int | None:
        """The index of the next healthy replica, round-robin, or None when none is."""
        healthy = self.monitor.healthy if self.monitor is not None else range(len(self.replicas))
        if not healthy:
            return None
        self._turn += 1
        return healthy[self._turn % len(healthy)]

    async def stateless_read_pool(self) -> Pool:
        """A read pool whose connections are not reset when released (one round trip less).

        Only for handlers that leave no session state behind: no SET, LISTEN, session advisory
        locks, prepared cursors outside a transaction or temporary tables. Opened on first use, one
        per read target (the replicas, else the primary), taken round-robin among the healthy
        replicas; with none healthy, the primary's ordinary pool.
        """
        if not self._stateless_ready:
            async with self._stateless_lock:
                if not self._stateless_ready:
                    if self._settings is None or not self._read_urls:
                        return self.read_pool()
                    for index, url in enumerate(self._read_urls):
                        pool = await _create_pool(url, self._settings, reset=_no_reset)
                        if self.replicas:
                            self._stand_in(pool, index)
                        self._stateless.append(pool)
                    self._stateless_ready = True
        if not self.replicas:
            return self._stateless[0]
        chosen = self._healthy_replica()
        return self.primary if chosen is None else self._stateless[chosen]

    async def stateless_primary_pool(self) -> Pool:
        """A pool on the primary whose connections are not reset when released (one round trip less).

        For single statements that leave no session state behind (authentication's lookup, which
        may also write): the same rules as `stateless_read_pool`. Without replicas that pool is the
        primary's already; with them, one more pool is opened on first use.
        """
        if not self.replicas:
            return await self.stateless_read_pool()
        if self._stateless_primary is None:
            if self._settings is None or self._primary_url is None:
                return self.primary
            async with self._stateless_lock:
                if self._stateless_primary is None:
                    self._stateless_primary = await _create_pool(
                        self._primary_url, self._settings, reset=_no_reset
                    )
        return self._stateless_primary

    def read_pool(self) -> Pool:
        """A healthy replica's pool, round-robin, or the primary when there is none."""
        index = self._healthy_replica()
        return self.primary if index is None else self.replicas[index]

    def replica_states(self) -> dict[str, dict[str, Any]]:
        """Each replica's state (ok, down or lagging) by pool label; empty without replicas."""
        return self.monitor.states() if self.monitor is not None else {}

    def pools(self) -> dict[str, Pool]:
        """Every pool by a stable label, for metrics."""
        labelled = {"primary": self.primary}
        labelled.update({f"replica{index}": pool for index, pool in enumerate(self.replicas)})
        labelled.update({f"stateless{index}": pool for index, pool in enumerate(self._stateless)})
        if self._stateless_primary is not None:
            labelled["stateless_primary"] = self._stateless_primary
        return labelled

    async def close(self) -> None:
        """Stop probing the replicas, then close every pool, waiting for connections in use."""
        if self.monitor is not None:
            await self.monitor.close()
        for pool in self.pools().values():
            await pool.close()


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Release without `RESET ALL` and friends: see Database.stateless_read_pool."""


async def _new_pool(**options: Any) -> GuardedPool:
    # asyncpg.create_pool(), with the pool class swapped for the guarded one.
    pool = GuardedPool(
        options.pop("dsn"),
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        **options,
    )
    return await pool


async def _create_pool(url: str, settings: Settings, reset: Any = None) -> GuardedPool:
    options: dict[str, Any] = {
        "dsn": url,
        "reset": reset,
        "max_size": settings.db_pool_max,
        "command_timeout": settings.statement_timeout_s + 5,
        "server_settings": {
            "application_name": "dockyard",
            "statement_timeout": str(int(settings.statement_timeout_s * 1000)),
            # PostgreSQL's default (4) prices an index lookup as a disk seek; on SSDs or a cached
            # working set that makes it prefer hash joins over a few index lookups, which measured
            # 35 % slower on the IHR lists. JIT compiling costs more than short API queries save.
            "random_page_cost": str(settings.db_random_page_cost),
            "jit": "off",
        },
    }
    try:
        pool = await _new_pool(min_size=min(settings.db_pool_min, settings.db_pool_max), **options)
    except (*_UNREACHABLE, ServiceUnavailable) as exc:
        # Start anyway: /healthz stays up, /readyz reports the outage, requests answer 503 until it is back.
        logger.warning("db.unreachable_at_start", extra={"url": redacted(url), "error": str(exc)})
        pool = await _new_pool(min_size=0, **options)
    pool.queue_limit = settings.db_acquire_queue_max or None
    return pool


async def open_database(primary_url: str, settings: Settings) -> Database:
    """Open the primary pool and one pool per configured replica, whose health is then watched."""
    primary = await _create_pool(primary_url, settings)
    replica_urls = list(settings.database_replica_urls)
    replicas = [await _create_pool(url, settings) for url in replica_urls]
    monitor = None
    if replica_urls:
        monitor = ReplicaMonitor(
            replica_urls,
            max_lag_s=settings.db_replica_max_lag_s,
            every_s=settings.db_replica_probe_s,
            timeout_s=min(settings.db_acquire_timeout_s, PROBE_TIMEOUT_S),
        )
        await monitor.start()
    db = Database(
        primary,
        replicas,
        read_urls=replica_urls or [primary_url],
        primary_url=primary_url,
        settings=settings,
        monitor=monitor,
    )
    return db


@asynccontextmanager
async def _acquire(pool: Pool, wait_s: float) -> AsyncIterator[Connection]:
    with translated_errors():
        async with pool.acquire(timeout=wait_s) as conn:
            yield conn


def _database(request: Request) -> Database:
    db: Database | None = getattr(request.app.state, "db", None)
    if db is None:
        raise ServiceUnavailable("The database is not configured for this process.")
    return db


@raises(409, 503, 504)
async def get_conn(request: Request) -> AsyncIterator[Connection]:
    """A primary connection inside a transaction that commits when the handler returns.

    Used with `scope="function"` (see `Conn`): the transaction commits, or fails, before the
    response starts, so a 2xx always means the data is committed and a failing COMMIT (a deferred
    constraint, a serialization failure, a lost connection) is answered as an error instead.
    """
    settings: Settings = request.app.state.settings
    async with _acquire(_database(request).primary, settings.db_acquire_timeout_s) as conn:
        with translated_errors():
            async with conn.transaction():
                yield conn


@raises(503, 504)
async def get_read_conn(request: Request) -> AsyncIterator[Connection]:
    """A connection for read-only work: a replica when configured, else the primary."""
    settings: Settings = request.app.state.settings
    async with _acquire(_database(request).read_pool(), settings.db_acquire_timeout_s) as conn:
        yield conn


Conn = Annotated[Connection, Depends(get_conn, scope="function")]
ReadConn = Annotated[Connection, Depends(get_read_conn)]


def install_db_error_handlers(app: FastAPI) -> None:
    """Map database exceptions escaping a handler to 409/503/504 in the path's error style."""

    async def on_db_error(request: Request, exc: Exception) -> Response:
        mapped = translate(exc)
        if mapped is None:
            raise exc
        styles = request.app.state.error_styles
        return styles.for_path(request.url.path)(request, mapped.status, mapped.detail, mapped.headers)  # type: ignore[no-any-return]

    app.add_exception_handler(asyncpg.PostgresError, on_db_error)
    app.add_exception_handler(asyncpg.InterfaceError, on_db_error)
