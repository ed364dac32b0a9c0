"""With the database unreachable, every arxiv operation answers 503 in its path's style, never a 500.

Streamed answers (NDJSON history, exports) take their connection before the response starts, so
they are refused like the others instead of starting a 200 they cannot finish.
"""

from __future__ import annotations

import socket

import pytest
from tests.arxiv.conftest import arxiv_settings
from tests.support.app import app_client, settings_for
from tests.support.arxiv import ArxivStandIn

from dockyard import accounts, arxiv

REQUESTS = [
    ("GET", "/arxiv/api/v1/queries", {}),
    ("GET", "/arxiv/api/v1/queries?format=ndjson", {}),
    ("GET", "/arxiv/api/v1/queries/1", {}),
    ("GET", "/arxiv/api/v1/queries/1/papers", {}),
    ("GET", "/arxiv/api/v1/queries/1/export?format=bibtex", {}),
    ("GET", "/arxiv/api/v1/papers?text=quantum", {}),
    ("GET", "/arxiv/api/v1/papers/export?format=csv", {}),
    ("GET", "/arxiv/api/v1/papers/2101.00001", {}),
    ("GET", "/arxiv/api/v1/searches/1", {}),
    ("POST", "/arxiv/api/v1/searches", {"json": {"search_query": "all:x"}}),
    ("GET", "/arxiv/results", {}),
    ("GET", "/arxiv/queries?start_timestamp=2024-01-01T00:00:00", {}),
    ("POST", "/arxiv/queries", {"json": {"start_timestamp": "2024-01-01T00:00:00"}}),
    ("GET", "/arxiv/arxiv?author=x", {}),
]


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


@pytest.mark.parametrize(("method", "path", "extra"), REQUESTS)
async def test_every_operation_is_503_without_the_database(
    standin: ArxivStandIn, method: str, path: str, extra: dict[str, object]
) -> None:
    settings = settings_for(_closed_port_url(), db_acquire_timeout_s=1)
    headers = {"Authorization": "Bearer dy_" + "x" * 40} if method == "POST" or "arxiv?" in path else {}
    async with app_client(
        settings, (accounts.service, arxiv.service), service_settings=[arxiv_settings(standin)]
    ) as client:
        answer = await client.request(method, path, headers=headers, **extra)  # type: ignore[arg-type]
    assert answer.status_code == 503, answer.text
    assert "unreachable" in answer.json()["detail"]
    legacy = not path.startswith("/arxiv/api/")
    assert answer.headers["content-type"] == ("application/json" if legacy else "application/problem+json")
    assert standin.calls() == []
