"""With PostgreSQL stopped every route says 503 (never 500), and all recover on the next request.

The server is a private embedded PostgreSQL that the test really stops and starts again. Every
operation of the OpenAPI document is called, with a superuser's token, plus the routes outside it.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from dockyard.core import embedded
from dockyard.core.services import load_services
from tests.support.app import AppClient, app_client, settings_for
from tests.support.postgres import PgServer

# Routes that never touch the database: they answer the same with it stopped.
# /metrics keeps serving the process's own metrics, with the services' marked down.
NO_DATABASE = {"/healthz", "/openapi.json", "/ihr/api/swagger.json", "/ihr/api/openapi.json", "/", "/metrics"}
OUTSIDE_THE_DOCUMENT = [("GET", "/metrics"), ("GET", "/"), ("GET", "/readyz")]


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for path, item in document["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        found += [
            (method.upper(), concrete)
            for method in item
            if method in {"get", "post", "put", "patch", "delete"}
        ]
    return found + OUTSIDE_THE_DOCUMENT


async def _call(client: AppClient, method: str, path: str, headers: dict[str, str]) -> int:
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    answer = await client.request(method, path, json=body, headers=headers)
    return answer.status_code


async def _superuser_token(client: AppClient, url: str) -> dict[str, str]:
    email = f"outage-{uuid.uuid4().hex[:8]}@example.org"
    password = "a long and unusual passphrase 7"
    conn = await asyncpg.connect(url)
    try:
        await client.post("/accounts/v1/register", json={"email": email, "password": password})
        await conn.execute(
            "UPDATE accounts.users SET email_verified_at = now(), is_superuser = true "
            "WHERE lower(email) = $1",
            email,
        )
    finally:
        await conn.close()
    login = await client.post("/accounts/v1/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.mark.slow
async def test_every_route_is_503_while_the_database_is_down_and_recovers(
    server_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # IHR pages cached in memory are served without the database, by design: read every route from it.
    monkeypatch.setenv("IHR_CACHE_TTL_S", "0")
    server = embedded.start(server_dir)
    try:
        url = server.url("postgres")
        PgServer(server.admin_url, str(server.bin_dir) if server.bin_dir else None).migrate(url)
        settings = settings_for(url, db_acquire_timeout_s=1, rate_limit_login="1000/minute")
        async with app_client(settings, load_services(["all"])) as client:
            headers = await _superuser_token(client, url)
            operations = _operations((await client.get("/openapi.json")).json())
            reads = [(method, path) for method, path in operations if method == "GET"]
            up = {op: await _call(client, *op, headers) for op in reads}

            server.stop()
            down = {op: await _call(client, *op, headers) for op in operations}

            server = embedded.start(server_dir)
            again = {op: await _call(client, *op, headers) for op in reads}
    finally:
        server.stop()

    errors = {op: status for op, status in down.items() if status >= 500 and status != 503}
    assert errors == {}, "an outage must read as 503, never as another 5xx"
    served = [op for op, status in up.items() if status < 300 and op[1] not in NO_DATABASE]
    assert len(served) >= 10, up
    not_503 = {op: down[op] for op in served if down[op] != 503}
    assert not_503 == {}, "routes that served data must say 503 while the database is down"
    assert again == up, "every route answers as before on the first request after the database returns"
