"""Prometheus metrics: counted by route template (not raw path), latency, pool gauges."""

from __future__ import annotations

import re

from fastapi import APIRouter

from dockyard.core.config import Settings
from dockyard.core.services import Service
from tests.support.app import app_client, settings_for
from tests.support.postgres import PgServer

router = APIRouter()


@router.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


SERVICE = Service(name="meter", title="Meter", description="metrics probe", router=router, prefix="/meter")


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in exposition text, or None if absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.rsplit("}", 1)[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def settings(pg: PgServer) -> Settings:
    return settings_for(pg.admin_url)


async def test_requests_counted_by_route_template(pg: PgServer) -> None:
    async with app_client(settings(pg), [SERVICE]) as client:
        before = sample(
            (await client.get("/metrics")).text,
            "dockyard_http_requests_total",
            route="/meter/items/{item_id}",
            status="200",
        )
        for item_id in (1, 2, 3):
            assert (await client.get(f"/meter/items/{item_id}")).status_code == 200
        text = (await client.get("/metrics")).text
    after = sample(text, "dockyard_http_requests_total", route="/meter/items/{item_id}", status="200")
    assert after == (before or 0) + 3
    # Raw paths never become label values (that would explode cardinality).
    assert "/meter/items/1" not in text
    count = sample(text, "dockyard_http_request_duration_seconds_count", route="/meter/items/{item_id}")
    assert count is not None
    assert count >= 3


async def test_unmatched_paths_share_one_label(pg: PgServer) -> None:
    async with app_client(settings(pg), [SERVICE]) as client:
        for path in ("/nope/a", "/nope/b", "/meter/items/not-a-number"):
            await client.get(path)
        text = (await client.get("/metrics")).text
    assert "/nope/a" not in text
    assert "/nope/b" not in text
    unmatched = sample(text, "dockyard_http_requests_total", route="<unmatched>", status="404")
    assert unmatched is not None
    assert unmatched >= 2
    invalid = sample(text, "dockyard_http_requests_total", route="/meter/items/{item_id}", status="422")
    assert invalid is not None
    assert invalid >= 1


async def test_pool_gauges_reported(pg: PgServer) -> None:
    from dockyard.core.metrics import sample_pools

    async with app_client(settings(pg)) as client:
        await client.get("/readyz")
        sample_pools(client.app.state.db)
        response = await client.get("/metrics")
    text = response.text
    assert response.headers["content-type"].startswith("text/plain")
    size = sample(text, "dockyard_db_pool_connections", pool="primary")
    in_use = sample(text, "dockyard_db_pool_connections_in_use", pool="primary")
    assert size is not None
    assert size >= 1
    assert in_use == 0
