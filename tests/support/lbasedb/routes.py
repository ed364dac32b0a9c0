"""The stand-in's routes: Lbasedb's paths and methods, each answering as its actix handler does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.support.lbasedb.parsing import (
    Fields,
    col_body,
    dataset_body,
    json_body,
    name_body,
    serde_qs,
    size_body,
    urlencoded,
)
from tests.support.lbasedb.store import Store, param_required

VERSION = "0.1.10"


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes | bytearray


@dataclass
class Answer:
    """A response: status, headers and body parts (sent with Content-Length unless a fault says)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    parts: list[bytes | memoryview] = field(default_factory=list)
    # False: no Content-Length at all (Lbasedb's 204s)
    with_length: bool = True


def json_answer(value: Any, status: int = 200) -> Answer:
    return Answer(status, [("content-type", "application/json")], [orjson.dumps(value)])


def empty(status: int) -> Answer:
    return Answer(status, with_length=status != 204)


def _body(request: Request) -> Any:
    return json_body(request.headers.get("content-type"), bytes(request.body))


# serde_urlencoded structs of each resource (lbasedb-api src/resource/*.rs)
FEED_NAME = Fields(strings=("name",), required=("name",))
COL = Fields(strings=("feed", "name"), required=("feed",))
SIZE = Fields(strings=("feed",), required=("feed",))
DATA = Fields(strings=("feed",), integers=("ix", "size"), required=("feed",), col_list=True)
RAW = Fields(strings=("feed", "col"), integers=("ix", "size"), required=("feed", "col", "ix"))


def version(store: Store, request: Request) -> Answer:
    return json_answer({"version": VERSION})


def feed_get(store: Store, request: Request) -> Answer:
    return json_answer(store.feed_list())


def feed_post(store: Store, request: Request) -> Answer:
    store.feed_add(name_body(_body(request)))
    return empty(201)


def feed_patch(store: Store, request: Request) -> Answer:
    query = urlencoded(request.query, FEED_NAME)
    store.feed_rename(query["name"], name_body(_body(request)))
    return empty(204)


def feed_delete(store: Store, request: Request) -> Answer:
    store.feed_remove(urlencoded(request.query, FEED_NAME)["name"])
    return empty(204)


def _name(query: dict[str, Any]) -> str:
    if "name" not in query:
        raise param_required("name")
    name: str = query["name"]
    return name


def col_get(store: Store, request: Request) -> Answer:
    return json_answer(store.col_list(urlencoded(request.query, COL)["feed"]))


def col_post(store: Store, request: Request) -> Answer:
    query = urlencoded(request.query, COL)
    name, datatype = col_body(_body(request))
    if datatype is None:
        raise param_required("datatype")
    store.col_add(query["feed"], name, datatype)
    return empty(201)


def col_patch(store: Store, request: Request) -> Answer:
    query = urlencoded(request.query, COL)
    new = name_body(_body(request))
    store.col_rename(query["feed"], _name(query), new)
    return empty(204)


def col_delete(store: Store, request: Request) -> Answer:
    query = urlencoded(request.query, COL)
    store.col_remove(query["feed"], _name(query))
    return empty(204)


def size_get(store: Store, request: Request) -> Answer:
    return json_answer({"size": store.size_get(urlencoded(request.query, SIZE)["feed"])})


def size_put(store: Store, request: Request) -> Answer:
    query = urlencoded(request.query, SIZE)
    store.size_set(query["feed"], size_body(_body(request)))
    return empty(204)


def _need(query: dict[str, Any], name: str, detail: str | None = None) -> Any:
    if name not in query:
        raise param_required(detail or name)
    return query[name]


def data_get(store: Store, request: Request) -> Answer:
    query = serde_qs(request.query)
    ix, size = _need(query, "ix"), _need(query, "size")
    return json_answer(store.data_get(query["feed"], ix, size, query.get("col", [])))


def data_post(store: Store, request: Request) -> Answer:
    query = urlencoded(request.query, DATA)
    store.data_push(query["feed"], dataset_body(_body(request)))
    return empty(204)


def data_put(store: Store, request: Request) -> Answer:
    query = urlencoded(request.query, DATA)
    dataset = dataset_body(_body(request))
    store.data_save(query["feed"], _need(query, "ix"), dataset)
    return empty(204)


def data_patch(store: Store, request: Request) -> Answer:
    query = urlencoded(request.query, DATA)
    dataset = dataset_body(_body(request))
    store.data_patch(query["feed"], _need(query, "ix"), dataset)
    return empty(204)


def raw_get(store: Store, request: Request) -> Answer:
    query = urlencoded(request.query, RAW)
    block = store.raw_get(query["feed"], query["col"], query["ix"], _need(query, "size"))
    return Answer(200, [], [block])


def raw_post(store: Store, request: Request) -> Answer:
    query = urlencoded(request.query, RAW)
    store.raw_set(query["feed"], query["col"], query["ix"], bytes(request.body))
    return empty(204)


def bytes_get(store: Store, request: Request) -> Answer:
    query = serde_qs(request.query)
    ix, size, cols = _need(query, "ix"), _need(query, "size"), _need(query, "col", "col[]")
    return Answer(200, [], list(store.bytes_get(query["feed"], cols, ix, size)))


def bytes_post(store: Store, request: Request) -> Answer:
    query = serde_qs(request.query)
    store.bytes_push(query["feed"], _need(query, "col", "col[]"), request.body)
    return empty(204)


def bytes_put(store: Store, request: Request) -> Answer:
    query = serde_qs(request.query)
    ix, cols = _need(query, "ix"), _need(query, "col", "col[]")
    store.bytes_save(query["feed"], cols, ix, request.body)
    return empty(204)


def bytes_patch(store: Store, request: Request) -> Answer:
    query = serde_qs(request.query)
    ix, cols = _need(query, "ix"), _need(query, "col", "col[]")
    store.bytes_patch(query["feed"], cols, ix, request.body)
    return empty(204)


def bytes_delete(store: Store, request: Request) -> Answer:
    query = serde_qs(request.query)
    ix, size, cols = _need(query, "ix"), _need(query, "size"), _need(query, "col", "col[]")
    store.bytes_reset(query["feed"], cols, ix, size)
    return empty(204)


Handler = Callable[[Store, Request], Answer]

ROUTES: dict[str, dict[str, Handler]] = {
    "/version": {"GET": version},
    "/feed": {"GET": feed_get, "POST": feed_post, "PATCH": feed_patch, "DELETE": feed_delete},
    "/col": {"GET": col_get, "POST": col_post, "PATCH": col_patch, "DELETE": col_delete},
    "/size": {"GET": size_get, "PUT": size_put},
    "/data": {"GET": data_get, "POST": data_post, "PUT": data_put, "PATCH": data_patch},
    "/raw": {"GET": raw_get, "POST": raw_post},
    "/bytes": {
        "GET": bytes_get,
        "POST": bytes_post,
        "PUT": bytes_put,
        "PATCH": bytes_patch,
        "DELETE": bytes_delete,
    },
}

# Routes whose body actix reads as JSON (its JSON limit and message) rather than raw bytes.
JSON_BODIES = {
    ("POST", "/feed"),
    ("PATCH", "/feed"),
    ("POST", "/col"),
    ("PATCH", "/col"),
    ("PUT", "/size"),
} | {(method, "/data") for method in ("POST", "PUT", "PATCH")}
