"""How the stand-in reads queries and JSON bodies: as Lbasedb's actix extractors and serde_qs do.

Two query parsers exist in Lbasedb (section 1, "Query parsing"): `serde_urlencoded` behind actix's
`web::Query` (a repeated field is an error, answered as plain text) and `serde_qs` on `GET /data`
and every `/bytes` route (after rewriting `%5B%5D=` to `[]=`; a repeated field takes the last
value; a failure is a JSON `invalid input parameter` carrying the query string).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from tests.support.lbasedb.store import LbasedbError, invalid_input


class ActixError(Exception):
    """An extractor's refusal: plain text, 400 (or 413 for an oversized body)."""

    def __init__(self, text: str, status: int = 400) -> None:
        super().__init__(text)
        self.text = text
        self.status = status


def _usize(text: str) -> int:
    """Rust's `usize::from_str`, with its error texts."""
    digits = text[1:] if text.startswith("+") else text
    if text == "":
        raise ValueError("cannot parse integer from empty string")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("invalid digit found in string")
    value = int(digits)
    if value >= 2**64:
        raise ValueError("number too large to fit in target type")
    return value


def _pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((key, value))
    return pairs


@dataclass
class Fields:
    """The query fields a route's struct declares: strings, integers, and the `col` list."""

    strings: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    col_list: bool = False


def urlencoded(query: str, fields: Fields) -> dict[str, Any]:
    """`web::Query<T>`: serde_urlencoded into a struct; ActixError on failure."""
    found: dict[str, Any] = {}
    try:
        for raw_key, raw_value in _pairs(query):
            key, value = unquote_plus(raw_key), unquote_plus(raw_value)
            known = key in fields.strings or key in fields.integers or (fields.col_list and key == "col")
            if not known:
                continue
            if key in found:
                raise ValueError(f"duplicate field `{key}`")
            if key == "col" and fields.col_list:
                raise ValueError(f'invalid type: string "{value}", expected a sequence')
            found[key] = _usize(value) if key in fields.integers else value
        for key in fields.required:
            if key not in found:
                raise ValueError(f"missing field `{key}`")
    except ValueError as exc:
        raise ActixError(f"Query deserialize error: {exc}") from exc
    return found


_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def serde_qs(query: str, *, required: tuple[str, ...] = ("feed",)) -> dict[str, Any]:
    """`qs_parse` of Lbasedb: the `%5B%5D=` rewrite, then serde_qs into {feed, ix, size, col}."""
    rewritten = query.replace("%5B%5D=", "[]=").replace("%5b%5d=", "[]=")
    scalars: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    indexed: dict[str, dict[int, str]] = {}
    try:
        for raw_key, raw_value in _pairs(rewritten):
            value = unquote_plus(raw_value)
            bracket = raw_key.find("[")
            base = unquote_plus(raw_key if bracket < 0 else raw_key[:bracket])
            rest = "" if bracket < 0 else raw_key[bracket:]
            segments = _SEGMENT.findall(rest)
            if bracket >= 0 and "".join(f"[{s}]" for s in segments) != rest:
                raise ValueError("malformed key")
            if not segments:
                scalars[base] = value
            elif len(segments) > 1:
                if base in ("feed", "ix", "size", "col"):
                    raise ValueError("nested value")
            elif segments[0] == "":
                lists.setdefault(base, []).append(value)
            elif segments[0].isdigit():
                indexed.setdefault(base, {})[int(segments[0])] = value
            elif base in ("feed", "ix", "size", "col"):
                raise ValueError("map value")
        for entries in indexed.values():
            if sorted(entries) != list(range(len(entries))):
                raise ValueError("gapped indices")
        result: dict[str, Any] = {}
        for name in ("feed", "ix", "size"):
            text = scalars.get(name)
            if name in lists:
                text = lists[name][-1]
            if text is None:
                continue
            result[name] = text if name == "feed" else _usize(text)
        if "col" in lists:
            result["col"] = lists["col"]
        elif "col" in indexed:
            result["col"] = [indexed["col"][index] for index in sorted(indexed["col"])]
        elif "col" in scalars:
            result["col"] = [scalars["col"]]
        for name in required:
            if name not in result:
                raise ValueError(f"missing field `{name}`")
    except ValueError as exc:
        raise invalid_input(rewritten) from exc
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return dict(pairs)


def json_body(content_type: str | None, body: bytes) -> Any:
    """`web::Json<T>`: a JSON Content-Type, then a value; ActixError with actix's texts otherwise."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if not (mime == "application/json" or mime.endswith("+json")):
        raise ActixError("Content type error")
    try:
        return json.loads(body, parse_constant=_reject_constant, object_pairs_hook=_pairs_hook)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ActixError(f"Json deserialize error: {exc}") from exc


def _struct_field(document: Any, name: str, kind: type, *, required: bool = True) -> Any:
    if not isinstance(document, dict):
        raise ActixError(f"Json deserialize error: invalid type: expected struct with field `{name}`")
    if name not in document:
        if required:
            raise ActixError(f"Json deserialize error: missing field `{name}`")
        return None
    value = document[name]
    if value is None and not required:
        return None
    if kind is int:
        if type(value) is not int or not 0 <= value < 2**64:
            raise ActixError(f"Json deserialize error: invalid value for `{name}`, expected usize")
    elif type(value) is not kind:
        raise ActixError(f"Json deserialize error: invalid type for `{name}`, expected a string")
    return value


def name_body(document: Any) -> str:
    """`{"name": ...}` (feed create and rename, col rename)."""
    value: str = _struct_field(document, "name", str)
    return value


def col_body(document: Any) -> tuple[str, str | None]:
    """`{"name": ..., "datatype": ...}` (col create; datatype optional in the struct)."""
    return _struct_field(document, "name", str), _struct_field(document, "datatype", str, required=False)


def size_body(document: Any) -> int:
    """`{"size": N}`."""
    value: int = _struct_field(document, "size", int)
    return value


def dataset_body(document: Any) -> dict[str, list[Any]]:
    """A dataset: an object of arrays of integers, floats or strings (Dataunit)."""
    if not isinstance(document, dict):
        raise ActixError("Json deserialize error: invalid type: expected a map")
    for values in document.values():
        if not isinstance(values, list):
            raise ActixError("Json deserialize error: invalid type: expected a sequence")
        for value in values:
            if type(value) not in (int, float, str):
                raise ActixError(
                    "Json deserialize error: data did not match any variant of untagged enum Dataunit"
                )
            if type(value) is int and not -(2**63) <= value < 2**64:
                raise ActixError(
                    "Json deserialize error: data did not match any variant of untagged enum Dataunit"
                )
    # An integer past i64 (a u64) is read as a float by the untagged enum.
    return {
        key: [float(v) if type(v) is int and v >= 2**63 else v for v in values]
        for key, values in document.items()
    }


__all__ = ["ActixError", "Fields", "LbasedbError", "serde_qs", "urlencoded"]
