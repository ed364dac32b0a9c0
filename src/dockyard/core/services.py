"""The service registry: which services exist, and which ones this process mounts.

A service is a package exposing `service = Service(...)`. `app.create_app` mounts the enabled ones
(`SERVICES=ihr,backups` or `all`); `dockyard serve --service NAME` runs one alone behind path routing.
Services never import each other, so any subset can run in one process.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI

from dockyard.core.errors import ErrorRenderer
from dockyard.core.seeds import Seeder

# name -> module exposing `service`; a service is listed here once its package exists.
KNOWN_SERVICES: dict[str, str] = {
    "accounts": "dockyard.accounts",
    "ihr": "dockyard.ihr",
    "backups": "dockyard.backups",
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


@dataclass(frozen=True)
class Service:
    """What a service contributes to the app."""

    name: str
    title: str
    description: str
    router: APIRouter
    prefix: str
    links: Sequence[Link] = ()
    error_renderer: ErrorRenderer | None = None
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None
    seeder: Seeder | None = None
    tags: Sequence[str] = field(default_factory=tuple)
    permissions: Sequence[Permission] = ()
    # Extra Prometheus exposition text appended to /metrics, read from the database at scrape time.
    metrics: Callable[[FastAPI], Awaitable[bytes]] | None = None


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
