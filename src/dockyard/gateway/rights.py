"""Who may do what on a feed: levels, feed patterns, and a caller's effective rights.

A grant gives a user or a group one level on the feeds a pattern names — an exact feed name, a
dotted prefix (`sensors.*` covers `sensors.t1` and `sensors.a.b`, not `sensors`), or `*` — and
may be limited to some columns. A caller's right on a feed (or on one of its columns) is the
highest level among the grants of the caller and of the caller's groups that cover it;
superusers hold `admin` everywhere. An API token with a scope caps all of it at the highest
`gateway.<level>` codename the scope lists (none: no data rights at all).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from dockyard.accounts.auth import Principal

NAME = re.compile(r"[a-zA-Z_][a-zA-Z_0-9]*(\.[a-zA-Z_][a-zA-Z_0-9]*)*")
NAME_MAX_BYTES = 256  # Lbasedb stores names in 256-byte fields and cuts longer ones
PATTERN = re.compile(r"\*|[a-zA-Z_][a-zA-Z_0-9]*(\.[a-zA-Z_][a-zA-Z_0-9]*)*(\.\*)?")


class Level(IntEnum):
    """What a grant allows, each level including the ones below it."""

    NONE = 0
    READ = 1
    APPEND = 2
    WRITE = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def of(cls, label: str) -> Level:
        return cls[label.upper()]


# The API-token scope codenames that cap a token's gateway rights (docs/gateway.md).
SCOPE_CODENAMES = {
    Level.READ: "gateway.read",
    Level.APPEND: "gateway.append",
    Level.WRITE: "gateway.write",
    Level.ADMIN: "gateway.manage",
}


def is_name(text: str) -> bool:
    """True for a valid Lbasedb feed or column name that Lbasedb stores uncut."""
    return NAME.fullmatch(text) is not None and len(text.encode()) <= NAME_MAX_BYTES


def is_pattern(text: str) -> bool:
    """True for a feed pattern: a name, a dotted prefix ending in `.*`, or `*`."""
    return PATTERN.fullmatch(text) is not None and len(text.encode()) <= NAME_MAX_BYTES + 2


def covers(pattern: str, feed: str) -> bool:
    """True when the feed pattern names `feed`."""
    if pattern == "*" or pattern == feed:
        return True
    return pattern.endswith(".*") and feed.startswith(pattern[:-1])


@dataclass(frozen=True)
class Grant:
    """One grant as the checks need it."""

    feed: str
    level: Level
    columns: frozenset[str] | None  # None: every column


def scope_cap(principal: Principal) -> Level:
    """The highest level the caller's credentials allow: ADMIN unless an API token's scope says less."""
    if principal.scope is None:
        return Level.ADMIN
    allowed = [level for level, code in SCOPE_CODENAMES.items() if code in principal.scope]
    return max(allowed, default=Level.NONE)


@dataclass(frozen=True)
class Rights:
    """A caller's grants, resolved per feed and column."""

    superuser: bool
    cap: Level
    grants: tuple[Grant, ...]

    @classmethod
    def of(cls, principal: Principal, grants: Iterable[Grant]) -> Rights:
        return cls(principal.is_superuser, scope_cap(principal), tuple(grants))

    def _best(self, levels: Iterable[Level]) -> Level:
        best = Level.ADMIN if self.superuser else max(levels, default=Level.NONE)
        return min(best, self.cap)

    def on_feed(self, feed: str) -> Level:
        """The level on the whole feed: grants without a column limit only."""
        return self._best(g.level for g in self.grants if g.columns is None and covers(g.feed, feed))

    def on_any(self, feed: str) -> Level:
        """The highest level on some part of the feed (for its size, its column list, its listing)."""
        return self._best(g.level for g in self.grants if covers(g.feed, feed))

    def on_column(self, feed: str, column: str) -> Level:
        """The level on one column of the feed."""
        return self._best(
            g.level
            for g in self.grants
            if covers(g.feed, feed) and (g.columns is None or column in g.columns)
        )

    def column_limited(self, feed: str, level: Level) -> bool:
        """True when `level` on the feed holds for some columns only (bodies must then be scanned)."""
        return self.on_feed(feed) < level
