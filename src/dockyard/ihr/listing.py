"""One engine for every IHR list endpoint: filters → SQL, JSON built by PostgreSQL, DRF's envelope.

An endpoint is declared as data (`Endpoint`: table, output fields, filters, rules). A request is
answered in one round trip when its page is small: PostgreSQL filters, orders, pages and renders
each row as JSON text, and the count is `offset + rows` because the page is not full. A large page
is streamed from a server-side cursor inside a read-only snapshot, after a count that stops at the
page's end unless more pages follow. Python never holds more than one fetch batch of rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl, urlencode

import asyncpg
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from dockyard.core.config import Settings
from dockyard.core.db import Database, translated_errors
from dockyard.core.like import contains_pattern
from dockyard.core.types import BIGINT_MAX, BIGINT_MIN
from dockyard.ihr import params
from dockyard.ihr.cache import PageCache, cache_key
from dockyard.ihr.params import Invalid

PAGE_SIZE = 100_000
SMALL_PAGE = 5_000  # rows answered from one query; a bigger page is streamed
FETCH_BATCH = 5_000  # rows per cursor fetch while streaming
CONTENT_TYPE = "application/json"

# --- output fields: how PostgreSQL renders each value as JSON text ---------------------------------


class Kind(Enum):
    INT = "int"
    FLOAT = "float"
    TEXT = "text"
    BOOL = "bool"
    TIME = "time"
    JSON = "json"  # a jsonb/json column or an expression already producing JSON


def render(kind: Kind, sql: str) -> str:
    """SQL turning `sql` into its JSON text the way DRF rendered it (None → null)."""
    if kind is Kind.INT:
        text = f"({sql})::text"
    elif kind is Kind.FLOAT:
        # Python prints integral floats as 1.0; PostgreSQL as 1. NaN/Infinity are not JSON: null.
        text = (
            f"CASE WHEN ({sql}) = trunc({sql}) AND abs({sql}) < 1e16 THEN trunc({sql})::bigint::text || '.0' "
            f"WHEN ({sql}) IN ('NaN', 'Infinity', '-Infinity') THEN 'null' ELSE ({sql})::text END"
        )
    elif kind is Kind.TEXT:
        text = f"to_json(({sql})::text)::text"
    elif kind is Kind.BOOL:
        text = f"CASE WHEN {sql} THEN 'true' ELSE 'false' END"
    elif kind is Kind.TIME:
        # "2024-05-01T00:00:00Z" (fraction only when non-zero), as DRF printed UTC datetimes.
        text = f"""rtrim(to_json(({sql}) AT TIME ZONE 'UTC')::text, '"') || 'Z"'"""
    else:
        text = f"({sql})::text"
    return f"coalesce({text}, 'null')"


@dataclass(frozen=True)
class Out:
    """One output field: its JSON name, SQL expression and kind."""

    name: str
    sql: str
    kind: Kind


def row_sql(fields: Sequence[Out]) -> str:
    """SQL building one JSON object per row by concatenation (faster than json_build_object)."""
    parts = []
    for index, out in enumerate(fields):
        prefix = "{" if index == 0 else ","
        parts.append(f"'{prefix}\"{out.name}\":' || {render(out.kind, out.sql)}")
    return " || ".join(parts) + " || '}'"


# --- filters -------------------------------------------------------------------------------------


class Op(Enum):
    EXACT = "="
    GTE = ">="
    LTE = "<="


@dataclass(frozen=True)
class Condition:
    """A piece of WHERE clause with `{}` placeholders for its arguments, in order."""

    sql: str
    args: tuple[Any, ...] = ()


FALSE = Condition("false")

Parse = Callable[[str], Condition | None]
"""Parse one parameter's raw value into a condition (None: no filter); raise Invalid when bad."""


@dataclass(frozen=True)
class Filter:
    """A query parameter and how it filters."""

    param: str
    parse: Parse


