"""Logging: JSON or console lines on stdout, the NOTICE level, request ids, access-log fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from dockyard.core.logging import NOTICE, configure_logging, request_id_var
from tests.support.app import app_client, settings_for
from tests.support.postgres import PgServer


@pytest.fixture
def stdout(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """Capture what configure_logging's handler prints; restore the root logger afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    yield capsys
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def lines(capture: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capture.readouterr().out.splitlines() if line]


def test_notice_level_named_between_info_and_warning() -> None:
    assert logging.INFO < NOTICE < logging.WARNING
    assert logging.getLevelName(NOTICE) == "NOTICE"


def test_json_lines_with_fields_and_request_id(stdout: pytest.CaptureFixture[str]) -> None:
    configure_logging(fmt="json", level="INFO")
    token = request_id_var.set("req-42")
    try:
        logging.getLogger("dockyard.test").log(NOTICE, "backup %s done", "b1", extra={"rows": 7})
    finally:
        request_id_var.reset(token)
    entry = json.loads(lines(stdout)[-1])
    assert entry["level"] == "NOTICE"
    assert entry["logger"] == "dockyard.test"
    assert entry["msg"] == "backup b1 done"
    assert entry["request_id"] == "req-42"
    assert entry["rows"] == 7
    assert entry["ts"].endswith("Z")


def test_json_carries_traceback(stdout: pytest.CaptureFixture[str]) -> None:
    configure_logging(fmt="json", level="INFO")
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger("dockyard.test").exception("failed")
    entry = json.loads(lines(stdout)[-1])
    assert entry["level"] == "ERROR"
    assert "ValueError: bad value" in entry["exc"]


def test_console_format_is_readable(stdout: pytest.CaptureFixture[str]) -> None:
    configure_logging(fmt="console", level="INFO")
    logging.getLogger("dockyard.test").warning("disk low", extra={"free_mb": 12})
    line = lines(stdout)[-1]
    assert "WARNING" in line
    assert "dockyard.test: disk low" in line
    assert "free_mb=12" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_level_filters(stdout: pytest.CaptureFixture[str]) -> None:
    configure_logging(fmt="json", level="WARNING")
    logging.getLogger("dockyard.test").log(NOTICE, "quiet")
    logging.getLogger("dockyard.test").warning("loud")
    messages = [json.loads(line)["msg"] for line in lines(stdout)]
    assert messages == ["loud"]


def test_reconfiguring_replaces_only_own_handler(stdout: pytest.CaptureFixture[str]) -> None:
    other = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(other)
    configure_logging(fmt="json")
    configure_logging(fmt="console")
    names = [handler.get_name() for handler in logging.getLogger().handlers]
    assert names.count("dockyard") == 1
    assert other in logging.getLogger().handlers


async def test_access_log_line_per_request(stdout: pytest.CaptureFixture[str], pg: PgServer) -> None:
    configure_logging(fmt="json", level="INFO")
    async with app_client(settings_for(pg.admin_url)) as client:
        response = await client.get("/healthz?x=1", headers={"X-Request-ID": "trace-me"})
    access = [json.loads(line) for line in lines(stdout) if '"dockyard.access"' in line]
    assert len(access) == 1
    entry = access[0]
    assert entry["level"] == "NOTICE"
    assert entry["method"] == "GET"
    assert entry["path"] == "/healthz"
    assert entry["status"] == 200
    assert entry["request_id"] == "trace-me"
    assert entry["bytes"] == len(response.content)
    assert entry["duration_ms"] >= 0
