"""Response classes: JSON serialised by orjson, and JSON that PostgreSQL already built."""

from __future__ import annotations

from typing import Any

import orjson
from starlette import responses
from starlette.responses import Response


class JSONResponse(responses.JSONResponse):
    """JSON serialised with orjson (datetimes as ISO 8601, UUIDs, dataclasses).

    A subclass of Starlette's JSONResponse, so FastAPI documents a route's response model for it.
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


class RawJSONResponse(Response):
    """A body that is already JSON text (e.g. built by PostgreSQL's json_agg), sent as-is.

    Return it from a route that declares `response_model=...`, so the document still says what it holds.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode()
        raise TypeError("RawJSONResponse takes the JSON text as str or bytes")