def number(param: str, column: str, op: Op = Op.EXACT, *, integer: bool = False) -> Filter:
    """`param` compared with a number; integer columns keep their index (no numeric cast)."""

    def parse(raw: str) -> Condition | None:
        value = params.number(raw)
        if not integer:
            return Condition(f"{column} {op.value} {{}}::float8", (float(value),))
        whole = value.to_integral_value(rounding="ROUND_CEILING" if op is Op.GTE else "ROUND_FLOOR")
        if op is Op.EXACT and whole != value:
            return FALSE
        bounded = int(whole)
        if bounded > BIGINT_MAX:
            return FALSE if op in (Op.EXACT, Op.GTE) else None
        if bounded < BIGINT_MIN:
            return FALSE if op in (Op.EXACT, Op.LTE) else None
        return Condition(f"{column} {op.value} {{}}::bigint", (bounded,))

    return Filter(param, parse)


def numbers(param: str, column: str, *, integer: bool = True) -> list[Filter]:
    """`param`, `param__gte` and `param__lte`."""
    return [
        number(param, column, Op.EXACT, integer=integer),
        number(f"{param}__gte", column, Op.GTE, integer=integer),
        number(f"{param}__lte", column, Op.LTE, integer=integer),
    ]


def _in(column: str, values: Sequence[Any], sql_type: str) -> Condition:
    # One value is compared with `=`: the planner then knows an index on (column, timebin) returns
    # rows in timebin order, which `= ANY(array)` does not tell it.
    if not values:
        return FALSE
    if len(values) == 1:
        return Condition(f"{column} = {{}}::{sql_type}", (values[0],))
    return Condition(f"{column} = ANY({{}}::{sql_type}[])", (list(values),))


def integer_list(param: str, column: str) -> Filter:
    """`asn=1,2,3` → `column IN (…)`."""

    def parse(raw: str) -> Condition | None:
        values = params.integer_list(raw)
        return _in(column, values, "bigint")

    return Filter(param, parse)


def string_list(param: str, column: str, sep: str = ",") -> Filter:
    """`country=JP,FR` (or `name=a|b` with sep `|`) → `column IN (…)`."""

    def parse(raw: str) -> Condition | None:
        values = params.string_list(raw, sep)
        return _in(column, values, "text")

    return Filter(param, parse)


def exact(param: str, column: str) -> Filter:
    return Filter(param, lambda raw: Condition(f"{column} = {{}}", (raw,)))


def icontains(param: str, column: str) -> Filter:
    return Filter(param, lambda raw: Condition(f"{column} ILIKE {{}}", (contains_pattern(raw),)))


def contains(param: str, column: str) -> Filter:
    """Case-sensitive substring, as the legacy `LIKE %v%` filters."""
    return Filter(param, lambda raw: Condition(f"{column} LIKE {{}}", (contains_pattern(raw),)))


def times(param: str, column: str) -> list[Filter]:
    """`param`, `param__gte`, `param__lte` on a timestamptz column (date AND time required)."""

    def make(name: str, op: Op) -> Filter:
        return Filter(name, lambda raw: Condition(f"{column} {op.value} {{}}", (params.datetime(raw),)))

    return [make(param, Op.EXACT), make(f"{param}__gte", Op.GTE), make(f"{param}__lte", Op.LTE)]


def boolean(
    param: str,
    column: str,
    true: frozenset[str] = params.TRUE_WORDS,
    false: frozenset[str] = params.FALSE_WORDS,
) -> Filter:
    def parse(raw: str) -> Condition | None:
        value = params.boolean(raw, true, false)
        return None if value is None else Condition(f"{column} = {{}}", (value,))

    return Filter(param, parse)


def custom(param: str, parse: Parse) -> Filter:
    return Filter(param, parse)


# --- the endpoint ----------------------------------------------------------------------------------


class Window(Enum):
    """What an endpoint does about timebin."""

    NONE = "none"  # no timebin rule
    REQUIRED = "required"  # a timebin or a full range is required
    DEFAULT = "default"  # optional; without one, the last 7 days (from midnight UTC 6 days ago)


class Caching(Enum):
    SHORT = 1800
    REFERENCE = 2_592_000  # networks, countries, locations: change rarely
    HISTORY = 15_552_000  # data older than a week does not change
    RECENT_PREFIXES = 21_600


