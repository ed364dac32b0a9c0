"""The bash scripts pass shellcheck (installed by .ci/run; `apt-get install shellcheck` locally)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.ci import unavailable
from tests.support.postgres import SCRIPTS


@pytest.fixture
def shellcheck() -> str:
    found = shutil.which("shellcheck")
    if found is None:
        unavailable("shellcheck is not installed; apt-get install shellcheck")
    return found


def test_bash_scripts_are_clean(shellcheck: str) -> None:
    scripts = sorted(str(path) for path in SCRIPTS.glob("*.sh") if path.name != "wait-for.sh")
    done = subprocess.run([shellcheck, *scripts], cwd=SCRIPTS, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


def test_wait_for_is_posix_sh(shellcheck: str) -> None:
    done = subprocess.run(
        [shellcheck, "--shell=sh", str(SCRIPTS / "wait-for.sh")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout
