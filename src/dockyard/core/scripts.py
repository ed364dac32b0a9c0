"""Running db/scripts/*.sh: the single implementation of the database lifecycle.

The CLI and the server call these scripts instead of re-implementing them. This module only
resolves which database they act on (DATABASE_URL, or the embedded server) and streams their
output, with a spinner and elapsed time when a person is watching.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from dockyard.core import embedded
from dockyard.core.config import Settings

console = Console(stderr=True)


@dataclass(frozen=True)
class Target:
    """The database the scripts act on, and the client binaries to use for it."""

    url: str
    pg_bin: Path | None
    embedded: bool


@contextlib.contextmanager
def database_target(settings: Settings) -> Iterator[Target]:
    """Yield DATABASE_URL's target, or start the embedded server for the duration of the block."""
    if settings.database_url is not None:
        yield Target(settings.database_url.get_secret_value(), _pg_bin_override(), embedded=False)
        return
    server = embedded.start(settings.data_dir)
    try:
        yield Target(server.url(), server.bin_dir, embedded=True)
    finally:
        server.stop()


def _pg_bin_override() -> Path | None:
    value = os.environ.get("PG_BIN")
    if value:
        return Path(value)
    # With no psql on PATH, the PostgreSQL client bundled with pgserver still works.
    from shutil import which

    return None if which("psql") else embedded.bundled_bin_dir()


def script_env(target: Target, settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a db script runs with: DATABASE_URL, PG_BIN, and this Python for seeding."""
    env = dict(os.environ)
    env["DATABASE_URL"] = target.url
    env["MIGRATIONS_DIR"] = str(settings.migrations_dir)
    env["DOCKYARD_PYTHON"] = sys.executable
    env.setdefault("BACKUP_DIR", str((settings.data_dir / "backups").resolve()))
    if target.pg_bin is not None:
        env["PG_BIN"] = str(target.pg_bin)
    env.update(extra)
    return env


def run_script(
    name: str, args: Sequence[str], *, target: Target, settings: Settings, label: str | None = None
) -> int:
    """Run db/scripts/`name` with `args`, echo its output, and return its exit code."""
    path = settings.scripts_dir / name
    if not path.is_file():
        console.print(f"[red]error:[/] {path} not found; set DB_DIR to the folder holding scripts/")
        return 2
    command = ["bash", str(path), *args]
    env = script_env(target, settings)
    if not console.is_terminal:
        return subprocess.run(command, env=env, check=False).returncode
    began = time.monotonic()
    with (
        console.status(f"{label or name} …") as status,
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc,
    ):
        assert proc.stdout is not None
        for line in proc.stdout:
            console.print(line.rstrip("\n"), markup=False, highlight=False)
            status.update(f"{label or name} … {time.monotonic() - began:.0f}s")
        code = proc.wait()
    colour = "green" if code == 0 else "red"
    console.print(f"[{colour}]{label or name}: exit {code} after {time.monotonic() - began:.1f}s[/]")
    return code
