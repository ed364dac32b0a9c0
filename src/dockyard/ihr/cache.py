"""The IHR page cache: an in-process tier bounded in bytes, Redis behind it, and single-flight.

A page is keyed by its canonical request — scheme, host and path as the client sees them (the
`next` and `previous` links depend on them) and the parameters grouped by name in a fixed order —
and never by headers that do not change the answer (Accept, Accept-Encoding, If-None-Match, cookies,
user agent). It is kept for as long as its data can stay the same (`response.page_ttl`: the data's
update cadence for windows that reach the present, IHR_CACHE_TTL_S for closed ones).

- The in-process tier (IHR_PAGE_CACHE_BYTES, per worker) answers a repeated page without a round
  trip; least recently used pages go first once the bound is reached.
- Redis (with REDIS_URL) is the second tier, shared by workers and hosts. Redis being slow or down
  never fails a request: the page is then read from PostgreSQL.
- Single-flight: identical requests arriving while a page is being read wait for that one read.
  A large page is read once from its cursor and streamed to every request that asked for it
  (`SharedStream`), gzip-encoded once for all the clients that accept it; if every one of them
  goes away, the read is cancelled.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sized
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis
from fastapi import FastAPI
from redis.exceptions import RedisError

from dockyard.core.config import Settings
from dockyard.core.http import GZIP_STREAM_LEVEL
from dockyard.core.services import settings_of
from dockyard.ihr.settings import IhrSettings

logger = logging.getLogger(__name__)

KEY_PREFIX = "dockyard:ihr:page:"
T = TypeVar("T")


def canonical_key(base: str, pairs: list[tuple[str, str]]) -> str:
    """One key per answer: `base` (scheme, host, path) and the parameters grouped by name, names sorted.

    Values of a repeated parameter keep their order (the last one is the one that filters).
    """
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    canonical = base + "?" + "&".join(f"{name}={values!r}" for name, values in sorted(grouped.items()))
    return KEY_PREFIX + hashlib.blake2b(canonical.encode(), digest_size=20).hexdigest()


class StoredPage:
    """A cached page: its body, its ETag, and its gzip encoding once a client has asked for it.

    Compressing a page once instead of on every hit is most of what a cache hit would otherwise
    cost (a 400 KB page takes about 5 ms to gzip).
    """

    __slots__ = ("body", "etag", "gzipped")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
        self.gzipped: bytes | None = None

    def __len__(self) -> int:
        return len(self.body) + len(self.gzipped or b"")

    def gzip(self, level: int) -> bytes:
        """The body gzip-encoded (made once), as the GZip middleware would encode it."""
        if self.gzipped is None:
            compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
            self.gzipped = compressor.compress(self.body) + compressor.flush()
        return self.gzipped


V = TypeVar("V", bound=Sized)


class LocalPages(Generic[V]):
    """Pages in this process: least recently used first out once `max_bytes` is reached."""

    def __init__(self, max_bytes: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._clock = clock
        self._pages: OrderedDict[str, tuple[V, float]] = OrderedDict()
        self._sizes: dict[str, int] = {}  # as counted when kept

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: str) -> V | None:
        """The page while it is fresh, else None (an expired page is dropped)."""
        found = self._pages.get(key)
        if found is None:
            return None
        body, expires = found
        if self._clock() >= expires:
            self._drop(key)
            return None
        self._pages.move_to_end(key)
        return body

    def put(self, key: str, body: V, ttl_s: float) -> None:
        """Keep `body` for `ttl_s` seconds, evicting the least recently used pages to make room."""
        if len(body) > self.max_bytes or ttl_s <= 0:
            return
        if key in self._pages:
            self._drop(key)
        while self._pages and self.size + len(body) > self.max_bytes:
            self._drop(next(iter(self._pages)))
        self._pages[key] = (body, self._clock() + ttl_s)
        self._sizes[key] = len(body)
        self.size += len(body)

    def _drop(self, key: str) -> None:
        body, _ = self._pages.pop(key)
        self.size -= self._sizes.pop(key, len(body))


class RedisPages:
    """Get and put page bodies in Redis; every Redis error is logged and treated as a miss."""

    def __init__(self, url: str) -> None:
        self.client = aioredis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def get(self, key: str) -> bytes | None:
        try:
            body = await self.client.get(key)
        except (RedisError, OSError) as exc:
            logger.warning("ihr page cache unavailable", extra={"error": str(exc)})
            return None
        return body if isinstance(body, bytes) else None

    async def get_with_ttl(self, key: str) -> tuple[bytes | None, float]:
        """The page and the seconds it has left (0 when absent or Redis is unavailable)."""
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.pttl(key)
                body, ttl_ms = await pipe.execute()
        except (RedisError, OSError) as exc:
            logger.warning("ihr page cache unavailable", extra={"error": str(exc)})
            return None, 0
        if not isinstance(body, bytes):
            return None, 0
        return body, max(0, ttl_ms) / 1000

    async def put(self, key: str, body: bytes, ttl_s: float) -> None:
        try:
            await self.client.set(key, body, px=max(1000, int(ttl_s * 1000)))
        except (RedisError, OSError) as exc:
            logger.warning("ihr page cache unavailable", extra={"error": str(exc)})

    async def close(self) -> None:
        await self.client.aclose()


class SharedStream:
    """A large page read once, sent to every subscriber: chunks kept until the last one has read them.

    Subscribers that accept gzip share one encoding too (`subscribe(gzip=True)`): the first one to
    need an encoded chunk compresses it for all, so a burst of clients costs one compression, not
    one per client (16 clients on a 100,000-row page spent most of their time compressing it).

    `produce` appends chunks and returns when the page is complete; it runs as its own task, so a
    subscriber going away (a client disconnecting) never interrupts it half-way through a database
    call — the task is cancelled cleanly once no subscriber is left, which ends the query and
    rolls back its transaction before the connection returns to the pool.
    """

    def __init__(self, produce: Callable[[SharedStream], Awaitable[None]]) -> None:
        self.chunks: list[bytes] = []
        self.done = False
        self.error: BaseException | None = None
        self._changed = asyncio.Event()
        self._subscribers = 0
        self._gzipped: list[bytes] = []
        self._compressor: zlib._Compress | None = None
        self._task = asyncio.create_task(self._run(produce))

    async def _run(self, produce: Callable[[SharedStream], Awaitable[None]]) -> None:
        try:
            await produce(self)
        except asyncio.CancelledError:
            self.error = ConnectionAbortedError("every client went away")
            raise
        except Exception as exc:  # handed to the subscribers, who raise it in their response
            self.error = exc
        finally:
            self.done = True
            self._changed.set()

    def append(self, chunk: bytes) -> None:
        """Add a chunk and wake the subscribers."""
        self.chunks.append(chunk)
        self._changed.set()

    @property
    def task(self) -> asyncio.Task[None]:
        """The task reading the page (tests wait on it)."""
        return self._task

    def _encoded(self, index: int) -> bytes | None:
        """Gzip chunk `index`, compressing the page's chunks up to it if no subscriber did yet.

        The stream ends with the compressor's final block once the page is complete; None while
        chunk `index` cannot be made yet.
        """
        if self._compressor is None:
            self._compressor = zlib.compressobj(GZIP_STREAM_LEVEL, zlib.DEFLATED, 31)
        while len(self._gzipped) <= index:
            source = len(self._gzipped)
            if source < len(self.chunks):
                encoded = self._compressor.compress(self.chunks[source])
                self._gzipped.append(encoded + self._compressor.flush(zlib.Z_SYNC_FLUSH))
            elif source == len(self.chunks) and self.done and self.error is None:
                self._gzipped.append(self._compressor.flush(zlib.Z_FINISH))
            else:
                return None
        return self._gzipped[index]

    def _ready(self, index: int, gzip: bool) -> bytes | None:
        if gzip:
            return self._encoded(index)
        return self.chunks[index] if index < len(self.chunks) else None

    async def subscribe(self, *, gzip: bool = False) -> AsyncIterator[bytes]:
        """Every chunk of the page, from the first, as they come (gzip-encoded when `gzip`)."""
        self._subscribers += 1
        sent = 0
        try:
            while True:
                chunk = self._ready(sent, gzip)
                while chunk is not None:
                    sent += 1
                    yield chunk
                    chunk = self._ready(sent, gzip)
                if self.done and (not gzip or self.error is not None or sent == len(self.chunks) + 1):
                    if self.error is not None:
                        raise self.error
                    return
                self._changed.clear()
                await self._changed.wait()
        finally:
            self._subscribers -= 1
            if self._subscribers == 0 and not self.done:
                self._task.cancel()


class PageCache:
    """The tiers and the flights in progress of one worker."""

    def __init__(
        self, *, local: LocalPages[StoredPage] | None, remote: RedisPages | None, max_ttl_s: int
    ) -> None:
        self.local = local
        self.remote = remote
        self.max_ttl_s = max_ttl_s
        self._flights: dict[str, asyncio.Future[Any]] = {}

    async def get(self, key: str) -> StoredPage | None:
        """The page from this process, else from Redis (then kept here for the time it has left)."""
        if self.local is not None:
            page = self.local.get(key)
            if page is not None:
                return page
        if self.remote is None:
            return None
        if self.local is None:
            body = await self.remote.get(key)
            return None if body is None else StoredPage(body)
        body, ttl_s = await self.remote.get_with_ttl(key)
        if body is None:
            return None
        page = StoredPage(body)
        self.local.put(key, page, ttl_s)
        return page

    async def put(self, key: str, body: bytes, ttl_s: float) -> None:
        """Keep the page in every tier for `ttl_s` seconds (at most IHR_CACHE_TTL_S)."""
        ttl_s = min(ttl_s, self.max_ttl_s)
        if self.local is not None:
            self.local.put(key, StoredPage(body), ttl_s)
        if self.remote is not None:
            await self.remote.put(key, body, ttl_s)

    async def single_flight(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """`load()`'s result, run once for every caller that asks for `key` while it runs.

        It runs as a task of its own: a caller that goes away does not cancel it for the others.
        """
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(load())
            self._flights[key] = flight
            flight.add_done_callback(lambda _: self._flights.pop(key, None))
        result: T = await asyncio.shield(flight)
        return result

    async def close(self) -> None:
        if self.remote is not None:
            await self.remote.close()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the page cache (`app.state.ihr_cache`; None when IHR_CACHE_TTL_S is 0)."""
    settings: Settings = app.state.settings
    ihr = settings_of(app, IhrSettings)
    cache = None
    if ihr.cache_ttl_s > 0:
        local: LocalPages[StoredPage] | None = (
            LocalPages(ihr.page_cache_bytes) if ihr.page_cache_bytes > 0 else None
        )
        remote = RedisPages(settings.redis_url.get_secret_value()) if settings.redis_url is not None else None
        cache = PageCache(local=local, remote=remote, max_ttl_s=ihr.cache_ttl_s)
    app.state.ihr_cache = cache
    try:
        yield
    finally:
        if cache is not None:
            await cache.close()
