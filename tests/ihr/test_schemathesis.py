"""Property-based requests (schemathesis) against every /ihr operation of /openapi.json, with ALL
of schemathesis's checks: no 5xx, every status, header, content type and body as documented,
schema-valid requests accepted and schema-invalid ones refused.

Each operation gets positive cases (values that follow the document: numbers, dates, integer
lists, location keys) and negative ones (values that do not). Some rules cannot be written in an
OpenAPI document — a list's one-of parameters, the timebin window, an AS listed twice in a PUT body —
so a valid request may still get a 400; the check below accepts exactly those messages and nothing
else, so a 400 that names a parameter's value on valid data (a document that lies about a type)
fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from schemathesis import GenerationMode

from dockyard import accounts, ihr
from dockyard.core.types import BIGINT_MAX, BIGINT_MIN
from dockyard.ihr import plan
from dockyard.ihr.endpoints import ENDPOINTS
from tests.ihr import data
from tests.support import fuzz
from tests.support.postgres import PgServer

EXAMPLES = 25  # per operation and mode
# Positive data may meet a rule no schema can state; these are the only 400s it may get.
RULES = (
    plan.NO_TIMEBIN,
    plan.HALF_RANGE,
    plan.UNPARSEABLE,
    plan.ONE_OF,
    "The given timebin range is too large.",
)
DUPLICATE = "may appear only once in the list"
ACCEPTED = ["2xx", "304", "400", "404", "429"]


async def ihr_data(conn: asyncpg.Connection) -> None:
    await data.load(conn)


@pytest.fixture(scope="module")
def fuzzed(pg: PgServer) -> Iterator[fuzz.Fuzzed]:
    with fuzz.served(
        pg, (accounts.service, ihr.service), name="dy_ihr_fuzz", prepare=ihr_data, accepted=ACCEPTED
    ) as fuzzed:
        yield fuzzed


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every ihr operation in the app's own OpenAPI document."""
    return fuzz.operations(ihr.service, prefix="/ihr/")


def _rule_bound(path: str) -> bool:
    endpoint = next((e for e in ENDPOINTS if f"/ihr/api/{e.path}" == path), None)
    return endpoint is not None and (endpoint.one_of != () or endpoint.window.value != "none")


def _refused_valid_data_for_a_rule_only(method: str, path: str, case: Any, response: Any) -> None:
    if response.status_code != 400 or case.meta is None or not case.meta.generation.mode.is_positive:
        return
    body = response.json()
    detail = body.get("detail") if isinstance(body, dict) else None
    if method == "PUT":
        assert isinstance(detail, str), response.text
        assert DUPLICATE in detail, f"valid body refused: {response.text}"
        return
    assert _rule_bound(path), f"{path} has no rule, yet refused valid data: {response.text}"
    assert isinstance(detail, str), f"valid value refused: {response.text}"
    assert detail.startswith(RULES), f"valid value refused: {response.text}"


def _in_bounds_exactly(body: Any) -> bool:
    """False for an `asn` the generator thought within bigint because it compared it as a float.

    Hypothesis draws JSON Schema integers as floats too (`2497.0`), and bounds them by the float
    nearest 2**63 - 1, which is 2**63: such a value is out of the documented range, not valid data.
    """
    if not isinstance(body, list):
        return True
    return all(
        not isinstance(entry, dict)
        or not isinstance(entry.get("asn"), int | float)
        or BIGINT_MIN <= entry["asn"] <= BIGINT_MAX
        for entry in body
    )


def test_every_operation_is_listed() -> None:
    operations = _operations()
    assert {path for _, path in operations} >= {f"/ihr/api/{e.path}" for e in ENDPOINTS}
    assert ("PUT", "/ihr/api/user/monitored_asns") in operations


@pytest.mark.parametrize("mode", fuzz.MODES)
@pytest.mark.parametrize(("method", "path"), _operations())
def test_all_checks(fuzzed: fuzz.Fuzzed, method: str, path: str, mode: GenerationMode) -> None:
    fuzz.check_operation(
        fuzzed.schema,
        method,
        path,
        headers=fuzzed.superuser.bearer,
        mode=mode,
        examples=EXAMPLES,
        keep=lambda case: mode is GenerationMode.NEGATIVE or _in_bounds_exactly(case.body),
        extra=lambda case, response: _refused_valid_data_for_a_rule_only(method, path, case, response),
    )
