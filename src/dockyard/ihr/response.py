"""Stage 3: the answer to a list request — DRF's envelope, links, caching headers, errors.

`answer` is the whole request: the format check, the plan (stage 1), the rows (stage 2, `queries`)
and the response. A small page is one body with an ETag; a large one is streamed from the cursor.
Errors are DRF's bodies with `Content-Type: application/json`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from urllib.parse import parse_qsl, urlencode

import asyncpg
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from dockyard.core.config import Settings
from dockyard.core.db import Database
from dockyard.core.http import GZIP_LEVEL, accepts_gzip
from dockyard.ihr import plan, queries
from dockyard.ihr.cache import PageCache, SharedStream, StoredPage, canonical_key
from dockyard.ihr.endpoint import Caching, Endpoint
from dockyard.ihr.plan import FilterErrors, InvalidPage, ParseError, Plan, plan_for

CONTENT_TYPE = "application/json"


def absolute_base(request: Request) -> str:
    """`scheme://host/path` of the request, as the client (behind a proxy) sent it."""
    headers = request.headers
    scheme = headers.get("x-forwarded-proto", "").split(",")[0].strip() or request.url.scheme
    host = (
        headers.get("x-forwarded-host", "").split(",")[0].strip() or headers.get("host") or request.url.netloc
    )
    return f"{scheme}://{host}{request.url.path}"


def page_link(request: Request, page: int | None) -> str:
    """The URL of `page` keeping every other parameter (DRF: sorted, re-encoded; page 1 has none)."""
    pairs = [
        (key, value) for key, value in parse_qsl(request.url.query, keep_blank_values=True) if key != "page"
    ]
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    if page is not None:
        grouped["page"] = [str(page)]
    query = urlencode(sorted(grouped.items()), doseq=True)
    base = absolute_base(request)
    return f"{base}?{query}" if query else base


def envelope_head(request: Request, count: int, page: int, rows_before: int) -> bytes:
    """`{"count":…,"next":…,"previous":…,"results":[` for `page`."""
    has_next = rows_before + plan.PAGE_SIZE < count
    next_url = page_link(request, page + 1) if has_next else None
    previous_url = None if page == 1 else page_link(request, None if page == 2 else page - 1)
    return (
        b'{"count":'
        + str(count).encode()
        + b',"next":'
        + orjson.dumps(next_url)
        + b',"previous":'
        + orjson.dumps(previous_url)
        + b',"results":['
    )


def cache_control(endpoint: Endpoint, planned: Plan) -> int:
    """The legacy max-age in seconds: long for explicit windows over a week old, where the view set it."""
    seconds = endpoint.caching.value
    if endpoint.history_cache is not None and planned.old_window is not None:
        seconds = Caching.HISTORY.value if planned.old_window else endpoint.history_cache.value
    return seconds


def etag_for(body: bytes) -> str:
    """A strong ETag of a page body."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    if not wanted:
        return False
    return wanted.strip() == "*" or etag in [tag.strip().removeprefix("W/") for tag in wanted.split(",")]


def _page_response(request: Request, body: bytes, headers: dict[str, str]) -> Response:
    etag = etag_for(body)
    headers["ETag"] = etag
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=CONTENT_TYPE, headers=headers)


def page_ttl(endpoint: Endpoint, planned: Plan, *, now: dt.datetime | None = None) -> float:
    """How long a page can be kept: until its data next changes, or for good once its window is closed.

    A window that reaches the present (or has no end) changes with the data's cadence (15 minutes for
    the time series); one that ended more than two cadences ago no longer does.
    """
    now = now or dt.datetime.now(dt.UTC)
    closed_before = now - dt.timedelta(seconds=2 * endpoint.cadence_s)
    if planned.window_end is not None and planned.window_end < closed_before:
        return float(Caching.HISTORY.value)
    return float(endpoint.cadence_s)


Page = bytes | SharedStream
"""A small page's whole body, or a large page being read once for every request that wants it."""


def _stored_response(
    request: Request, page: StoredPage, headers: dict[str, str], settings: Settings
) -> Response:
    """A cached page, gzip-encoded once for every client that accepts it (not on each hit)."""
    body, etag = page.body, page.etag
    if len(body) >= settings.gzip_min_bytes and accepts_gzip(request.headers.get("accept-encoding", "")):
        # The same ETag as the page the GZip middleware encodes on the way out: one per content.
        body = page.gzip(GZIP_LEVEL)
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept, Accept-Encoding"
    headers["ETag"] = etag
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=CONTENT_TYPE, headers=headers)


