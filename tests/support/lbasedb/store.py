"""The stand-in's data model: feeds sharing one size, typed columns, and Lbasedb's error kinds.

Written from specs/gateway-lbasedb.md section 1. Columns are little-endian fixed-width values kept
in one bytearray each; every operation checks in the order Lbasedb does, so the same request
fails with the same error kind and detail.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from array import array
from dataclasses import dataclass, field
from typing import Any

NAME = re.compile(r"[a-zA-Z_][a-zA-Z_0-9]*(\.[a-zA-Z_][a-zA-Z_0-9]*)*")
NAME_BYTES = 256  # names are stored in 256-byte fields: longer ones are cut


class LbasedbError(Exception):
    """A refusal Lbasedb answers as 400 `{"error": kind, "detail": detail}`."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def not_found(name: str) -> LbasedbError:
    return LbasedbError("entity not found", name)


def already_exists(name: str) -> LbasedbError:
    return LbasedbError("entity already exists", name)


def invalid_input(detail: str) -> LbasedbError:
    return LbasedbError("invalid input parameter", detail)


def param_required(name: str) -> LbasedbError:
    return LbasedbError("param required", name)


def end_of_file(end: int) -> LbasedbError:
    return LbasedbError("unexpected end of file", str(end))


INVALID_DATA = LbasedbError("invalid data", "invalid data")


class Panic(Exception):
    """What makes the Rust server drop the connection without answering."""


@dataclass(frozen=True)
class Datatype:
    """Int64, Float64, Int32, Float32 or Bytes[N]."""

    name: str
    width: int

    @classmethod
    def parse(cls, text: str) -> Datatype:
        """The datatype named `text`; an unknown one is a panic (Lbasedb unwraps the parse)."""
        fixed = {"Int64": 8, "Float64": 8, "Int32": 4, "Float32": 4}
        if text in fixed:
            return cls(text, fixed[text])
        if text.startswith("Bytes[") and text.endswith("]"):
            inner = text[6:-1]
            digits = inner[1:] if inner.startswith("+") else inner  # Rust's usize parse takes a '+'
            if digits.isascii() and digits.isdigit():
                return cls(f"Bytes[{int(digits)}]", int(digits))
        raise Panic(f"unknown datatype {text!r}")

    def encode(self, values: list[Any]) -> bytes:
        """The column bytes of JSON `values`; a value of the wrong kind panics, as in Lbasedb."""
        name = self.name
        if name in ("Int64", "Int32"):
            if not all(type(value) is int and -(2**63) <= value < 2**63 for value in values):
                raise Panic(f"a value that is not an integer for an {name} column")
            if name == "Int64":
                return array("q", values).tobytes()
            return array("i", [((value + 2**31) % 2**32) - 2**31 for value in values]).tobytes()
        if name in ("Float64", "Float32"):
            if not all(type(value) is float for value in values):
                raise Panic(f"a value that is not a float for a {name} column")
            if name == "Float64":
                return array("d", values).tobytes()
            return b"".join(_float32(value) for value in values)
        width = self.width
        parts = []
        for value in values:
            if type(value) is not str:
                raise Panic("a value that is not a base64 string for a Bytes column")
            try:
                block = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise Panic("invalid base64") from exc
            parts.append(block[:width].ljust(width, b"\0"))
        return b"".join(parts)

    def decode(self, block: bytes | memoryview) -> list[Any]:
        """JSON values of the column bytes `block`."""
        name = self.name
        if name == "Int64":
            return array("q", bytes(block)).tolist()
        if name == "Int32":
            return array("i", bytes(block)).tolist()
        if name == "Float64":
            return array("d", bytes(block)).tolist()
        if name == "Float32":
            return array("f", bytes(block)).tolist()
        width = self.width
        if width == 0:
            raise Panic("Bytes[0] column read as data")
        return [
            base64.b64encode(block[start : start + width]).decode() for start in range(0, len(block), width)
        ]


def _float32(value: float) -> bytes:
    try:
        return struct.pack("<f", value)
    except OverflowError:  # Rust's `as f32` saturates to infinity
        return struct.pack("<f", math.copysign(math.inf, value))


