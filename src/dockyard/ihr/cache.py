"""An optional Redis cache of IHR list pages, keyed on the canonical request.

Off unless both REDIS_URL and IHR_CACHE_TTL_S are set. Only pages answered from one query (not
streamed ones) are kept, for at most IHR_CACHE_TTL_S and never longer than their Cache-Control
max-age. Redis being slow or down never fails a request: the page is then read from PostgreSQL.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

import redis.asyncio as aioredis
from fastapi import FastAPI
from redis.exceptions import RedisError
from starlette.requests import Request

from dockyard.core.config import Settings
from dockyard.core.services import settings_of
from dockyard.ihr.settings import IhrSettings

logger = logging.getLogger(__name__)

KEY_PREFIX = "dockyard:ihr:page:"


def cache_key(request: Request, base: str) -> str:
    """The same key for the same page whatever the parameters' order (`base`: scheme, host, path)."""
    pairs = sorted(parse_qsl(request.url.query, keep_blank_values=True))
    canonical = base + "?" + "&".join(f"{key}={value}" for key, value in pairs)
    return KEY_PREFIX + hashlib.blake2b(canonical.encode(), digest_size=20).hexdigest()


class PageCache:
    """Get and put page bodies in Redis; every Redis error is logged and treated as a miss."""

    def __init__(self, url: str, ttl_s: int) -> None:
        self.client = aioredis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.ttl_s = ttl_s

    async def get(self, key: str) -> bytes | None:
        try:
            body = await self.client.get(key)
        except (RedisError, OSError) as exc:
            logger.warning("ihr page cache unavailable", extra={"error": str(exc)})
            return None
        return body if isinstance(body, bytes) else None

    async def put(self, key: str, body: bytes, max_age_s: int) -> None:
        try:
            await self.client.set(key, body, ex=max(1, min(self.ttl_s, max_age_s)))
        except (RedisError, OSError) as exc:
            logger.warning("ihr page cache unavailable", extra={"error": str(exc)})

    async def close(self) -> None:
        await self.client.aclose()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the page cache when configured (`app.state.ihr_cache`, else None)."""
    settings: Settings = app.state.settings
    ttl_s = settings_of(app, IhrSettings).cache_ttl_s
    cache = None
    if settings.redis_url is not None and ttl_s > 0:
        cache = PageCache(settings.redis_url.get_secret_value(), ttl_s)
    app.state.ihr_cache = cache
    try:
        yield
    finally:
        if cache is not None:
            await cache.close()
