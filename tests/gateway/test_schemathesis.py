"""Schemathesis with every check over the gateway admin API (tests/support/fuzz.py says which), as a
superuser and anonymously. (The data routes keep Lbasedb's contract and are not in the OpenAPI
document; docs/gateway.md describes them, and tests/gateway/test_queries.py fuzzes their queries.)
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest
from schemathesis import GenerationMode

from dockyard import accounts, gateway
from tests.support import fuzz
from tests.support.postgres import PgServer

EXAMPLES = {"superuser": 20, "anonymous": 5}


async def grants_and_audit(conn: asyncpg.Connection) -> None:
    """A feed at every level and one audit row, so lists and filters have something to show."""
    user_id = await conn.fetchval(
        "INSERT INTO accounts.users (email) VALUES ('gateway-grantee@example.org') RETURNING id"
    )
    for index, level in enumerate(("read", "append", "write", "admin")):
        await conn.execute(
            "INSERT INTO gateway.grants (user_id, feed, level) VALUES ($1, $2, $3::gateway.level)",
            user_id,
            f"fuzz.f{index}",
            level,
        )
    await conn.execute(
        "INSERT INTO gateway.audit (user_id, method, route, feed, decision, status) "
        "VALUES ($1, 'GET', '/size', 'fuzz.f0', 'allow', 200)",
        user_id,
    )


@pytest.fixture(scope="module")
def fuzzed(pg: PgServer) -> Iterator[fuzz.Fuzzed]:
    with fuzz.served(
        pg, (accounts.service, gateway.service), name="dy_gw_fuzz", prepare=grants_and_audit
    ) as fuzzed:
        yield fuzzed


@pytest.mark.parametrize("caller", ["superuser", "anonymous"])
@pytest.mark.parametrize("mode", fuzz.MODES)
@pytest.mark.parametrize(("method", "path"), fuzz.operations(gateway.service, prefix="/gateway/"))
def test_every_check_passes(
    fuzzed: fuzz.Fuzzed, method: str, path: str, mode: GenerationMode, caller: str
) -> None:
    statuses = fuzz.check_operation(
        fuzzed.schema, method, path, headers=fuzzed.headers(caller), mode=mode, examples=EXAMPLES[caller]
    )
    if caller == "anonymous":
        assert statuses <= {400, 401, 422}, "an anonymous caller learns nothing but how to ask"
