"""Lbasedb's operations as the gateway sees them: what each takes and what it needs (section 3).

For every route and method: the query parameters it accepts, the level it needs and on what
(the feed, the named columns, the body's keys, or every column), and whether the gateway must
read its small JSON body or filter its answer. `parse_query` reads a query exactly as the table
allows and returns the canonical one the gateway forwards instead (section 3, "Checks on the
query"): anything ambiguous is refused before Lbasedb is contacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import unquote_to_bytes

from dockyard.core.errors import BadInput
from dockyard.gateway.rights import Level, is_name

# Integers Lbasedb reads as usize; bounded so `ix + size` cannot wrap (and fits a bigint).
INT_MAX = 2**63 - 1


class Target(Enum):
    """What an operation's level is checked on."""

    NOTHING = "nothing"  # authenticated callers only
    CREATE = "create"  # the gateway.create_feed permission
    FEED = "feed"  # the whole feed (schema, size, rename, delete)
    ANY = "any"  # some part of the feed (its size, its column list)
    COLUMNS = "columns"  # each column named in the query (`col` or `col[]`)
    KEYS = "keys"  # each top-level key of the JSON body
    ALL = "all"  # every column of the feed (PUT zeroes the unlisted ones)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    params: tuple[str, ...]  # feed, name, col (one), cols (col[]), ix, size
    level: Level
    target: Target
    # the gateway reads the small JSON body (to learn a new name) instead of streaming it
    reads_body: bool = False
    # the gateway filters the answer by the caller's rights (and so reads it)
    filters: bool = False
    # the feed the operation acts on comes from this parameter
    feed_param: str = "feed"
    # grants follow the change once Lbasedb confirms it (creator's admin, renames, deletes)
    follows: bool = False

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


R, A, W, ADM = Level.READ, Level.APPEND, Level.WRITE, Level.ADMIN
OPERATIONS: dict[str, dict[str, Operation]] = {}
for _op in (
    Operation("GET", "/version", (), Level.NONE, Target.NOTHING),
    Operation("GET", "/feed", (), R, Target.ANY, filters=True),
    Operation("POST", "/feed", (), ADM, Target.CREATE, reads_body=True, follows=True),
    Operation(
        "PATCH", "/feed", ("name",), ADM, Target.FEED, reads_body=True, feed_param="name", follows=True
    ),
    Operation("DELETE", "/feed", ("name",), ADM, Target.FEED, feed_param="name", follows=True),
    Operation("GET", "/col", ("feed",), R, Target.ANY, filters=True),
    Operation("POST", "/col", ("feed",), ADM, Target.FEED),
    Operation("PATCH", "/col", ("feed", "name"), ADM, Target.FEED, reads_body=True, follows=True),
    Operation("DELETE", "/col", ("feed", "name"), ADM, Target.FEED, follows=True),
    Operation("GET", "/size", ("feed",), R, Target.ANY),
    Operation("PUT", "/size", ("feed",), ADM, Target.FEED),
    Operation("GET", "/data", ("feed", "ix", "size", "cols"), R, Target.COLUMNS),
    Operation("POST", "/data", ("feed",), A, Target.KEYS),
    Operation("PUT", "/data", ("feed", "ix"), W, Target.ALL),
    Operation("PATCH", "/data", ("feed", "ix"), W, Target.KEYS),
    Operation("GET", "/raw", ("feed", "col", "ix", "size"), R, Target.COLUMNS),
    Operation("POST", "/raw", ("feed", "col", "ix"), W, Target.COLUMNS),
    Operation("GET", "/bytes", ("feed", "ix", "size", "cols"), R, Target.COLUMNS),
    Operation("POST", "/bytes", ("feed", "cols"), A, Target.COLUMNS),
    Operation("PUT", "/bytes", ("feed", "ix", "cols"), W, Target.ALL),
    Operation("PATCH", "/bytes", ("feed", "ix", "cols"), W, Target.COLUMNS),
    Operation("DELETE", "/bytes", ("feed", "ix", "size", "cols"), W, Target.COLUMNS),
):
    OPERATIONS.setdefault(_op.path, {})[_op.method] = _op


