"""The polite arXiv client: one call at a time and one every ARXIV_SPACING_S, for the whole deployment.

arXiv's terms allow one request every 3 seconds over a single connection (specs/arxiv.md §C). Every
worker process and replica takes its turn through PostgreSQL: a transaction holds an advisory lock,
reads when the last call ended (`arxiv.upstream_clock`), waits out the spacing, calls, and records
the end of its call before the lock is released. Inside one process an asyncio lock keeps waiting
callers to one database connection, and httpx keeps to one connection.

Answers are cached for ARXIV_CACHE_TTL_S under the canonical request (`arxiv.api_cache`); the cache
is read again once the lock is held, so two workers asking the same page call arXiv once. HTTP 429,
5xx and empty pages (arXiv reports results but sends none) are retried with exponential backoff.
What is left after the retries becomes the error the caller sees:

    arXiv's error entry       400 with arXiv's message (never cached, never a paper)
    unreachable               502
    other HTTP status, not Atom, empty pages    502
    429/503 after retries     503 with Retry-After
    no answer in time         504
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from dockyard import __version__
from dockyard.arxiv.atom import ArxivQueryError, AtomError, Feed, parse_feed
from dockyard.arxiv.settings import ArxivSettings
from dockyard.arxiv.syntax import Request
from dockyard.core.db import Pool
from dockyard.core.errors import BadInput, DockyardError, GatewayTimeout, ServiceUnavailable

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock key of "the arXiv connection" ('arxiv' in ASCII).
UPSTREAM_LOCK = 0x6172786976
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BUSY_STATUSES = frozenset({429, 503})

CACHED = """
SELECT status, body FROM arxiv.api_cache
WHERE key = $1 AND fetched_at > clock_timestamp() - make_interval(secs => $2)
"""
REMEMBER = """
INSERT INTO arxiv.api_cache (key, fetched_at, status, body) VALUES ($1, clock_timestamp(), $2, $3)
ON CONFLICT (key) DO UPDATE
SET fetched_at = excluded.fetched_at, status = excluded.status, body = excluded.body
"""
FORGET_OLD = "DELETE FROM arxiv.api_cache WHERE fetched_at < clock_timestamp() - make_interval(secs => $1)"
WAIT_S = """
SELECT greatest(0, extract(epoch FROM last_call_at + make_interval(secs => $1) - clock_timestamp()))::float8
FROM arxiv.upstream_clock
"""
CALLED = "UPDATE arxiv.upstream_clock SET last_call_at = clock_timestamp()"


class UpstreamFailed(DockyardError):
    """arXiv could not be reached, or answered with something that is not a usable feed."""

    status = 502


@dataclass(frozen=True)
class Page:
    """One slice's answer."""

    feed: Feed
    status: int
    from_cache: bool


@dataclass
class _Call:
    """What one call to arXiv gave: an answer, or the transport error raised in its place."""

    status: int = 0
    body: bytes = b""
    retry_after_s: float | None = None
    error: httpx.HTTPError | None = None
    page: Page | None = None
    failure: DockyardError | None = None  # a final answer: arXiv's error entry, or not Atom


def user_agent(settings: ArxivSettings) -> str:
    """The User-Agent naming this deployment's contact, as arXiv asks of API clients."""
    contact = settings.contact or "contact not configured: set ARXIV_CONTACT"
    return f"Dockyard/{__version__} (arXiv query recorder; {contact})"


