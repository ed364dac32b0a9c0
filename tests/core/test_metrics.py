"""Prometheus metrics: counted by route template (not raw path), latency, pool gauges."""

from __future__ import annotations

import re

from fastapi import APIRouter, FastAPI

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


reads: list[int] = []


async def counted_metrics(app: FastAPI) -> bytes:
    """A service hook that counts its calls and reads the database like the backups hook."""
    async with app.state.db.read_pool().acquire() as conn:
        reads.append(await conn.fetchval("SELECT 1"))
    return b"# TYPE probe_reads gauge\nprobe_reads %d\n" % len(reads)


READING = Service(
    name="reading",
    title="Reading",
    description="metrics hook",
    router=APIRouter(),
    prefix="/reading",
    metrics=counted_metrics,
)


class TestAccess:
    async def test_not_public_from_other_addresses(self, pg: PgServer) -> None:
        async with app_client(settings(pg), client_ip="203.0.113.5") as client:
            answer = await client.get("/metrics")
        assert answer.status_code == 403
        assert "METRICS_TOKEN" in answer.json()["detail"]

    async def test_the_token_opens_it_from_anywhere(self, pg: PgServer) -> None:
        token = "scrape-" + "t" * 40
        async with app_client(
            settings_for(pg.admin_url, metrics_token=token), client_ip="203.0.113.5"
        ) as client:
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            right = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert wrong.status_code == 403
        assert right.status_code == 200
        assert "dockyard_http_requests_total" in right.text

    async def test_scrapes_are_rate_limited(self, pg: PgServer) -> None:
        async with app_client(settings_for(pg.admin_url, rate_limit_metrics="2/minute")) as client:
            statuses = [(await client.get("/metrics")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


class TestServiceMetrics:
    async def test_read_once_per_cache_interval(self, pg: PgServer) -> None:
        reads.clear()
        async with app_client(settings_for(pg.admin_url, metrics_cache_s=60), [READING]) as client:
            texts = [(await client.get("/metrics")).text for _ in range(3)]
        assert len(reads) == 1, "scrapes within the interval reuse the services' metrics"
        assert all(sample(text, "dockyard_service_metrics_up", service="reading") == 1 for text in texts)

    async def test_an_unreadable_service_reports_down_and_the_rest_is_served(self) -> None:
        # Nothing listens on port 9: every acquire fails at once.
        settings = settings_for("postgresql://postgres@127.0.0.1:9/none", db_acquire_timeout_s=1)
        async with app_client(settings, [READING]) as client:
            answer = await client.get("/metrics")
        assert answer.status_code == 200
        assert sample(answer.text, "dockyard_service_metrics_up", service="reading") == 0
        assert "dockyard_http_requests_total" in answer.text