@dataclass(frozen=True)
class Endpoint:
    """A list endpoint, declared as data."""

    path: str
    summary: str
    source: str  # FROM clause: the table with its alias and joins
    fields: Sequence[Out]
    filters: Sequence[Filter]
    order_terms: Mapping[str, str]  # ordering name (DRF source, `.` → `__`) → SQL
    natural_key: Sequence[str]  # SQL expressions: the deterministic order and tie-breaker
    window: Window = Window.NONE
    max_days: int = 7
    one_of: Sequence[str] = ()
    default_ordering: Sequence[str] = ()
    timebin_column: str = ""
    history_cache: Caching | None = None  # used when the window starts more than 7 days ago
    caching: Caching = Caching.SHORT
    description: str = ""
    # FROM clause to count with: by default the table alone (the joins only add names, and the
    # foreign keys guarantee a match); endpoints whose filters use a joined table give `source`.
    count_source: str = ""
    filter_index: dict[str, Filter] = field(init=False, repr=False, compare=False)
    row: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "filter_index", {f.param: f for f in self.filters})
        object.__setattr__(self, "row", row_sql(self.fields))
        if not self.count_source:
            object.__setattr__(self, "count_source", self.source.split(" JOIN ")[0])


class ParseError(Exception):
    """A rule broken before filtering: 400 `{"detail": message}` (DRF's ParseError)."""


class FilterErrors(Exception):
    """Values that do not parse: 400 `{"param": ["message"], …}`."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class InvalidPage(Exception):
    """404 `{"detail": "Invalid page."}`."""


NO_TIMEBIN = (
    "No timebin parameter. Please provide a timebin value or a range of values with "
    "timebin__lte and timebin__gte."
)
HALF_RANGE = "Invalid timebin range. Please provide both timebin__lte and timebin__gte."
UNPARSEABLE = "Could not parse the timebin parameters."


def _present(query: Mapping[str, str], name: str) -> bool:
    return bool(query.get(name))


def check_rules(endpoint: Endpoint, query: Mapping[str, str]) -> dt.datetime | None:
    """The timebin rule, then the one-of rule (the legacy order); the window start when timebin defaults."""
    window_start = _check_timebin(endpoint, query)
    if endpoint.one_of and not any(name in query for name in endpoint.one_of):
        raise ParseError(
            "Required parameter missing. Please provide one of the following parameter: "
            + repr(list(endpoint.one_of))
        )
    return window_start


def _check_timebin(endpoint: Endpoint, query: Mapping[str, str]) -> dt.datetime | None:
    if endpoint.window is Window.NONE:
        return None
    has_any = any(_present(query, name) for name in ("timebin", "timebin__gte", "timebin__lte"))
    if endpoint.window is Window.DEFAULT and not has_any:
        today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - dt.timedelta(days=6)
    if _present(query, "timebin"):
        return None
    if not has_any:
        raise ParseError(NO_TIMEBIN)
    if not (_present(query, "timebin__gte") and _present(query, "timebin__lte")):
        raise ParseError(HALF_RANGE)
    try:
        start = params.lenient_datetime(query["timebin__gte"])
        end = params.lenient_datetime(query["timebin__lte"])
    except Invalid as exc:
        raise ParseError(UNPARSEABLE) from exc
    if (end - start).days > endpoint.max_days:
        raise ParseError(
            f"The given timebin range is too large. Should be less than {endpoint.max_days} days."
        )
    return None


@dataclass
class Plan:
    """The SQL pieces of one request."""

    where: str
    args: list[Any]
    order: str
    page: int
    old_window: bool | None  # an explicit window starting over a week ago; None: no explicit start


def _conditions(endpoint: Endpoint, query: Mapping[str, str]) -> tuple[list[Condition], dict[str, list[str]]]:
    conditions: list[Condition] = []
    errors: dict[str, list[str]] = {}
    for name, raw in query.items():
        spec = endpoint.filter_index.get(name)
        if spec is None or raw == "":
            continue
        try:
            condition = spec.parse(raw)
        except Invalid as exc:
            errors[name] = [str(exc)]
            continue
        if condition is not None:
            conditions.append(condition)
    return conditions, errors


def _ordering(endpoint: Endpoint, raw: str | None) -> str:
    terms = []
    seen = set()
    for term in (raw or "").split(","):
        term = term.strip()
        name = term.lstrip("-")
        sql = endpoint.order_terms.get(name)
        if sql is None or name in seen:
            continue
        seen.add(name)
        terms.append(f"{sql} DESC" if term.startswith("-") else sql)
    if not terms:
        terms = [endpoint.order_terms[name] for name in endpoint.default_ordering]
    # The natural key last: equal rows come in a fixed order, so pages fetched in parallel agree.
    return ", ".join([*terms, *endpoint.natural_key])


def page_number(raw: str | None) -> int:
    """DRF's page parameter: 1-based; `last` allowed once the count is known."""
    if raw is None or raw == "":
        return 1
    if raw == "last":
        return -1
    try:
        page = int(raw)
    except ValueError as exc:
        raise InvalidPage from exc
    if page < 1:
        raise InvalidPage
    return page


