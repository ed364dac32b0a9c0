"""Schemathesis with every check over the core's own operations (health and readiness)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dockyard import accounts
from tests.support import fuzz
from tests.support.postgres import PgServer

CORE = fuzz.operations(accounts.service, prefix="/", skip=lambda path: path.startswith("/accounts/"))


@pytest.fixture(scope="module")
def fuzzed(pg: PgServer) -> Iterator[fuzz.Fuzzed]:
    with fuzz.served(pg, (accounts.service,), name="dy_core_fuzz") as fuzzed:
        yield fuzzed


def test_the_core_documents_its_probes() -> None:
    assert {path for _, path in CORE} == {"/healthz", "/readyz"}


# Positive cases only: the probes take no input, so there is nothing to make invalid.
@pytest.mark.parametrize("caller", ["anonymous", "superuser"])
@pytest.mark.parametrize(("method", "path"), CORE)
def test_every_check_passes(fuzzed: fuzz.Fuzzed, method: str, path: str, caller: str) -> None:
    statuses = fuzz.check_operation(fuzzed.schema, method, path, headers=fuzzed.headers(caller), examples=5)
    assert statuses == {200}, "the probes answer whoever asks, whatever else the request carries"
