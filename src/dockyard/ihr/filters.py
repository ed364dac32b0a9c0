"""Filters of the IHR lists: a query parameter, how its value becomes SQL, and how it is documented.

Values are read the legacy way (`params`); a value that does not parse raises `params.Invalid`
with the legacy message. Each filter also carries the JSON Schema its value follows, so the
OpenAPI document gives the real type and format of every parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from dockyard.core.like import contains_pattern
from dockyard.core.types import BIGINT_MAX, BIGINT_MIN
from dockyard.ihr import params


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

TEXT: Mapping[str, Any] = MappingProxyType({"type": "string", "pattern": params.NO_NUL})
NUMBER: Mapping[str, Any] = MappingProxyType({"type": "number"})
INTEGER_LIST: Mapping[str, Any] = MappingProxyType({"type": "string", "pattern": params.INTEGER_LIST})
DATETIME: Mapping[str, Any] = MappingProxyType(
    {"type": "string", "format": "date-time", "pattern": params.DATETIME}
)


@dataclass(frozen=True)
class Filter:
    """A query parameter, how it filters, and the schema and description of its value."""

    param: str
    parse: Parse
    schema: Mapping[str, Any] = field(default_factory=lambda: TEXT)
    description: str = ""


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

    return Filter(param, parse, NUMBER, "A number.")


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
        return _in(column, params.integer_list(raw), "bigint")

    return Filter(param, parse, INTEGER_LIST, "Integers separated by `,`, e.g. `174,2497`.")


def string_list(param: str, column: str, sep: str = ",") -> Filter:
    """`country=JP,FR` (or `name=a|b` with sep `|`) → `column IN (…)`."""

    def parse(raw: str) -> Condition | None:
        return _in(column, params.string_list(raw, sep), "text")

    return Filter(param, parse, TEXT, f"Values separated by `{sep}`.")


def exact(param: str, column: str) -> Filter:
    """`column = value`."""
    return Filter(param, lambda raw: Condition(f"{column} = {{}}", (raw,)))


def icontains(param: str, column: str) -> Filter:
    """Substring in any case (`ILIKE %v%`)."""
    return Filter(
        param,
        lambda raw: Condition(f"{column} ILIKE {{}}", (contains_pattern(raw),)),
        description="Part of the value, in any case.",
    )


def contains(param: str, column: str) -> Filter:
    """Case-sensitive substring, as the legacy `LIKE %v%` filters."""
    return Filter(
        param,
        lambda raw: Condition(f"{column} LIKE {{}}", (contains_pattern(raw),)),
        description="Part of the value (case-sensitive).",
    )


def times(param: str, column: str) -> list[Filter]:
    """`param`, `param__gte`, `param__lte` on a timestamptz column (date AND time required)."""

    def make(name: str, op: Op) -> Filter:
        return Filter(
            name,
            lambda raw: Condition(f"{column} {op.value} {{}}", (params.datetime(raw),)),
            DATETIME,
            "A date and a time, e.g. `2024-05-01T00:00:00Z` or `2024-05-01T00:00` (UTC).",
        )

    return [make(param, Op.EXACT), make(f"{param}__gte", Op.GTE), make(f"{param}__lte", Op.LTE)]


def boolean(
    param: str,
    column: str,
    true: frozenset[str] = params.TRUE_WORDS,
    false: frozenset[str] = params.FALSE_WORDS,
) -> Filter:
    """`column = true|false`; any other word means no filter."""

    def parse(raw: str) -> Condition | None:
        value = params.boolean(raw, true, false)
        return None if value is None else Condition(f"{column} = {{}}", (value,))

    words = (
        ", ".join(f"`{word}`" for word in sorted(true)) + " or " + ", ".join(f"`{w}`" for w in sorted(false))
    )
    return Filter(param, parse, TEXT, f"{words}; any other value means no filter.")


def custom(param: str, parse: Parse, *, schema: Mapping[str, Any] = TEXT, description: str = "") -> Filter:
    """A filter with its own parser."""
    return Filter(param, parse, schema, description)