def plan(endpoint: Endpoint, query: Mapping[str, str]) -> Plan:
    """Check the rules and build the SQL; raises ParseError, FilterErrors or InvalidPage."""
    window_start = check_rules(endpoint, query)
    conditions, errors = _conditions(endpoint, query)
    if errors:
        raise FilterErrors(errors)
    if window_start is not None:
        conditions.append(Condition(f"{endpoint.timebin_column} >= {{}}", (window_start,)))
    args: list[Any] = []
    clauses = []
    for condition in conditions:
        placeholders = []
        for value in condition.args:
            args.append(value)
            placeholders.append(f"${len(args)}")
        clauses.append(condition.sql.format(*placeholders))
    page = page_number(query.get("page"))
    return Plan(
        where=" AND ".join(clauses) or "true",
        args=args,
        order=_ordering(endpoint, query.get("ordering")),
        page=page,
        old_window=_old_window(query),
    )


def _old_window(query: Mapping[str, str]) -> bool | None:
    for name in ("timebin", "timebin__gte"):
        if _present(query, name):
            try:
                start = params.datetime(query[name])
            except Invalid:  # not a filter of this endpoint, so never checked
                return None
            return start < dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    return None


# --- the response ----------------------------------------------------------------------------------


def _absolute_base(request: Request) -> str:
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
    base = _absolute_base(request)
    return f"{base}?{query}" if query else base


def envelope_head(request: Request, count: int, page: int, rows_before: int) -> bytes:
    """`{"count":…,"next":…,"previous":…,"results":[` for `page`."""
    has_next = rows_before + PAGE_SIZE < count
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


def _select(endpoint: Endpoint, planned: Plan, limit_arg: int, offset_arg: int) -> str:
    return (
        f"SELECT {endpoint.row} AS r FROM {endpoint.source} WHERE {planned.where} "
        f"ORDER BY {planned.order} LIMIT ${limit_arg} OFFSET ${offset_arg}"
    )


def small_page_sql(endpoint: Endpoint, planned: Plan) -> str:
    """At most SMALL_PAGE + 1 rows of the page, joined into one text, and how many there were."""
    n = len(planned.args)
    return f"SELECT string_agg(r, ','), count(*) FROM ({_select(endpoint, planned, n + 1, n + 2)}) page"


def count_sql(endpoint: Endpoint, planned: Plan) -> str:
    """Every matching row (the joins only name things, so the table alone is counted when it can be)."""
    return f"SELECT count(*) FROM {endpoint.count_source} WHERE {planned.where}"


def etag_for(body: bytes) -> str:
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


