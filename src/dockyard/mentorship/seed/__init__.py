"""Demo and bench data for the mentorship programme (`dockyard db seed`, `seed_db.sh`).

`demo`: 24 users (the first, `ada_admin`, is the admin; two never confirmed their email),
relations in every state, tasks and comments, so every route shows something on the first run.
`bench`: 10,000 users, 50,000 relations, 200,000 tasks and 400,000 comments, loaded with COPY.
Every seeded user logs in with the password `mentorship-demo` (username or email
`<username>@mentorship.example`). Seeding replaces the programme's data.
"""

from __future__ import annotations

from typing import Any

from dockyard.core.seeds import Progress
from dockyard.mentorship.seed.programme import SIZES, Programme, load

PASSWORD = "mentorship-demo"  # noqa: S105 - the documented password of generated demo users


async def seed(conn: Any, size: str, progress: Progress) -> int:
    """Replace the programme with a generated one of `size` (demo or bench); rows written."""
    return await load(conn, Programme.generate(SIZES[size]), PASSWORD, progress)


__all__ = ["PASSWORD", "seed"]