@dataclass
class Col:
    datatype: Datatype
    data: bytearray = field(default_factory=bytearray)

    def resize(self, rows: int) -> None:
        wanted = rows * self.datatype.width
        if len(self.data) > wanted:
            del self.data[wanted:]
        else:
            self.data.extend(bytes(wanted - len(self.data)))


@dataclass
class Feed:
    size: int = 0
    cols: dict[str, Col] = field(default_factory=dict)


def _stored_name(name: str) -> str:
    """The name as Lbasedb stores it: cut to 256 bytes."""
    encoded = name.encode()
    return encoded[:NAME_BYTES].decode(errors="ignore") if len(encoded) > NAME_BYTES else name


def _check_name(name: str) -> None:
    if NAME.fullmatch(name) is None:
        raise invalid_input(name)


class Store:
    """Every feed of one stand-in server, in memory."""

    def __init__(self) -> None:
        self.feeds: dict[str, Feed] = {}

    def _feed(self, name: str) -> Feed:
        feed = self.feeds.get(name)
        if feed is None:
            raise not_found(name)
        return feed

    def _col(self, feed: Feed, name: str) -> Col:
        col = feed.cols.get(name)
        if col is None:
            raise not_found(name)
        return col

    # feeds
    def feed_list(self) -> list[dict[str, str]]:
        return [{"name": name} for name in self.feeds]

    def feed_add(self, name: str) -> None:
        if name in self.feeds:
            raise already_exists(name)
        _check_name(name)
        self.feeds[_stored_name(name)] = Feed()

    def feed_remove(self, name: str) -> None:
        self._feed(name)
        del self.feeds[name]

    def feed_rename(self, name: str, new: str) -> None:
        self._feed(name)
        if new in self.feeds:
            raise already_exists(new)
        _check_name(new)
        self.feeds[_stored_name(new)] = self.feeds.pop(name)

    # cols
    def col_list(self, feed_name: str) -> list[dict[str, str]]:
        feed = self._feed(feed_name)
        return [{"name": name, "datatype": col.datatype.name} for name, col in feed.cols.items()]

    def col_add(self, feed_name: str, name: str, datatype: str) -> None:
        feed = self._feed(feed_name)
        if name in feed.cols:
            raise already_exists(name)
        _check_name(name)
        col = Col(Datatype.parse(datatype))
        col.resize(feed.size)
        feed.cols[_stored_name(name)] = col

    def col_rename(self, feed_name: str, name: str, new: str) -> None:
        feed = self._feed(feed_name)
        self._col(feed, name)
        if new in feed.cols:
            raise already_exists(new)
        _check_name(new)
        feed.cols[_stored_name(new)] = feed.cols.pop(name)

    def col_remove(self, feed_name: str, name: str) -> None:
        feed = self._feed(feed_name)
        self._col(feed, name)
        del feed.cols[name]

    # size
    def size_get(self, feed_name: str) -> int:
        return self._feed(feed_name).size

    def size_set(self, feed_name: str, size: int) -> None:
        feed = self._feed(feed_name)
        for col in feed.cols.values():
            col.resize(size)
        feed.size = size

    # JSON datasets
    def data_get(self, feed_name: str, ix: int, size: int, cols: list[str]) -> dict[str, list[Any]]:
        feed = self._feed(feed_name)
        if ix + size > feed.size:
            raise end_of_file(ix + size)
        result: dict[str, list[Any]] = {}
        for name in cols:
            col = self._col(feed, name)
            width = col.datatype.width
            result[name] = col.datatype.decode(memoryview(col.data)[ix * width : (ix + size) * width])
        return result

    def data_push(self, feed_name: str, dataset: dict[str, list[Any]]) -> None:
        feed = self._feed(feed_name)
        size = _dataset_size(dataset)
        if size > 0:
            ix = feed.size
            self.size_set(feed_name, ix + size)  # grown first: a panic below leaves zero rows (section 1)
            self._update(feed, ix, dataset, list(dataset))

    def data_save(self, feed_name: str, ix: int, dataset: dict[str, list[Any]]) -> None:
        feed = self._feed(feed_name)
        self._update(feed, ix, dataset, list(feed.cols))

    def data_patch(self, feed_name: str, ix: int, dataset: dict[str, list[Any]]) -> None:
        feed = self._feed(feed_name)
        self._update(feed, ix, dataset, list(dataset))

    def _update(self, feed: Feed, ix: int, dataset: dict[str, list[Any]], names: list[str]) -> None:
        size = _dataset_size(dataset)
        if ix + size > feed.size:
            raise end_of_file(ix + size)
        if size == 0:
            return
        blocks = {}
        for name in names:
            col = feed.cols.get(name)
            if col is None:
                continue  # keys that are not columns are ignored
            values = dataset.get(name)
            width = col.datatype.width
            blocks[name] = col.datatype.encode(values) if values is not None else bytes(size * width)
        for name, block in blocks.items():
            col = feed.cols[name]
            start = ix * col.datatype.width
            col.data[start : start + len(block)] = block

    # raw column bytes
    def raw_get(self, feed_name: str, col_name: str, ix: int, size: int) -> bytes:
        feed = self._feed(feed_name)
        col = self._col(feed, col_name)
        if ix + size > feed.size:
            raise end_of_file(ix + size)
        width = col.datatype.width
        return bytes(col.data[ix * width : (ix + size) * width])

    def raw_set(self, feed_name: str, col_name: str, ix: int, block: bytes) -> None:
        feed = self._feed(feed_name)
        col = self._col(feed, col_name)
        width = col.datatype.width
        if width == 0:
            raise Panic("division by zero")
        end = ix + len(block) // width
        if end > feed.size:
            raise end_of_file(end)
        col.data[ix * width : ix * width + len(block)] = block

    # bytes datasets: every row of the first column, then of the second, ... in request order
    def _cols(self, feed: Feed, names: list[str]) -> list[Col]:
        return [self._col(feed, name) for name in names]

    def bytes_get(self, feed_name: str, names: list[str], ix: int, size: int) -> list[memoryview]:
        feed = self._feed(feed_name)
        if ix + size > feed.size:
            raise end_of_file(ix + size)
        parts = []
        for col in self._cols(feed, names):
            width = col.datatype.width
            parts.append(memoryview(col.data)[ix * width : (ix + size) * width])
        return parts

    def _rows(self, cols: list[Col], body: bytes | bytearray) -> int:
        row_width = sum(col.datatype.width for col in cols)
        if row_width == 0 or len(body) % row_width:
            raise INVALID_DATA
        return len(body) // row_width

    def _write_bytes(self, cols: list[Col], ix: int, rows: int, body: bytes | bytearray) -> None:
        view = memoryview(body)
        offset = 0
        for col in cols:
            width = col.datatype.width
            col.data[ix * width : (ix + rows) * width] = view[offset : offset + rows * width]
            offset += rows * width

    def bytes_push(self, feed_name: str, names: list[str], body: bytes | bytearray) -> None:
        feed = self._feed(feed_name)
        cols = self._cols(feed, names)
        rows = self._rows(cols, body)
        if rows:
            ix = feed.size
            self.size_set(feed_name, ix + rows)
            self._write_bytes(cols, ix, rows, body)

    def bytes_save(self, feed_name: str, names: list[str], ix: int, body: bytes | bytearray) -> None:
        feed = self._feed(feed_name)
        cols = self._cols(feed, names)
        rows = self._rows(cols, body)
        if ix + rows > feed.size:
            raise end_of_file(ix + rows)
        for name, col in feed.cols.items():
            if name not in names:
                width = col.datatype.width
                col.data[ix * width : (ix + rows) * width] = bytes(rows * width)
        self._write_bytes(cols, ix, rows, body)

    def bytes_patch(self, feed_name: str, names: list[str], ix: int, body: bytes | bytearray) -> None:
        feed = self._feed(feed_name)
        cols = self._cols(feed, names)
        rows = self._rows(cols, body)
        if ix + rows > feed.size:
            raise end_of_file(ix + rows)
        self._write_bytes(cols, ix, rows, body)

    def bytes_reset(self, feed_name: str, names: list[str], ix: int, size: int) -> None:
        feed = self._feed(feed_name)
        cols = self._cols(feed, names)
        if ix + size > feed.size:
            raise end_of_file(ix + size)
        for col in cols:
            width = col.datatype.width
            col.data[ix * width : (ix + size) * width] = bytes(size * width)


def _dataset_size(dataset: dict[str, list[Any]]) -> int:
    lengths = {len(values) for values in dataset.values()}
    if len(lengths) > 1:
        raise INVALID_DATA
    return lengths.pop() if lengths else 0