async def respond(
    request: Request,
    endpoint: Endpoint,
    planned: Plan,
    db: Database,
    settings: Settings,
    cache: PageCache | None = None,
) -> Response:
    """Answer a planned request: one query for a small page, a streamed body for a large one."""
    max_age = cache_control(endpoint, planned)
    headers = {"Cache-Control": f"max-age={max_age}", "Vary": "Accept"}
    key = cache_key(request, _absolute_base(request)) if cache is not None else ""
    if cache is not None:
        cached = await cache.get(key)
        if cached is not None:
            return _page_response(request, cached, headers)
    page = planned.page
    if page == -1:
        page = await _last_page(endpoint, planned, db, settings)
    offset = (page - 1) * PAGE_SIZE
    pool = await db.stateless_read_pool()
    with translated_errors():
        async with pool.acquire(timeout=settings.db_acquire_timeout_s) as conn:
            record = await conn.fetchrow(
                small_page_sql(endpoint, planned), *planned.args, SMALL_PAGE + 1, offset
            )
    assert record is not None  # an aggregate always yields one row
    text, rows = record[0], record[1]
    if rows <= SMALL_PAGE:
        if rows == 0 and page > 1:
            raise InvalidPage
        body = envelope_head(request, offset + rows, page, offset) + (text or "").encode() + b"]}"
        if cache is not None:
            await cache.put(key, body, max_age)
        return _page_response(request, body, headers)
    return StreamingResponse(
        _stream(request, endpoint, planned, page, offset, db, settings),
        media_type=CONTENT_TYPE,
        headers=headers,
    )


async def _last_page(endpoint: Endpoint, planned: Plan, db: Database, settings: Settings) -> int:
    with translated_errors():
        pool = await db.stateless_read_pool()
        async with pool.acquire(timeout=settings.db_acquire_timeout_s) as conn:
            total: int = await conn.fetchval(count_sql(endpoint, planned), *planned.args)
    return max(1, -(-total // PAGE_SIZE))


async def _stream(
    request: Request,
    endpoint: Endpoint,
    planned: Plan,
    page: int,
    offset: int,
    db: Database,
    settings: Settings,
) -> AsyncIterator[bytes]:
    pool = await db.stateless_read_pool()
    select = _select(endpoint, planned, len(planned.args) + 1, len(planned.args) + 2)
    with translated_errors():
        async with (
            pool.acquire(timeout=settings.db_acquire_timeout_s) as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            # The count goes first in the body but costs as much as reading the page: when the pool
            # has a connection to spare, it runs there, in this transaction's snapshot, while this
            # connection reads the first batch.
            counting: asyncio.Task[int] | None = None
            if pool.get_idle_size() > 0:
                snapshot: str = await conn.fetchval("SELECT pg_export_snapshot()")
                counting = asyncio.create_task(
                    _count_in_snapshot(pool, snapshot, endpoint, planned, settings)
                )
            try:
                cursor = await conn.cursor(select, *planned.args, PAGE_SIZE, offset)
                batch = await cursor.fetch(FETCH_BATCH)
                if counting is not None:
                    count = await counting
                else:
                    count = await conn.fetchval(count_sql(endpoint, planned), *planned.args)
            finally:
                if counting is not None and not counting.done():
                    counting.cancel()
            yield envelope_head(request, count, page, offset)
            separator = b""
            while batch:
                yield separator + ",".join([record[0] for record in batch]).encode()
                separator = b","
                batch = await cursor.fetch(FETCH_BATCH)
            yield b"]}"


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+-[0-9]+")


async def _count_in_snapshot(
    pool: asyncpg.Pool, snapshot: str, endpoint: Endpoint, planned: Plan, settings: Settings
) -> int:
    if not _SNAPSHOT_ID.fullmatch(snapshot):  # it goes into SQL text: SET takes no parameters
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    async with (
        pool.acquire(timeout=settings.db_acquire_timeout_s) as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        await conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        count: int = await conn.fetchval(count_sql(endpoint, planned), *planned.args)
        return count


def errors_response(status: int, content: Any) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type=CONTENT_TYPE)


async def answer(request: Request, endpoint: Endpoint) -> Response:
    """The whole request: format check, rules, filters, page, response (errors in DRF's shape)."""
    query = _single_values(request)
    fmt = query.get("format")
    if fmt not in (None, "", "json", "api"):  # an empty format means none, as in DRF
        return errors_response(404, {"detail": "Not found."})
    try:
        planned = plan(endpoint, query)
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
