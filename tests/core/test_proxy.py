"""X-Forwarded-* only from TRUSTED_PROXIES; Host only from ALLOWED_HOSTS; PUBLIC_URL follows the server."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Request

from dockyard.core.config import Settings
from dockyard.core.proxy import host_allowed
from dockyard.core.services import Service
from tests.support.app import app_client, settings_for
from tests.support.postgres import PgServer

router = APIRouter()


@router.get("/where")
async def where(request: Request) -> dict[str, Any]:
    return {
        "client": request.client.host if request.client else None,
        "url": str(request.url),
        "forwarded": request.headers.get("x-forwarded-host"),
    }


SERVICE = Service(name="where", title="Where", description="proxy probe", router=router, prefix="/where")
SPOOF = {"x-forwarded-for": "6.6.6.6", "x-forwarded-proto": "https", "x-forwarded-host": "evil.example"}


async def ask(settings: Settings, *, client_ip: str, headers: dict[str, str]) -> Any:
    async with app_client(settings, (SERVICE,), client_ip=client_ip) as client:
        return await client.get("/where/where", headers=headers)


class TestForwarded:
    async def test_ignored_and_removed_from_an_untrusted_client(self, pg: PgServer) -> None:
        answer = await ask(settings_for(pg.admin_url), client_ip="203.0.113.9", headers=SPOOF)
        assert answer.json() == {
            "client": "203.0.113.9",
            "url": "http://testserver/where/where",
            "forwarded": None,
        }

    async def test_applied_from_a_trusted_proxy(self, pg: PgServer) -> None:
        settings = settings_for(
            pg.admin_url, trusted_proxies=["10.0.0.0/8"], allowed_hosts=["api.example.org"]
        )
        headers = {
            "x-forwarded-for": "198.51.100.7, 10.1.2.3",
            "x-forwarded-proto": "https",
            "x-forwarded-host": "api.example.org",
        }
        answer = await ask(settings, client_ip="10.0.0.2", headers=headers)
        assert answer.json()["client"] == "198.51.100.7", "the nearest hop that is not a trusted proxy"
        assert answer.json()["url"] == "https://api.example.org/where/where"
        assert answer.headers["strict-transport-security"].startswith("max-age=")

    async def test_a_forwarded_host_is_still_checked(self, pg: PgServer) -> None:
        settings = settings_for(pg.admin_url, trusted_proxies=["*"])
        answer = await ask(settings, client_ip="10.0.0.2", headers=SPOOF)
        assert answer.status_code == 400
        assert "ALLOWED_HOSTS" in answer.json()["detail"]


class TestHosts:
    async def test_an_unknown_host_is_refused_before_any_link_reflects_it(self, pg: PgServer) -> None:
        answer = await ask(
            settings_for(pg.admin_url), client_ip="127.0.0.1", headers={"host": "evil.example"}
        )
        assert answer.status_code == 400

    async def test_probes_answer_whatever_the_host(self, pg: PgServer) -> None:
        async with app_client(settings_for(pg.admin_url), ()) as client:
            answer = await client.get("/healthz", headers={"host": "10.42.0.17:8000"})
        assert answer.status_code == 200

    @pytest.mark.parametrize(
        ("host", "allowed", "expected"),
        [
            ("api.example.org", ["api.example.org"], True),
            ("API.example.org.", ["api.example.org"], True),
            ("a.b.example.org", [".example.org"], True),
            ("example.org", [".example.org"], True),
            ("badexample.org", [".example.org"], False),
            ("anything", ["*"], True),
            ("evil.example", ["api.example.org"], False),
        ],
    )
    def test_host_patterns(self, host: str, allowed: list[str], expected: bool) -> None:
        assert host_allowed(host, allowed) is expected

    def test_the_default_hosts_are_local_and_the_public_url(self) -> None:
        settings = Settings(_env_file=None, public_url="https://dockyard.example.org")  # type: ignore[call-arg]
        assert settings.served_hosts() == ["localhost", "127.0.0.1", "::1", "dockyard.example.org"]


class TestPublicUrl:
    def test_follows_host_and_port_unless_set(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 - a setting under test, nothing is bound
        monkeypatch.setenv("PORT", "8123")
        assert Settings(_env_file=None).public_url == "http://localhost:8123"  # type: ignore[call-arg]
        monkeypatch.setenv("HOST", "192.0.2.10")
        assert Settings(_env_file=None).public_url == "http://192.0.2.10:8123"  # type: ignore[call-arg]
        given = Settings(_env_file=None, public_url="https://x.example")  # type: ignore[call-arg]
        assert given.public_url == "https://x.example"
