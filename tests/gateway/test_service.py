"""The gateway in the app: its metrics, a database outage, and its declaration."""

from __future__ import annotations

import asyncpg

from dockyard import accounts, gateway
from dockyard.core.config import Settings
from dockyard.core.db import open_database
from dockyard.core.services import KNOWN_SERVICES
from tests.gateway.conftest import People, gateway_settings
from tests.gateway.serving import free_port
from tests.support.app import AppClient, app_client, settings_for
from tests.support.lbasedb import StandIn


async def test_metrics_count_requests_decisions_bytes_and_the_pool(client: AppClient, people: People) -> None:
    caller = await people.caller()
    await client.get("/gateway/lbasedb/version", headers=caller.headers)
    await client.get("/gateway/lbasedb/size?feed=not.granted", headers=caller.headers)
    text = (await client.get("/metrics")).text
    assert 'dockyard_gateway_requests_total{decision="allow",route="/version",status="200"}' in text
    assert 'dockyard_gateway_requests_total{decision="deny",route="/size",status="403"}' in text
    assert 'dockyard_gateway_bytes_total{direction="out"}' in text
    assert "dockyard_gateway_upstream_seconds_bucket" in text
    assert "dockyard_gateway_upstream_connections_in_use 0.0" in text


async def test_a_lost_database_is_a_503_in_lbasedbs_shape(client: AppClient) -> None:
    # The database goes away under a running app: its pools now point at a port nobody listens on.
    nowhere = settings_for(f"postgresql://dockyard@127.0.0.1:{free_port()}/none", db_acquire_timeout_s=2)
    working = client.app.state.db
    client.app.state.db = await open_database(nowhere.database_url.get_secret_value(), nowhere)  # type: ignore[union-attr]
    try:
        answer = await client.get("/gateway/lbasedb/version", headers={"Authorization": "Bearer dy_anything"})
        assert answer.status_code == 503
        assert answer.json()["error"] == "service unavailable"
        admin = await client.get("/gateway/api/v1/grants", headers={"Authorization": "Bearer dy_anything"})
        assert admin.status_code == 503
        assert admin.headers["content-type"] == "application/problem+json"
    finally:
        await client.app.state.db.close()
        client.app.state.db = working


async def test_the_cores_refusals_speak_lbasedbs_shape_under_its_paths(
    settings: Settings, lbasedb: tuple[str, StandIn]
) -> None:
    strict = settings.model_copy(update={"rate_limit_anonymous": "1/minute"})
    async with app_client(
        strict, (accounts.service, gateway.service), service_settings=[gateway_settings(lbasedb[0])]
    ) as client:
        await client.get("/gateway/lbasedb/version")
        limited = await client.get("/gateway/lbasedb/version")
        assert limited.status_code == 429
        assert limited.json()["error"] == "too many requests"
        assert "retry-after" in limited.headers


async def test_deleting_a_user_or_group_deletes_their_grants(people: People, db: asyncpg.Connection) -> None:
    group = await people.group()
    caller = await people.caller()
    await people.grant("gone.*", "read", user=caller.user_id)
    await people.grant("gone.*", "read", group=group)
    await db.execute("DELETE FROM accounts.users WHERE id = $1", caller.user_id)
    await db.execute("DELETE FROM accounts.groups WHERE id = $1", group)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM gateway.grants WHERE user_id = $1 OR group_id = $2", caller.user_id, group
        )
        == 0
    )


def test_the_service_is_registered_and_leaves_its_bodies_to_itself() -> None:
    assert KNOWN_SERVICES["gateway"] == "dockyard.gateway"
    assert gateway.service.body_limits == {"/lbasedb": None}
    assert {permission.codename for permission in gateway.service.permissions} >= {
        "gateway.admin",
        "gateway.create_feed",
        "gateway.read",
        "gateway.append",
        "gateway.write",
        "gateway.manage",
    }
