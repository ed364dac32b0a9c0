"""Response classes: JSON serialised by orjson, and JSON that PostgreSQL already built."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    """JSON serialised with orjson (datetimes as ISO 8601, UUIDs, dataclasses)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


class RawJSONResponse(Response):
    """A body that is already JSON text (e.g. built by PostgreSQL's json_agg), sent as-is."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode()
        raise TypeError("RawJSONResponse takes the JSON text as str or bytes")
