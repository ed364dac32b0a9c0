"""Service.plain_routes: raw ASGI routes matched before FastAPI's router, inside every middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from fastapi import APIRouter
from prometheus_client import REGISTRY
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from dockyard.core.services import Service
from tests.support.app import AppClient, app_client, settings_for


class RawEcho:
    """An ASGI app (an object, as Starlette's Route takes one) answering with its path parameters."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = orjson.dumps({"plain": True, "params": scope["path_params"]})
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


router = APIRouter()


@router.get("/items/{item}")
async def item(item: str) -> dict[str, str]:
    return {"item": item}


@router.get("/{anything:path}")
async def catch_all(anything: str) -> dict[str, object]:
    """Would shadow the plain route if the router were asked first."""
    return {"plain": False, "path": anything}


service = Service(
    name="plaintest",
    title="Plain routes test",
    description="A service with one plain ASGI route.",
    router=router,
    prefix="/plaintest",
    plain_routes=(Route("/raw/{name}", endpoint=RawEcho()),),
)


@pytest.fixture
async def client(migrated_db: str) -> AsyncIterator[AppClient]:
    async with app_client(settings_for(migrated_db, rate_limit_anonymous="3/minute"), (service,)) as client:
        yield client


async def test_a_plain_route_is_matched_before_the_router(client: AppClient) -> None:
    answer = await client.get("/plaintest/raw/sensor.one")
    assert answer.status_code == 200
    assert answer.json() == {"plain": True, "params": {"name": "sensor.one"}}


async def test_other_paths_still_reach_the_router(client: AppClient) -> None:
    assert (await client.get("/plaintest/items/7")).json() == {"item": "7"}
    assert (await client.get("/plaintest/raw/a/b")).json() == {"plain": False, "path": "raw/a/b"}


async def test_a_plain_route_passes_through_every_middleware(client: AppClient) -> None:
    before = REGISTRY.get_sample_value(
        "dockyard_http_requests_total", {"method": "GET", "route": "/plaintest/raw/{name}", "status": "200"}
    )
    answer = await client.get("/plaintest/raw/x", headers={"X-Request-ID": "plain-1"})
    assert answer.headers["x-request-id"] == "plain-1"
    assert answer.headers["x-content-type-options"] == "nosniff"
    after = REGISTRY.get_sample_value(
        "dockyard_http_requests_total", {"method": "GET", "route": "/plaintest/raw/{name}", "status": "200"}
    )
    assert (after or 0) - (before or 0) == 1, "counted under its route template"
    statuses = [(await client.get("/plaintest/raw/x")).status_code for _ in range(3)]
    assert statuses[-1] == 429, "the request budget applies"
