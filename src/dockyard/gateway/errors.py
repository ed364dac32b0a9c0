"""Lbasedb's error shape for the data routes, and the gateway's own upstream errors.

Lbasedb answers its refusals as `{"error": <kind>, "detail": <text>}` (specs/gateway-lbasedb.md
section 1); the gateway's own refusals under /gateway/lbasedb/ use the same shape, with the
kind named like Lbasedb's (Rust's `io::ErrorKind` texts: "permission denied", "invalid input
parameter", ...), so a client parses one format whoever refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from dockyard.core.errors import DockyardError, ErrorStyle

KINDS = {
    400: "invalid input parameter",
    401: "authentication required",
    403: "permission denied",
    404: "not found",
    405: "method not allowed",
    411: "length required",
    413: "payload too large",
    415: "unsupported media type",
    422: "invalid input parameter",
    429: "too many requests",
    502: "bad gateway",
    503: "service unavailable",
    504: "timed out",
}


class LbasedbError(BaseModel):
    """Lbasedb's error body."""

    error: str = Field(examples=["permission denied"])
    detail: str = Field(examples=["You need `read` on feed `sensors.t1` (column `x`)."])


def kind_of(status: int) -> str:
    """The `error` text for a status the gateway answers itself."""
    return KINDS.get(status) or HTTPStatus(status).phrase.lower()


def error_body(status: int, detail: str) -> bytes:
    """The JSON body of a gateway refusal."""
    return orjson.dumps({"error": kind_of(status), "detail": detail})


def render_lbasedb(request: Request, status: int, detail: Any, headers: Mapping[str, str]) -> Response:
    """`{"error", "detail"}` with application/json (a list of field problems becomes one line)."""
    if not isinstance(detail, str):
        detail = "; ".join(f"{item['field']}: {item['message']}" for item in detail)
    return Response(error_body(status, detail), status, headers=dict(headers), media_type="application/json")


LBASEDB_STYLE = ErrorStyle(render_lbasedb, "application/json", LbasedbError)
"""The style of everything under /gateway/lbasedb/."""


class BadGateway(DockyardError):
    """Lbasedb could not be reached, or broke off before answering."""

    status = 502


class UnsupportedMediaType(DockyardError):
    status = 415
