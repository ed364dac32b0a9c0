"""LIKE patterns built from user text: the wildcards a user types are matched literally."""

from __future__ import annotations


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards and escape character escaped (PostgreSQL's default escape `\\`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(text: str) -> str:
    """A LIKE/ILIKE pattern matching any value that contains `text` literally."""
    return f"%{escape_like(text)}%"
