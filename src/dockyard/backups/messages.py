"""What a tool said: the meaningful part of its stderr, bounded, and the line that names the problem.

Tools print the cause of a failure on a line of its own (`pg_dump: error: … FATAL: …`, `mariadb-dump:
Got error: 1045 …`) and often more after it (hints, "connection to server lost", progress). The last
line alone then hides the cause: these functions keep the error lines wherever they are.
"""

from __future__ import annotations

import re

LIMIT = 4000  # characters of stderr kept with a run (the column holds 8000)
STRONG = re.compile(r"\b(error|fatal|panic|critical)\b", re.IGNORECASE)
ERROR_LINE = re.compile(r"\b(error|fatal|panic|could not|failed|denied|refused)\b", re.IGNORECASE)
CUT = "\n[…]\n"


def excerpt(text: str, limit: int = LIMIT) -> str:
    """`text` stripped; when longer than `limit`, its error lines then its end, within `limit`."""
    text = text.strip()
    if len(text) <= limit:
        return text
    errors = "\n".join(line.strip() for line in text.splitlines() if ERROR_LINE.search(line))
    head = errors[: limit // 2].rstrip()
    if not head:
        return text[-limit:]
    budget = limit - len(head) - 2 * len(CUT)
    return f"{head}{CUT}{text[-budget:].lstrip()}" if budget > 0 else head


def headline(text: str | None, width: int = 300) -> str:
    """The line of `text` that names the problem (its first error line, else its last), cut at `width`."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    strong = (line for line in lines if STRONG.search(line))
    found = next(strong, None) or next((line for line in lines if ERROR_LINE.search(line)), lines[-1])
    return found if len(found) <= width else found[: width - 1] + "…"
