"""The `dockyard` command: help, argument errors, and `serve` as a real process end to end."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from dockyard.cli import app
from dockyard.core.config import get_settings
from tests.support.app import TEST_JWT_SECRET
from tests.support.postgres import ROOT, PgServer

runner = CliRunner()
DOCKYARD = str(Path(sys.executable).parent / "dockyard")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """`serve` run in-process writes os.environ for its workers; later tests must not inherit it."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output
    assert "db" in result.output
    db_help = runner.invoke(app, ["db", "--help"])
    for command in ("init", "migrate", "status", "seed", "backup", "restore", "check", "schema"):
        assert command in db_help.output


def test_unknown_service_is_a_usage_error() -> None:
    result = runner.invoke(app, ["serve", "--service", "bogus"])
    assert result.exit_code == 2
    assert "unknown service(s) bogus" in result.output


def test_restore_needs_an_existing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "restore", str(tmp_path / "missing.dump")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_db_status_runs_the_script(fresh_db: str, pg: PgServer) -> None:
    env = pg.env(fresh_db, NO_COLOR="1", COLUMNS="200")
    done = subprocess.run([DOCKYARD, "db", "status"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "202611221300" in done.stdout + done.stderr
    assert "pending" in (done.stdout + done.stderr).lower()


class Served:
    """A `dockyard serve` child process and the address it listens on."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [DOCKYARD, "serve", "--port", str(self.port), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self, timeout_s: float = 90) -> httpx.Response:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}:\n{self.output()}")
            try:
                response = httpx.get(self.base + "/readyz", timeout=2)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.proc.kill()
        raise AssertionError(f"not ready after {timeout_s}s:\n{self.output()}")

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)

    def output(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        assert self.proc.stdout is not None
        return self.proc.stdout.read()


def test_serve_migrates_a_fresh_database_and_stops_on_ctrl_c(fresh_db: str, pg: PgServer) -> None:
    served = Served(pg.env(fresh_db, LOG_FORMAT="json", JWT_SECRET=TEST_JWT_SECRET), "--migrate")
    ready = served.wait_ready()
    assert ready.json()["schema"]["pending"] == []
    assert httpx.get(served.base + "/healthz").json() == {"status": "ok"}
    assert served.interrupt() == 0
    log = served.output()
    assert '"logger":"dockyard.access"' in log
    applied = pg.psql(fresh_db, "SELECT count(*) FROM public.schema_migrations")
    assert int(applied) >= 1


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Under the project (not /tmp): the embedded server may run as its own system user.
    folder = ROOT / ".dockyard" / f"serve-{uuid.uuid4().hex[:8]}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_serve_on_embedded_postgres_starts_and_stops_cleanly(data_dir: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "PG_BIN"}}
    env.update(DATA_DIR=str(data_dir), LOG_FORMAT="json", SEED_DEMO="false")
    served = Served(env)
    served.wait_ready(timeout_s=120)
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    assert pid_file.exists()
    assert served.interrupt() == 0
    served.output()
    # The embedded server stopped with the app; a second start reuses the same data.
    assert not pid_file.exists()
    again = Served(env)
    body = again.wait_ready(timeout_s=120).json()
    assert body["schema"]["pending"] == []
    assert again.interrupt() == 0
    assert not pid_file.exists()


def test_serve_gives_booting_workers_time_to_answer_the_supervisor(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn kills a worker that does not answer its ping in time; 5 s is too short on a loaded host."""
    calls: list[dict[str, object]] = []
    monkeypatch.setattr("dockyard.cli.uvicorn.run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    monkeypatch.setenv("JWT_SECRET", TEST_JWT_SECRET)
    result = runner.invoke(app, ["serve", "--no-migrate", "--port", "8104", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert calls[-1]["timeout_worker_healthcheck"] == 30
    assert calls[-1]["workers"] == 2
    monkeypatch.setenv("WORKER_HEALTHCHECK_TIMEOUT_S", "90")
    result = runner.invoke(app, ["serve", "--no-migrate", "--port", "8104", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert calls[-1]["timeout_worker_healthcheck"] == 90