@dataclass
class Query:
    """A parsed query: the values the checks use and the canonical string that is forwarded."""

    feed: str | None = None
    name: str | None = None
    cols: list[str] = field(default_factory=list)
    ix: int | None = None
    size: int | None = None

    def columns(self) -> list[str]:
        return self.cols

    def canonical(self, op: Operation) -> str:
        """The query the gateway sends: fixed order, names and integers only, `col[]` literal."""
        parts = []
        for param in op.params:
            if param == "cols":
                parts += [f"col[]={col}" for col in self.cols]
            elif param == "col":
                parts += [f"col={col}" for col in self.cols]
            else:
                value = getattr(self, param)
                if value is not None:
                    parts.append(f"{param}={value}")
        return "&".join(parts)


LIST_KEYS = {b"col[]", b"col%5B%5D", b"col%5b%5d"}  # the forms Lbasedb reads as `col[]`


def _accepted(op: Operation) -> str:
    names = ["col[]" if param == "cols" else param for param in op.params]
    return ", ".join(names) if names else "none"


def _decode(raw: bytes, key: str) -> str:
    """A percent-decoded query value as text; `+` is a space, as form encoding says."""
    if b"%" in raw:
        for index in range(len(raw)):
            if raw[index] == 0x25:
                hex_digits = raw[index + 1 : index + 3]
                if len(hex_digits) != 2 or not all(chr(c) in "0123456789abcdefABCDEF" for c in hex_digits):
                    raise BadInput(f"`{key}` has a malformed percent-escape; encode `%` as %25.")
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"`{key}` is not UTF-8 text.") from exc


def _name(raw: bytes, key: str) -> str:
    text = _decode(raw, key)
    if not is_name(text):
        raise BadInput(
            f"`{key}` must be an Lbasedb name: letters, digits and `_` in dot-separated parts that do not "
            "start with a digit (e.g. sensors.t1), at most 256 bytes."
        )
    return text


def _integer(raw: bytes, key: str) -> int:
    text = _decode(raw, key)
    if not (text.isascii() and text.isdigit()) or int(text) > INT_MAX:
        raise BadInput(f"`{key}` must be a whole number from 0 to {INT_MAX}.")
    return int(text)


def parse_query(op: Operation, raw_query: bytes) -> Query:
    """The query of a request to `op`, checked: BadInput (400) for anything Lbasedb could read otherwise."""
    query = Query()
    seen: set[str] = set()
    for part in raw_query.split(b"&"):
        if not part:
            continue
        raw_key, _, raw_value = part.partition(b"=")
        if raw_key in LIST_KEYS and "cols" in op.params:
            query.cols.append(_name(raw_value, "col[]"))
            continue
        key = raw_key.decode("latin-1")
        if key not in op.params or key == "cols":
            shown = key if key.isprintable() and len(key) <= 40 else "(unprintable or long)"
            if key.startswith("col") and "cols" in op.params:
                raise BadInput(
                    f"`{shown}` is not accepted: list columns as col[]=a&col[]=b (no indexes, no nesting)."
                )
            if key.startswith("col") and "col" in op.params:
                raise BadInput(f"`{shown}` is not accepted: name the one column as col=x.")
            raise BadInput(f"Unknown parameter `{shown}` for {op.route}; it accepts: {_accepted(op)}.")
        if key in seen:
            raise BadInput(f"`{key}` is given twice; send each parameter once.")
        seen.add(key)
        if key in ("feed", "name"):
            setattr(query, key, _name(raw_value, key))
        elif key == "col":
            query.cols.append(_name(raw_value, key))
        else:
            setattr(query, key, _integer(raw_value, key))
    if query.ix is not None and query.size is not None and query.ix + query.size > INT_MAX:
        raise BadInput(f"`ix` + `size` must not pass {INT_MAX}.")
    return query


def feed_of(op: Operation, query: Query) -> str | None:
    """The feed the operation acts on, as its query names it."""
    value: str | None = getattr(query, op.feed_param)
    return value
