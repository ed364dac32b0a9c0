"""Integer types bounded to PostgreSQL's column types, shared by every service's models and paths.

A value outside a column's range is refused with 422 by validation, before it can reach the driver
(which would answer with an overflow error that no client should see). Use them for path ids,
query parameters and body fields alike:

    async def get_run(run_id: Id, ...)           # 1 .. 2^63-1, the range of a bigserial
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

BigInt = Annotated[int, Ge(BIGINT_MIN), Le(BIGINT_MAX)]
"""Any value of a `bigint` column."""

Count = Annotated[int, Ge(0), Le(BIGINT_MAX)]
"""Sizes, byte counts and row counts kept in a `bigint` column."""

Id = Annotated[int, Ge(1), Le(BIGINT_MAX)]
"""A `bigserial`/`bigint` identity key."""

Int = Annotated[int, Ge(INT_MIN), Le(INT_MAX)]
"""Any value of an `integer` column."""

IntId = Annotated[int, Ge(1), Le(INT_MAX)]
"""A `serial`/`integer` identity key."""
