"""Logging to stdout: one JSON object per line (or a readable console line), with a NOTICE level.

NOTICE (25) sits between INFO and WARNING and is for normal operations worth keeping in
production logs: served requests, migrations applied, backups taken.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import sys
from typing import Any

import orjson

NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys() | {"message", "asctime"}
)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRS}


def _timestamp(record: logging.LogRecord) -> str:
    moment = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: ts, level, logger, msg, request_id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update(_fields(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class ConsoleFormatter(logging.Formatter):
    """Formats a record as `time LEVEL logger: message key=value ...` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record)[11:23], f"{record.levelname:<7}", f"{record.name}:", record.getMessage()]
        request_id = request_id_var.get()
        fields = _fields(record)
        if request_id is not None:
            fields.setdefault("request_id", request_id)
        parts.extend(f"{key}={value}" for key, value in fields.items())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(*, fmt: str = "json", level: str = "INFO") -> None:
    """Route all logging (ours, uvicorn's, asyncpg's) to stdout in the chosen format.

    Calling it again replaces only the handler it installed, so other handlers (a test's log
    capture, say) are kept.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    handler.set_name("dockyard")
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "dockyard"] + [handler]
    root.setLevel(logging.getLevelName(level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Our access log replaces uvicorn's.
    logging.getLogger("uvicorn.access").disabled = True
