"""The declaration of an IHR list endpoint: its table, output fields, filters and rules.

`endpoints/` declares the 18 legacy lists with these types; `plan`, `queries` and `response`
answer any of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from dockyard.ihr.fields import Out, row_sql
from dockyard.ihr.filters import Filter


class Window(Enum):
    """What an endpoint does about timebin."""

    NONE = "none"  # no timebin rule
    REQUIRED = "required"  # a timebin or a full range is required
    DEFAULT = "default"  # optional; without one, the last 7 days (from midnight UTC 6 days ago)


QUARTER_HOUR = 900
DAY = 86_400
WEEK = 7 * DAY


class Caching(Enum):
    """The legacy `Cache-Control: max-age` values, in seconds."""

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
    cadence_s: int = QUARTER_HOUR  # how often the data behind the list changes
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

    @property
    def name(self) -> str:
        """`hegemony_cones` for `hegemony/cones/`: the route's name."""
        return self.path.strip("/").replace("/", "_")
