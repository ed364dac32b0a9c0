"""docs/CONFIGURATION.md lists every setting of the core and of every service."""

from __future__ import annotations

import re

from pydantic_settings import BaseSettings

from dockyard.core.config import REPO_ROOT, Settings
from dockyard.core.services import load_services

DOCUMENT = (REPO_ROOT / "docs" / "CONFIGURATION.md").read_text()


def variables(kind: type[BaseSettings]) -> set[str]:
    prefix = str(kind.model_config.get("env_prefix") or "")
    return {(prefix + name).upper() for name in kind.model_fields}


def documented() -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", DOCUMENT))


def test_every_core_setting_is_documented() -> None:
    assert variables(Settings) - documented() == set()


def test_every_service_setting_is_documented() -> None:
    kinds = [service.settings for service in load_services(["all"]) if service.settings is not None]
    assert kinds, "at least one service declares settings"
    missing = {name for kind in kinds for name in variables(kind)} - documented()
    assert missing == set()
