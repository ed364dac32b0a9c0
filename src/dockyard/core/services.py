"""The service registry: which services exist, and which ones this process mounts.

A service is a package exposing `service = Service(...)` (docs/ADDING_A_SERVICE.md). Everything it
contributes goes through that declaration: its router, error style, permissions, settings, CLI
commands, seeder, lifespan and metrics, so the core never names a service. `app.create_app` mounts
the enabled ones (`SERVICES=ihr,backups` or `all`); `dockyard serve --service NAME` runs one alone
behind path routing. Services never import each other, so any subset can run in one process.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TypeVar

import typer
from fastapi import APIRouter, FastAPI, Request
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.routing import Route

from dockyard.core.errors import ErrorStyle
from dockyard.core.seeds import Seeder

# name -> module exposing `service`; a service is listed here once its package exists.
KNOWN_SERVICES: dict[str, str] = {
    "accounts": "dockyard.accounts",
    "ihr": "dockyard.ihr",
    "backups": "dockyard.backups",
    "mentorship": "dockyard.mentorship",
    "gateway": "dockyard.gateway",
    "arxiv": "dockyard.arxiv",
}


@dataclass(frozen=True)
class Link:
    """A link shown for a service on the index page (a dashboard, its docs)."""

    title: str
    href: str


@dataclass(frozen=True)
class Permission:
    """A permission a service declares: `codename` is `service.action` (e.g. `backups.view`)."""

    codename: str
    description: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", self.codename):
            raise ValueError(f"permission codename {self.codename!r} must look like `service.action`")


class ServiceSettings(BaseSettings):
    """Base of a service's own settings: environment variables (or `.env` lines) with safe defaults.

    Subclasses set `model_config = SettingsConfigDict(env_prefix="NAME_", ...)` through
    `service_settings_config("NAME_")`, so `BACKUPS_STORE` fills `BackupsSettings.store`.
    """

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


def service_settings_config(env_prefix: str) -> SettingsConfigDict:
    """The settings configuration of a service whose variables start with `env_prefix`."""
    return SettingsConfigDict(
        env_prefix=env_prefix, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )


S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class Service:
    """What a service contributes to the app."""

    name: str
    title: str
    description: str
    router: APIRouter
    prefix: str
    links: Sequence[Link] = ()
    # How errors under `prefix` are rendered (None: RFC 9457 problem+json).
    error_style: ErrorStyle | None = None
    # Other styles for parts of the service, by path prefix under `prefix` (e.g. legacy routes
    # keeping an old contract beside a problem+json API); the longest matching prefix wins.
    error_styles: Mapping[str, ErrorStyle] = field(default_factory=dict)
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None
    seeder: Seeder | None = None
    tags: Sequence[str] = field(default_factory=tuple)
    permissions: Sequence[Permission] = ()
    # Extra Prometheus exposition text appended to /metrics, read from the database at scrape time.
    metrics: Callable[[FastAPI], Awaitable[bytes]] | None = None
    # The service's own settings class; the app builds one from the environment (see `settings_of`).
    settings: type[ServiceSettings] | None = None
    # CLI command groups by name: `dockyard NAME ...`.
    commands: Mapping[str, typer.Typer] = field(default_factory=dict)
    # Request-body limits above MAX_BODY_BYTES, by path prefix under `prefix` (e.g. "/api/v1/runs");
    # None means the routes there enforce a limit of their own while they stream the body.
    body_limits: Mapping[str, int | None] = field(default_factory=dict)
    # Plain ASGI routes under `prefix` (no FastAPI parameters, not in the OpenAPI document), matched
    # before the router: for hot paths where the router's walk costs more than the work (core/plainroutes.py).
    plain_routes: Sequence[Route] = ()


def settings_of(app: FastAPI, kind: type[S]) -> S:
    """The app's `kind` settings: given to create_app, else read from the environment once."""
    by_kind: dict[type[ServiceSettings], ServiceSettings] = app.state.service_settings
    found = by_kind.get(kind)
    if found is None:
        found = by_kind[kind] = kind()
    assert isinstance(found, kind)
    return found


def settings_dependency(kind: type[S]) -> Callable[[Request], S]:
    """A FastAPI dependency returning the app's `kind` settings (use it in an `Annotated` alias)."""

    def dependency(request: Request) -> S:
        return settings_of(request.app, kind)

    dependency.__name__ = f"{kind.__name__}_dependency"
    return dependency


class UnknownServiceError(ValueError):
    """SERVICES or --service named a service that does not exist."""


def resolve_names(requested: Sequence[str], known: Sequence[str]) -> list[str]:
    """Expand `all` and check every requested name, keeping the registry's order."""
    wanted = set(requested)
    if "all" in wanted:
        return list(known)
    unknown = sorted(wanted - set(known))
    if unknown:
        choices = ", ".join(known) or "none yet"
        raise UnknownServiceError(f"unknown service(s) {', '.join(unknown)}; known services: {choices}")
    return [name for name in known if name in wanted]


def load_services(requested: Sequence[str], registry: dict[str, str] | None = None) -> list[Service]:
    """Import and return the services named in `requested` (`all` means every known one)."""
    registry = KNOWN_SERVICES if registry is None else registry
    loaded = []
    for name in resolve_names(requested, list(registry)):
        module = importlib.import_module(registry[name])
        service = module.service
        if not isinstance(service, Service) or service.name != name:
            raise TypeError(f"{registry[name]}.service must be a Service named {name!r}")
        loaded.append(service)
    return loaded
