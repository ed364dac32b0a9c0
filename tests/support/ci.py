"""Whether the tests run in CI, and what a missing tool or service means there."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(message: str) -> NoReturn:
    """A tool or service a test needs is missing: a failure in CI (it must run there), else a skip."""
    if IN_CI:
        pytest.fail(f"{message} (CI must run every test)", pytrace=False)
    pytest.skip(message)
