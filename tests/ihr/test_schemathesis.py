"""Property-based requests (schemathesis) against every ihr list of /openapi.json: never a 5xx.

Schemathesis generates parameter values from the OpenAPI description (every filter is a free-form
string there, so anything goes: numbers, dates, unicode, huge values) and calls a real server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from dockyard import ihr
from dockyard.ihr.endpoints import ENDPOINTS
from tests.support.app import settings_for
from tests.support.live import live_server

EXAMPLES_PER_ENDPOINT = 40


@pytest.fixture(scope="module")
def ihr_schema(ihr_db: str) -> Iterator[schemathesis.BaseSchema]:
    with live_server(settings_for(ihr_db), (ihr.service,)) as base:
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


@pytest.mark.parametrize("path", [endpoint.path for endpoint in ENDPOINTS])
def test_no_server_error(ihr_schema: schemathesis.BaseSchema, path: str) -> None:
    operation = ihr_schema[f"/ihr/api/{path}"]["GET"]
    statuses: set[int] = set()

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_ENDPOINT, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        response = case.call(timeout=30)
        case.validate_response(response, checks=[not_a_server_error])
        assert response.status_code in (200, 304, 400, 404), response.text
        statuses.add(response.status_code)

    call()
    assert statuses, "schemathesis made no request"
