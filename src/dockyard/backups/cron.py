"""Standard five-field cron expressions in a time zone: parse once, list the times they name.

Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec), day of week
(0-7 or sun-sat, 0 and 7 both Sunday). Each field takes `*`, a value, a range `a-b`, a step
`*/n` or `a-b/n`, and comma lists of those. As in Vixie cron, when both day fields are
restricted a day matches if either does.

Times are read in the schedule's time zone (an IANA name, UTC by default). Across a daylight
saving change, as in cronie: a time the clocks skip runs once just after the jump (02:30 on the
spring-forward night runs at 03:30), a time they repeat runs once, the first time.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
FIELDS = (  # name, lowest, highest, names for the values from `lowest` on
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
)


class CronError(ValueError):
    """The expression is not a valid five-field cron expression; the message says which part."""


@dataclass(frozen=True)
class Cron:
    """A parsed expression: the set of values each field allows."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month starts with `*` (Vixie cron: then both day fields must match)
    any_weekday: bool  # day of week starts with `*`

    def matches_day(self, day: dt.date) -> bool:
        """Whether any time of `day` can match (month and the day fields)."""
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return by_date and by_weekday
        return by_date or by_weekday

    def between(
        self, start: dt.datetime, end: dt.datetime, zone: dt.tzinfo = dt.UTC
    ) -> Iterator[dt.datetime]:
        """Every matching minute of `zone`'s clock in [start, end), in order, as UTC datetimes.

        Both bounds are aware datetimes.
        """
        first = start.astimezone(dt.UTC)
        last = end.astimezone(dt.UTC)
        day = first.astimezone(zone).date() - dt.timedelta(days=1)  # a day either side: offsets
        final = last.astimezone(zone).date() + dt.timedelta(days=1)
        hours = sorted(self.hours)
        minutes = sorted(self.minutes)
        previous: dt.datetime | None = None
        while day <= final:
            if self.matches_day(day):
                moments = sorted(
                    {
                        # fold=0: a repeated time is its first occurrence, a skipped one lands after the jump
                        dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(
                            dt.UTC
                        )
                        for hour in hours
                        for minute in minutes
                    }
                )
                for moment in moments:
                    if first <= moment < last and (previous is None or moment > previous):
                        previous = moment
                        yield moment
            day += dt.timedelta(days=1)


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone `name` (e.g. Europe/Berlin, UTC), or CronError saying it is unknown."""
    if name not in _zones():
        raise CronError(f"timezone: {name!r} is not an IANA time zone name (e.g. UTC, Europe/Berlin)")
    return zoneinfo.ZoneInfo(name)


def _value(text: str, field: str, lowest: int, highest: int, names: tuple[str, ...]) -> int:
    word = text.lower()
    if word in names:
        return names.index(word) + lowest
    if not word.isdigit():
        choices = f" or a name ({', '.join(names)})" if names else ""
        raise CronError(f"{field}: {text!r} is not a number from {lowest} to {highest}{choices}")
    number = int(word)
    if not lowest <= number <= highest:
        raise CronError(f"{field}: {number} is outside {lowest}-{highest}")
    return number


def _field(text: str, field: str, lowest: int, highest: int, names: tuple[str, ...]) -> set[int]:
    allowed: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{field}: the step in {part!r} must be a whole number above 0")
            step = int(step_text)
        if span == "*":
            first, last = lowest, highest
        elif "-" in span:
            low, _, high = span.partition("-")
            first = _value(low, field, lowest, highest, names)
            last = _value(high, field, lowest, highest, names)
            if first > last:
                raise CronError(f"{field}: the range {span!r} runs backwards")
        elif span:
            first = _value(span, field, lowest, highest, names)
            last = highest if step_text else first
        else:
            raise CronError(f"{field}: an empty item in {text!r}")
        allowed.update(range(first, last + 1, step))
    return allowed


def parse(expression: str) -> Cron:
    """Parse `expression` or raise CronError naming the field at fault."""
    parts = expression.split()
    if len(parts) != 5:
        raise CronError(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"{expression!r} has {len(parts)}"
        )
    values = [_field(part, *spec) for part, spec in zip(parts, FIELDS, strict=True)]
    weekdays = frozenset(day % 7 for day in values[4])
    return Cron(
        expression=" ".join(parts),
        minutes=frozenset(values[0]),
        hours=frozenset(values[1]),
        days=frozenset(values[2]),
        months=frozenset(values[3]),
        weekdays=weekdays,
        any_day=parts[2].startswith("*"),
        any_weekday=parts[4].startswith("*"),
    )
