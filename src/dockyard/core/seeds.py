"""The contract between services and the seeding command: what a data generator looks like."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

SIZES = ("demo", "bench")
Size = Literal["demo", "bench"]

Progress = Callable[[int, int | None], None]
"""progress(done, total): report rows written so far (total None when unknown)."""

Seeder = Callable[[Any, str, Progress], Awaitable[int]]
"""seeder(conn, size, progress) -> rows written. Runs inside a transaction; use COPY for volume.

A generator replaces its service's data set: the size last loaded is the one recorded.
"""
