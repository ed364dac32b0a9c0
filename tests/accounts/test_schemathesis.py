"""Schemathesis with every check over every /accounts operation (tests/support/fuzz.py says which).

Each operation is called with generated valid and invalid input, once anonymously and once as a
logged-in superuser who gets a fresh session for each case, so an operation that ends sessions
(logout, logout-all, revoke-sessions) does not starve the next ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from schemathesis import GenerationMode

from dockyard import accounts
from tests.support import fuzz
from tests.support.postgres import PgServer

EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}


@pytest.fixture(scope="module")
def tally() -> Iterator[fuzz.Tally]:
    found = fuzz.Tally()
    yield found
    print("\n" + found.summary("accounts"))


@pytest.fixture(scope="module")
def fuzzed(pg: PgServer) -> Iterator[fuzz.Fuzzed]:
    # Wide budgets and a short flood wait: generated input repeats addresses far more than people do.
    with fuzz.served(
        pg,
        (accounts.service,),
        name="dy_acc_fuzz",
        rate_limit_login_ip="100000/minute",
        login_slowdown_max_s=0.01,
        rate_limit_mail_ip="100000/minute",
        rate_limit_mail_account="100000/minute",
    ) as fuzzed:
        yield fuzzed


@pytest.mark.parametrize("caller", ["anonymous", "superuser"])
@pytest.mark.parametrize("mode", fuzz.MODES)
@pytest.mark.parametrize(("method", "path"), fuzz.operations(accounts.service, prefix="/accounts/"))
def test_every_check_passes(
    fuzzed: fuzz.Fuzzed, tally: fuzz.Tally, method: str, path: str, mode: GenerationMode, caller: str
) -> None:
    fuzz.check_operation(
        fuzzed.schema,
        method,
        path,
        headers=fuzzed.headers(caller),
        mode=mode,
        examples=EXAMPLES[mode],
        tally=tally,
    )
