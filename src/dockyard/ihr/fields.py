"""Output fields of the IHR lists: how PostgreSQL renders each value as the JSON text DRF printed.

Each row is one JSON object built in SQL by string concatenation (cheaper than json_build_object),
so no row ever passes through Python as a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """What a field holds, which decides how it is written in JSON."""

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
