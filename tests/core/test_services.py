"""The service registry: mounting, the index page, per-service error styles, unknown names."""

from __future__ import annotations

import re
import sys
import types

import pytest
from fastapi import APIRouter

from dockyard.core.errors import DRF_DETAIL, NotFound
from dockyard.core.services import Link, Service, UnknownServiceError, load_services, resolve_names
from tests.support.app import app_client, settings_for
from tests.support.postgres import PgServer


def make_service(name: str, *, legacy_errors: bool = False) -> Service:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        if thing_id > 10:
            raise NotFound(f"No thing {thing_id}.")
        return {"id": thing_id}

    return Service(
        name=name,
        title=name.title(),
        description=f"The {name} service <test>",
        router=router,
        prefix=f"/{name}",
        links=(Link("Dashboard", f"/{name}/dashboard"),),
        error_style=DRF_DETAIL if legacy_errors else None,
    )


class TestResolveNames:
    def test_all_keeps_registry_order(self) -> None:
        assert resolve_names(["all"], ["b", "a", "c"]) == ["b", "a", "c"]

    def test_subset_in_registry_order(self) -> None:
        assert resolve_names(["c", "b"], ["b", "a", "c"]) == ["b", "c"]

    def test_unknown_named_with_choices(self) -> None:
        with pytest.raises(UnknownServiceError, match=r"unknown service\(s\) zzz; known services: a, b"):
            resolve_names(["a", "zzz"], ["a", "b"])

    def test_empty_registry_says_so(self) -> None:
        with pytest.raises(UnknownServiceError, match="none yet"):
            resolve_names(["ihr"], [])


class TestLoadServices:
    def test_imports_modules_from_registry(self, monkeypatch: pytest.MonkeyPatch) -> None:
        module = types.ModuleType("fake_alpha")
        module.service = make_service("alpha")  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "fake_alpha", module)
        loaded = load_services(["all"], {"alpha": "fake_alpha"})
        assert [service.name for service in loaded] == ["alpha"]

    def test_rejects_misnamed_service(self, monkeypatch: pytest.MonkeyPatch) -> None:
        module = types.ModuleType("fake_beta")
        module.service = make_service("gamma")  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "fake_beta", module)
        with pytest.raises(TypeError, match="named 'beta'"):
            load_services(["beta"], {"beta": "fake_beta"})


class TestMounting:
    async def test_routes_mounted_under_prefix(self, pg: PgServer) -> None:
        async with app_client(settings_for(pg.admin_url), [make_service("alpha")]) as client:
            assert (await client.get("/alpha/things/3")).json() == {"id": 3}
            assert (await client.get("/things/3")).status_code == 404
            spec = (await client.get("/openapi.json")).json()
        assert "/alpha/things/{thing_id}" in spec["paths"]

    async def test_index_lists_services_escaped(self, pg: PgServer) -> None:
        services = [make_service("alpha"), make_service("beta")]
        async with app_client(settings_for(pg.admin_url), services) as client:
            page = await client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "2 service(s) mounted" in page.text
        assert 'href="/alpha/dashboard"' in page.text
        assert 'href="/beta/"' not in page.text, "only links that lead somewhere"
        assert "&lt;test&gt;" in page.text
        assert "<test>" not in page.text

    async def test_index_without_services(self, pg: PgServer) -> None:
        async with app_client(settings_for(pg.admin_url)) as client:
            page = await client.get("/")
        assert "No service is enabled." in page.text

    async def test_error_style_per_prefix(self, pg: PgServer) -> None:
        services = [make_service("legacy", legacy_errors=True), make_service("modern")]
        async with app_client(settings_for(pg.admin_url), services) as client:
            legacy = await client.get("/legacy/things/99")
            modern = await client.get("/modern/things/99")
            legacy_invalid = await client.get("/legacy/things/abc")
        assert legacy.status_code == 404
        assert legacy.json() == {"detail": "No thing 99."}
        assert legacy.headers["content-type"] == "application/json"
        assert modern.status_code == 404
        assert modern.headers["content-type"] == "application/problem+json"
        assert modern.json()["detail"] == "No thing 99."
        assert modern.json()["instance"] == "/modern/things/99"
        assert legacy_invalid.status_code == 422
        assert legacy_invalid.json()["detail"][0]["field"] == "path.thing_id"

    async def test_services_setting_selects_subset(
        self, pg: PgServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from dockyard.app import create_app
        from dockyard.core import services as registry

        for name in ("alpha", "beta"):
            module = types.ModuleType(f"fake_{name}")
            module.service = make_service(name)  # type: ignore[attr-defined]
            monkeypatch.setitem(sys.modules, f"fake_{name}", module)
        monkeypatch.setattr(registry, "KNOWN_SERVICES", {"alpha": "fake_alpha", "beta": "fake_beta"})
        app = create_app(settings_for(pg.admin_url, services=["beta"]), configure_logs=False)
        assert [service.name for service in app.state.services] == ["beta"]
        with pytest.raises(UnknownServiceError):
            create_app(settings_for(pg.admin_url, services=["omega"]), configure_logs=False)


async def test_every_link_of_the_real_index_leads_somewhere(pg: PgServer) -> None:
    async with app_client(settings_for(pg.admin_url), load_services(["all"])) as client:
        page = await client.get("/")
        links = sorted({href.split("#")[0] for href in re.findall(r'href="([^"]+)"', page.text)})
        answers = {href: (await client.get(href)).status_code for href in links}
    assert len(answers) >= 6, answers
    assert {href: status for href, status in answers.items() if status == 404} == {}
