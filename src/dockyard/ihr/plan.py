"""Stage 1 of answering a list request: check the legacy rules and turn the parameters into a plan.

A plan is the WHERE clause with its arguments, the ORDER BY, and the page. Rule violations raise
`ParseError` (400 `{"detail": …}`, checked before any value, in the legacy order: timebin, then
one-of), values that do not parse raise `FilterErrors` (400 `{"param": ["message"]}`), and a bad
page raises `InvalidPage` (404) — specs/ihr-api.md §1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.ihr import params
from dockyard.ihr.endpoint import Endpoint, Window
from dockyard.ihr.filters import Condition
from dockyard.ihr.params import Invalid

PAGE_SIZE = 100_000  # the legacy PAGE_SIZE
MAX_PAGE = 2**40  # far past any table's end; larger pages would overflow PostgreSQL's OFFSET

NO_TIMEBIN = (
    "No timebin parameter. Please provide a timebin value or a range of values with "
    "timebin__lte and timebin__gte."
)
HALF_RANGE = "Invalid timebin range. Please provide both timebin__lte and timebin__gte."
UNPARSEABLE = "Could not parse the timebin parameters."
ONE_OF = "Required parameter missing. Please provide one of the following parameter: "


class ParseError(Exception):
    """A rule broken before filtering: 400 `{"detail": message}` (DRF's ParseError)."""


class FilterErrors(Exception):
    """Values that do not parse: 400 `{"param": ["message"], …}`."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class InvalidPage(Exception):
    """404 `{"detail": "Invalid page."}`."""


@dataclass
class Plan:
    """The SQL pieces of one request."""

    where: str
    args: list[Any]
    order: str
    page: int  # 1-based; -1 for `last`, resolved once the count is known
    old_window: bool | None  # an explicit window starting over a week ago; None: no explicit start
    window_end: dt.datetime | None = None  # the explicit upper bound (timebin__lte or timebin), if any


def _present(query: Mapping[str, str], name: str) -> bool:
    return bool(query.get(name))


def check_rules(endpoint: Endpoint, query: Mapping[str, str]) -> dt.datetime | None:
    """The timebin rule, then the one-of rule (the legacy order); the window start when timebin defaults."""
    window_start = _check_timebin(endpoint, query)
    if endpoint.one_of and not any(name in query for name in endpoint.one_of):
        raise ParseError(ONE_OF + repr(list(endpoint.one_of)))
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
    """DRF's page parameter: 1-based; `last` (-1 here) allowed once the count is known."""
    if raw is None or raw == "":
        return 1
    if raw == "last":
        return -1
    try:
        page = int(raw)
    except ValueError as exc:
        raise InvalidPage from exc
    if page < 1 or page > MAX_PAGE:
        raise InvalidPage
    return page


def plan_for(endpoint: Endpoint, query: Mapping[str, str]) -> Plan:
    """Check the rules and build the SQL pieces; raises ParseError, FilterErrors or InvalidPage."""
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
    return Plan(
        where=" AND ".join(clauses) or "true",
        args=args,
        order=_ordering(endpoint, query.get("ordering")),
        page=page_number(query.get("page")),
        old_window=_old_window(query),
        window_end=_window_end(query),
    )


def _window_end(query: Mapping[str, str]) -> dt.datetime | None:
    for name in ("timebin", "timebin__lte"):
        if _present(query, name):
            try:
                return params.datetime(query[name])
            except Invalid:  # not a filter of this endpoint
                return None
    return None


def _old_window(query: Mapping[str, str]) -> bool | None:
    for name in ("timebin", "timebin__gte"):
        if _present(query, name):
            try:
                start = params.datetime(query[name])
            except Invalid:  # not a filter of this endpoint, so never checked
                return None
            return start < dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    return None
