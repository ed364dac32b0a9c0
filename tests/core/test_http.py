"""Core middleware, through a real app: request id, security headers, gzip, error boundary, CORS."""

from __future__ import annotations

import gzip
import logging
import zlib

import pytest
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from dockyard.core.config import Settings
from dockyard.core.http import NO_STORE, GZipMiddleware
from dockyard.core.responses import JSONResponse
from dockyard.core.services import Service
from tests.support.app import app_client, settings_for
from tests.support.postgres import PgServer

router = APIRouter()


@router.get("/big")
async def big() -> JSONResponse:
    return JSONResponse({"rows": [{"id": i, "name": f"row {i}"} for i in range(500)]})


@router.get("/small")
async def small() -> JSONResponse:
    return JSONResponse({"ok": True})


@router.get("/encoded")
async def encoded() -> Response:
    body = gzip.compress(b'{"already": "gzip"}' * 200)
    return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})


@router.get("/image")
async def image() -> Response:
    return Response(b"\x89PNG" + bytes(5000), media_type="image/png")


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@router.get("/page")
async def page() -> Response:
    return Response("<html><body>hi</body></html>", media_type="text/html")


@router.get("/private")
async def private(request: Request) -> JSONResponse:
    request.scope[NO_STORE] = True
    return JSONResponse({"mine": True})


@router.get("/cached")
async def cached(request: Request) -> JSONResponse:
    request.scope[NO_STORE] = True
    return JSONResponse({"mine": True}, headers={"Cache-Control": "private, max-age=60"})


@router.get("/text")
async def text() -> PlainTextResponse:
    return PlainTextResponse("plain " * 400)


SERVICE = Service(name="probe", title="Probe", description="test service", router=router, prefix="/probe")


@pytest.fixture
def settings(pg: PgServer) -> Settings:
    return settings_for(pg.admin_url, cors_origins=["https://allowed.example"])


class TestRequestId:
    async def test_generated_when_absent(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            first = await client.get("/healthz")
            second = await client.get("/healthz")
        assert len(first.headers["x-request-id"]) == 32
        assert first.headers["x-request-id"] != second.headers["x-request-id"]

    async def test_honoured_when_well_formed(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            response = await client.get("/healthz", headers={"X-Request-ID": "abc-123.def"})
        assert response.headers["x-request-id"] == "abc-123.def"

    async def test_replaced_when_malformed(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            response = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith<script>"})
        assert response.headers["x-request-id"] != "bad id\twith<script>"
        assert len(response.headers["x-request-id"]) == 32

    async def test_in_problem_body_and_access_log(
        self, settings: Settings, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)
        async with app_client(settings, [SERVICE]) as client:
            response = await client.get("/missing", headers={"X-Request-ID": "trace-me-1"})
        assert response.json()["request_id"] == "trace-me-1"
        access = [r for r in caplog.records if r.name == "dockyard.access"]
        assert access, "no access log line"
        line = access[-1]
        assert line.levelno == 25
        assert (line.method, line.path, line.status) == ("GET", "/missing", 404)
        assert line.bytes == len(response.content)
        assert line.duration_ms >= 0


class TestSecurityHeaders:
    async def test_api_response(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            response = await client.get("/probe/small")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers

    async def test_html_gets_page_csp(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            response = await client.get("/probe/page")
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "default-src 'self'" in csp

    async def test_html_gets_a_permissions_policy_json_does_not_need_one(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            page, api = await client.get("/probe/page"), await client.get("/probe/small")
        policy = page.headers["permissions-policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
            assert feature in policy
        assert "permissions-policy" not in api.headers

    async def test_a_response_marked_private_is_not_stored(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            private, public = await client.get("/probe/private"), await client.get("/probe/small")
            own = await client.get("/probe/cached")
        assert private.headers["cache-control"] == "no-store"
        assert "cache-control" not in public.headers
        assert own.headers["cache-control"] == "private, max-age=60", "a route's own choice is kept"

    async def test_hsts_only_over_https(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE], base_url="https://testserver") as client:
            response = await client.get("/healthz")
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")


class TestGzip:
    async def test_large_json_compressed(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            response = await client.get("/probe/big", headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["vary"]
        assert int(response.headers["content-length"]) < len(response.content)  # httpx decoded it
        assert len(response.json()["rows"]) == 500

    async def test_small_body_left_alone(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            response = await client.get("/probe/small", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in response.headers
        assert response.json() == {"ok": True}

    async def test_not_accepted_or_refused(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            plain = await client.get("/probe/big", headers={"Accept-Encoding": "identity"})
            refused = await client.get("/probe/big", headers={"Accept-Encoding": "gzip;q=0"})
        assert "content-encoding" not in plain.headers
        assert "content-encoding" not in refused.headers

    async def test_already_encoded_not_reencoded(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            response = await client.get("/probe/encoded", headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert response.content == b'{"already": "gzip"}' * 200  # one layer only

    async def test_binary_types_not_compressed(self, settings: Settings) -> None:
        async with app_client(settings, [SERVICE]) as client:
            response = await client.get("/probe/image", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in response.headers

    async def test_stream_compressed_chunk_by_chunk(self) -> None:
        # httpx's ASGI transport buffers bodies, so watch the ASGI messages themselves.
        async def streaming_app(scope: Scope, receive: Receive, send: Send) -> None:
            headers = [(b"content-type", b"application/x-ndjson")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            for i in range(3):
                line = f'{{"n": {i}, "pad": "{"x" * 200}"}}\n'.encode()
                await send({"type": "http.response.body", "body": line, "more_body": i < 2})

        sent: list[Message] = []

        async def collect(message: Message) -> None:
            sent.append(message)

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"accept-encoding", b"gzip")]}
        await GZipMiddleware(streaming_app, minimum_size=10)(scope, receive, collect)

        start, *bodies = sent
        headers = dict(start["headers"])
        assert headers[b"content-encoding"] == b"gzip"
        assert b"content-length" not in headers
        assert len(bodies) == 3, "a streamed body must stay streamed"
        assert [m.get("more_body", False) for m in bodies] == [True, True, False]
        # Each chunk is sync-flushed: the first one alone already decodes to a complete line.
        assert zlib.decompressobj(31).decompress(bodies[0]["body"]).startswith(b'{"n": 0')
        lines = gzip.decompress(b"".join(m["body"] for m in bodies)).splitlines()
        assert len(lines) == 3


class TestErrorBoundary:
    async def test_500_without_internals(self, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.ERROR)
        async with app_client(settings, [SERVICE]) as client:
            response = await client.get("/probe/boom")
        assert response.status_code == 500
        body = response.json()
        assert body["detail"].startswith("Internal server error")
        assert body["request_id"] == response.headers["x-request-id"]
        assert "hunter2" not in response.text
        assert "Traceback" not in response.text
        logged = [r for r in caplog.records if r.name == "dockyard.errors"]
        assert logged
        assert "RuntimeError" in logged[-1].traceback
        assert response.headers["x-content-type-options"] == "nosniff"


class TestCors:
    async def test_preflight_for_allowed_origin(self, settings: Settings) -> None:
        headers = {"Origin": "https://allowed.example", "Access-Control-Request-Method": "GET"}
        async with app_client(settings, [SERVICE]) as client:
            allowed = await client.options("/probe/small", headers=headers)
            denied = await client.options(
                "/probe/small", headers={**headers, "Origin": "https://evil.example"}
            )
        assert allowed.headers["access-control-allow-origin"] == "https://allowed.example"
        assert "access-control-allow-origin" not in denied.headers
