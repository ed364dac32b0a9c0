"""Reading query-string values the way the legacy Django API did (specs/ihr-api.md §1).

Every parser takes the raw string and returns a Python value or raises `Invalid` with the legacy
message; `listing` collects the messages per parameter into DRF's `{"param": ["message"]}` body.
Empty values mean "no filter" and are handled by the caller, never here.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from dockyard.core.types import BIGINT_MAX, BIGINT_MIN

ENTER_A_NUMBER = "Enter a number."
ENTER_A_DATETIME = "Enter a valid date/time."
ENTER_A_WHOLE_NUMBER = "Enter a whole number."

# What the parsers below accept, as JSON Schema patterns for the OpenAPI document (Python's `re`
# reads them the same way, `\d` and `\s` included). An empty value means "no filter" elsewhere.
NO_NUL = r"^[^\x00]*$"
_INTEGER = r"\s*[+-]?\d+(_\d+)*\s*"
INTEGER_LIST = rf"^({_INTEGER})?(,({_INTEGER})?)*$"
LOCATION_KEYS = r"^[^|\x00]{2}[0-9][^|\x00]*(\|[^|\x00]{2}[0-9][^|\x00]*)*$"
DATETIME = r"^\s*\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{1,2}(:\d{1,2}([.,]\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?\s*$"


class Invalid(ValueError):
    """A value that does not parse; the message is what the client is told."""


def number(raw: str) -> Decimal:
    """A finite decimal number (Django's DecimalField: `4`, ` 4.5 `, `1e3`; not NaN or Infinity)."""
    try:
        value = Decimal(raw.strip())
    except InvalidOperation as exc:
        raise Invalid(ENTER_A_NUMBER) from exc
    if not value.is_finite():
        raise Invalid(ENTER_A_NUMBER)
    return value


def integer_list(raw: str, sep: str = ",") -> list[int]:
    """`1,2,,3` → [1, 2, 3]: empty items dropped; numbers outside bigint can match no row and go too."""
    values = []
    for item in raw.split(sep):
        item = item.strip()
        if not item:
            continue
        try:
            value = int(item)
        except ValueError as exc:
            raise Invalid(
                f"{ENTER_A_WHOLE_NUMBER} {item!r} is not one; separate numbers with '{sep}'."
            ) from exc
        if BIGINT_MIN <= value <= BIGINT_MAX:
            values.append(value)
    return values


def string_list(raw: str, sep: str) -> list[str]:
    """`JP,FR` → ['JP', 'FR'] (for `,` lists, empty items are dropped as the legacy filter did)."""
    items = raw.split(sep)
    return [item for item in items if item] if sep == "," else items


# Django's parse_datetime: date AND time, optional seconds and fraction, optional Z or ±HH[:MM].
_ISO_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})[T ]"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{1,2})(?::(?P<second>\d{1,2})(?:[.,](?P<fraction>\d{1,6})\d*)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def datetime(raw: str) -> dt.datetime:
    """An ISO-8601 date and time (`2024-05-01T00:00`, `… 00:00:00.000Z`, `…+09:00`), as UTC."""
    match = _ISO_DATETIME.match(raw.strip())
    if match is None:
        raise Invalid(ENTER_A_DATETIME)
    parts = match.groupdict()
    tz = parts["tz"]
    if tz is None or tz == "Z":
        offset = dt.UTC
    else:
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
        if minutes >= 24 * 60:
            raise Invalid(ENTER_A_DATETIME)
        offset = dt.timezone(sign * dt.timedelta(minutes=minutes))
    try:
        value = dt.datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0").ljust(6, "0")),
            tzinfo=offset,
        )
    except ValueError as exc:
        raise Invalid(ENTER_A_DATETIME) from exc
    return value.astimezone(dt.UTC)


_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})$")


def lenient_datetime(raw: str) -> dt.datetime:
    """What the legacy range check accepted: a datetime as above, or a bare date (midnight UTC).

    The range check reads the bounds leniently; the filters then refuse a bare date with
    "Enter a valid date/time." — both steps are kept so the messages match.
    """
    try:
        return datetime(raw)
    except Invalid:
        match = _ISO_DATE.match(raw.strip())
        if match is None:
            raise
        try:
            year, month, day = (int(part) for part in match.groups())
            return dt.datetime(year, month, day, tzinfo=dt.UTC)
        except ValueError as exc:
            raise Invalid(ENTER_A_DATETIME) from exc


TRUE_WORDS = frozenset({"true", "True", "1"})
FALSE_WORDS = frozenset({"false", "False", "0"})
TRANSIT_TRUE = frozenset({"true", "True", "2"})
TRANSIT_FALSE = frozenset({"false", "False", "3"})


def boolean(raw: str, true: frozenset[str] = TRUE_WORDS, false: frozenset[str] = FALSE_WORDS) -> bool | None:
    """True, False, or None (any other word means "no filter", as Django's NullBooleanField did)."""
    if raw in true:
        return True
    if raw in false:
        return False
    return None


def location_key(raw: str) -> tuple[str, int, str]:
    """`CT4Paris, Ile-de-France, FR` → ('CT', 4, 'Paris, Ile-de-France, FR'); `AS4174` → ('AS', 4, '174')."""
    if len(raw) < 3 or not raw[2].isdigit() or not raw[2].isascii():
        raise Invalid(
            f"{raw!r} is not a key: give a 2-letter type, a 1-digit address family and a name, "
            "e.g. AS4174 or CT4Amsterdam, North Holland, NL."
        )
    return raw[:2], int(raw[2]), raw[3:]