async def respond(
    request: Request,
    endpoint: Endpoint,
    planned: Plan,
    db: Database,
    settings: Settings,
    cache: PageCache | None = None,
) -> Response:
    """Answer a planned request from the page cache, else with one read shared by identical requests."""
    headers = {"Cache-Control": f"max-age={cache_control(endpoint, planned)}", "Vary": "Accept"}
    base = absolute_base(request)
    if cache is None:
        page: Page = await load_page(request, base, endpoint, planned, db, settings)
    else:
        key = canonical_key(base, parse_qsl(request.url.query, keep_blank_values=True))
        cached = await cache.get(key)
        if cached is not None:
            return _stored_response(request, cached, headers, settings)
        ttl = page_ttl(endpoint, planned)
        page = await cache.single_flight(
            key,
            lambda: load_page(request, base, endpoint, planned, db, settings, cache=cache, key=key, ttl=ttl),
        )
    if isinstance(page, bytes):
        return _page_response(request, page, headers)
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        # One encoding for every client waiting on this page; the GZip middleware passes it through.
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept, Accept-Encoding"
        return StreamingResponse(page.subscribe(gzip=True), media_type=CONTENT_TYPE, headers=headers)
    return StreamingResponse(page.subscribe(), media_type=CONTENT_TYPE, headers=headers)


async def load_page(
    request: Request,
    base: str,
    endpoint: Endpoint,
    planned: Plan,
    db: Database,
    settings: Settings,
    *,
    cache: PageCache | None = None,
    key: str = "",
    ttl: float = 0,
) -> Page:
    """Read the page: one query when it is small (kept in the cache), else a shared stream."""
    wait_s = settings.db_acquire_timeout_s
    pool = await db.stateless_read_pool()
    page = planned.page
    if page == -1:
        total = await queries.count_rows(pool, endpoint=endpoint, planned=planned, wait_s=wait_s)
        page = max(1, -(-total // plan.PAGE_SIZE))
    offset = (page - 1) * plan.PAGE_SIZE
    text, rows = await queries.small_page(
        pool, endpoint=endpoint, planned=planned, offset=offset, wait_s=wait_s
    )
    if rows <= queries.SMALL_PAGE:
        if rows == 0 and page > 1:
            raise InvalidPage
        body = envelope_head(request, offset + rows, page, offset) + (text or "").encode() + b"]}"
        if cache is not None:
            await cache.put(key, body, ttl)
        return body

    async def produce(stream: SharedStream) -> None:
        async with queries.streamed_page(
            pool, endpoint=endpoint, planned=planned, offset=offset, page_size=plan.PAGE_SIZE, wait_s=wait_s
        ) as (count, batches):
            stream.append(envelope_head(request, count, page, offset))
            separator = b""
            async for batch in batches:
                stream.append(separator + batch)
                separator = b","
            stream.append(b"]}")
        if cache is not None:
            size = sum(len(chunk) for chunk in stream.chunks)
            if cache.local is not None and size <= cache.local.max_bytes // 2:
                await cache.put(key, b"".join(stream.chunks), ttl)

    return SharedStream(produce)


def errors_response(status: int, content: Any) -> Response:
    """A DRF error body."""
    return Response(orjson.dumps(content), status_code=status, media_type=CONTENT_TYPE)


async def answer(request: Request, endpoint: Endpoint) -> Response:
    """The whole request: format check, rules, filters, page, response (errors in DRF's shape)."""
    query = _single_values(request)
    fmt = query.get("format")
    if fmt not in (None, "", "json", "api"):  # an empty format means none, as in DRF
        return errors_response(404, {"detail": "Not found."})
    try:
        planned = plan_for(endpoint, query)
        state = request.app.state
        cache = getattr(state, "ihr_cache", None)
        return await respond(request, endpoint, planned, state.db, state.settings, cache)
    except ParseError as exc:
        return errors_response(400, {"detail": str(exc)})
    except FilterErrors as exc:
        return errors_response(400, exc.errors)
    except InvalidPage:
        return errors_response(404, {"detail": "Invalid page."})
    except asyncpg.DataError as exc:  # a value PostgreSQL refuses (out of its range): no match
        return errors_response(400, {"detail": f"A parameter value is out of range: {exc}"})


def _single_values(request: Request) -> dict[str, str]:
    """Django's QueryDict.get: the last value of a repeated parameter."""
    return dict(request.query_params.items())
