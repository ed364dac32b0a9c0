"""Request bodies are bounded before anything reads them; ids bounded to their columns; Allow is whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, Request

from dockyard.core.services import Service
from tests.support.app import app_client, settings_for
from tests.support.postgres import PgServer

router = APIRouter()
read_bytes: list[int] = []


@router.post("/echo")
async def echo(request: Request) -> dict[str, int]:
    body = await request.body()
    read_bytes.append(len(body))
    return {"bytes": len(body)}


@router.put("/echo")
async def replace(payload: dict[str, str]) -> dict[str, int]:
    return {"keys": len(payload)}


@router.post("/big/echo")
async def big_echo(request: Request) -> dict[str, int]:
    return {"bytes": len(await request.body())}


@router.post("/own/echo")
async def own_limit(request: Request) -> dict[str, int]:
    return {"bytes": sum([len(chunk) async for chunk in request.stream()])}


SERVICE = Service(
    name="limits",
    title="Limits",
    description="body limits probe",
    router=router,
    prefix="/limits",
    body_limits={"/big": 4096, "/own": None},
)


async def chunks(total: int, size: int = 256) -> AsyncIterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


@pytest.fixture
async def client(pg: PgServer) -> AsyncIterator[object]:
    async with app_client(settings_for(pg.admin_url, max_body_bytes=1024), (SERVICE,)) as client:
        yield client


class TestBodyLimit:
    async def test_a_declared_length_over_the_limit_is_refused_unread(self, client: object) -> None:
        read_bytes.clear()
        answer = await client.post("/limits/echo", content=b"x" * 2000)  # type: ignore[attr-defined]
        assert answer.status_code == 413
        assert answer.headers["content-type"] == "application/problem+json"
        assert "at most 1024 bytes" in answer.json()["detail"]
        assert read_bytes == [], "the handler never ran"

    async def test_a_chunked_body_is_cut_off_when_it_passes_the_limit(self, client: object) -> None:
        answer = await client.post("/limits/echo", content=chunks(4096))  # type: ignore[attr-defined]
        assert answer.status_code == 413
        assert "passed 1024 bytes" in answer.json()["detail"]

    async def test_a_json_body_parsed_by_fastapi_is_413_not_400(self, client: object) -> None:
        answer = await client.put("/limits/echo", content=chunks(4096))  # type: ignore[attr-defined]
        assert answer.status_code == 413

    async def test_bodies_within_the_limit_pass(self, client: object) -> None:
        answer = await client.post("/limits/echo", content=b"x" * 1024)  # type: ignore[attr-defined]
        assert answer.json() == {"bytes": 1024}

    async def test_a_service_raises_the_limit_for_its_paths(self, client: object) -> None:
        ok = await client.post("/limits/big/echo", content=b"x" * 4096)  # type: ignore[attr-defined]
        over = await client.post("/limits/big/echo", content=b"x" * 4097)  # type: ignore[attr-defined]
        assert (ok.status_code, over.status_code) == (200, 413)

    async def test_a_service_may_keep_its_own_limit(self, client: object) -> None:
        answer = await client.post("/limits/own/echo", content=chunks(65536))  # type: ignore[attr-defined]
        assert answer.json() == {"bytes": 65536}

    async def test_a_malformed_length_is_400(self, client: object) -> None:
        answer = await client.post(  # type: ignore[attr-defined]
            "/limits/echo", content=b"x", headers={"content-length": "1, 1"}
        )
        assert answer.status_code == 400


class TestMethods:
    async def test_405_lists_every_method_of_the_path(self, client: object) -> None:
        answer = await client.delete("/limits/echo")  # type: ignore[attr-defined]
        assert answer.status_code == 405
        assert answer.headers["allow"] == "OPTIONS, POST, PUT"
        assert "use OPTIONS, POST, PUT" in answer.json()["detail"]

    async def test_options_answers_the_same_allow(self, client: object) -> None:
        answer = await client.options("/limits/echo")  # type: ignore[attr-defined]
        assert answer.status_code == 204
        assert answer.headers["allow"] == "OPTIONS, POST, PUT"