class ArxivClient:
    """Calls arXiv for one process; every caller of every process shares the spacing."""

    def __init__(
        self, settings: ArxivSettings, pool: Pool, *, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.settings = settings
        self.pool = pool
        self._turn = asyncio.Lock()
        self._http = httpx.AsyncClient(
            headers={"User-Agent": user_agent(settings), "Accept": "application/atom+xml"},
            timeout=httpx.Timeout(settings.timeout_s),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            follow_redirects=True,
            transport=transport,
        )
        self._host = urlsplit(settings.api_url).netloc

    async def aclose(self) -> None:
        """Close the connection to arXiv."""
        await self._http.aclose()

    async def fetch(self, request: Request) -> Page:
        """One slice of a search: from the cache, or from arXiv politely, retried as configured."""
        key = request.canonical()
        cached = await self._from_cache(key, request)
        if cached is not None:
            return cached
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            call = await self._call(key, request)
            if call.failure is not None:
                raise call.failure
            if call.page is not None and (call.page.from_cache or not self._is_empty(call.page, request)):
                return call.page
            last = attempt == attempts
            if call.error is not None:
                raise self._transport_error(call.error)
            if call.page is None and call.status not in RETRY_STATUSES:
                raise self._status_error(call)
            if last:
                raise self._exhausted(call, attempts)
            delay = self.settings.backoff_s * 2 ** (attempt - 1)
            if call.retry_after_s is not None:
                delay = max(delay, min(call.retry_after_s, 300.0))
            logger.warning(
                "arxiv.retry",
                extra={"status": call.status, "attempt": attempt, "delay_s": delay, "query": key},
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _from_cache(self, key: str, request: Request) -> Page | None:
        if self.settings.cache_ttl_s <= 0:
            return None
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(CACHED, key, float(self.settings.cache_ttl_s))
        if row is None:
            return None
        feed = await asyncio.to_thread(parse_feed, row["body"])
        return Page(feed, row["status"], from_cache=True)

    async def _call(self, key: str, request: Request) -> _Call:
        """Take the deployment's turn, call arXiv once, and record the call's end."""
        async with self._turn, self.pool.acquire() as conn, conn.transaction():
            # Waiting for the turn may take longer than a statement is otherwise allowed.
            await conn.execute("SET LOCAL statement_timeout = 0")
            await conn.execute("SELECT pg_advisory_xact_lock($1)", UPSTREAM_LOCK)
            if self.settings.cache_ttl_s > 0:
                row = await conn.fetchrow(CACHED, key, float(self.settings.cache_ttl_s))
                if row is not None:
                    feed = await asyncio.to_thread(parse_feed, row["body"])
                    return _Call(status=row["status"], page=Page(feed, row["status"], from_cache=True))
            wait_s = await conn.fetchval(WAIT_S, self.settings.spacing_s)
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            call = await self._get(request)
            await conn.execute(CALLED)
            if call.error is None and call.status == 200:
                page = await self._parse(call, request)
                if page is not None and not self._is_empty(page, request) and self.settings.cache_ttl_s > 0:
                    await conn.execute(REMEMBER, key, call.status, call.body)
                    await conn.execute(FORGET_OLD, float(self.settings.cache_ttl_s))
            elif call.error is None and call.status not in RETRY_STATUSES:
                await self._parse(call, request)  # an error entry says why better than the status
            return call

    async def _get(self, request: Request) -> _Call:
        url = f"{self.settings.api_url}?{request.query_string()}"
        began = time.monotonic()
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                response = await self._http.get(url)
        except TimeoutError:
            return _Call(error=httpx.ReadTimeout(f"no answer within {self.settings.timeout_s:g} s"))
        except httpx.HTTPError as exc:
            return _Call(error=exc)
        logger.log(
            25,
            "arxiv.call",
            extra={
                "status": response.status_code,
                "bytes": len(response.content),
                "duration_ms": round((time.monotonic() - began) * 1000),
                "start": request.start,
                "max_results": request.max_results,
            },
        )
        retry_after = response.headers.get("retry-after", "")
        return _Call(
            status=response.status_code,
            body=response.content,
            retry_after_s=float(retry_after) if retry_after.isdigit() else None,
        )

    @staticmethod
    async def _parse(call: _Call, request: Request) -> Page | None:
        """Read the body into `call.page`, or arXiv's error entry into `call.failure` (never retried)."""
        try:
            feed = await asyncio.to_thread(parse_feed, call.body)
        except ArxivQueryError as exc:
            call.failure = BadInput(f"arXiv refused the query: {exc}")
            return None
        except AtomError:
            if call.status == 200:
                call.failure = UpstreamFailed(
                    f"arXiv answered with a document that is not an Atom feed (start={request.start})"
                )
            return None
        call.page = Page(feed, call.status, from_cache=False)
        return call.page

    @staticmethod
    def _is_empty(page: Page, request: Request) -> bool:
        # arXiv sometimes answers a page with no entries although it reports more results.
        return not page.feed.entries and page.feed.total_results > request.start and request.max_results > 0

    def _transport_error(self, error: httpx.HTTPError) -> DockyardError:
        if isinstance(error, httpx.TimeoutException):
            return GatewayTimeout(
                f"arXiv ({self._host}) did not answer within {self.settings.timeout_s:g} s; "
                "try again later or ask for fewer results"
            )
        return UpstreamFailed(
            f"Could not reach arXiv at {self._host}: {error or type(error).__name__}. "
            "Check the network, or ARXIV_API_URL."
        )

    @staticmethod
    def _status_error(call: _Call) -> DockyardError:
        return UpstreamFailed(f"arXiv answered HTTP {call.status} instead of a feed; try again later")

    @staticmethod
    def _exhausted(call: _Call, attempts: int) -> DockyardError:
        if call.page is not None:
            return UpstreamFailed(
                f"arXiv kept answering empty pages ({attempts} attempts) although it reports "
                f"{call.page.feed.total_results} results; try again later"
            )
        if call.status in BUSY_STATUSES:
            return ServiceUnavailable(
                f"arXiv is busy (HTTP {call.status}, {attempts} attempts); try again in a minute",
                headers={"Retry-After": "60"},
            )
        return UpstreamFailed(f"arXiv answered HTTP {call.status} ({attempts} attempts); try again later")
