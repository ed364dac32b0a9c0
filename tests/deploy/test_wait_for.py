"""wait-for.sh over real TCP, run by the system's POSIX sh (dash on Debian)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.postgres import SCRIPTS

WAIT_FOR = str(SCRIPTS / "wait-for.sh")
SHELLS = [shell for shell in ("sh", "dash", "bash") if shutil.which(shell)]


def run(shell: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shell, WAIT_FOR, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("shell", SHELLS)
def test_success_runs_the_command(shell: str, listening: int) -> None:
    done = run(shell, f"127.0.0.1:{listening}", "-t", "5", "--", "sh", "-c", "echo ran; exit 3")
    assert done.returncode == 3  # the command's own exit code
    assert done.stdout == "ran\n"
    assert f"127.0.0.1:{listening} is up" in done.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_success_without_command_exits_0(shell: str, listening: int) -> None:
    done = run(shell, f"127.0.0.1:{listening}", "-q")
    assert done.returncode == 0
    assert done.stderr == ""


@pytest.mark.parametrize("shell", SHELLS)
def test_timeout_still_runs_command_without_strict(shell: str, closed_port: int) -> None:
    began = time.monotonic()
    done = run(shell, f"127.0.0.1:{closed_port}", "-t", "1", "--", "echo", "ran anyway")
    assert done.returncode == 0
    assert done.stdout == "ran anyway\n"
    assert f"timed out after 1 s waiting for 127.0.0.1:{closed_port}" in done.stderr
    assert time.monotonic() - began >= 1


@pytest.mark.parametrize("shell", SHELLS)
def test_strict_timeout_exits_1_without_running(shell: str, closed_port: int) -> None:
    done = run(shell, f"127.0.0.1:{closed_port}", "-t", "1", "-s", "--", "echo", "must not run")
    assert done.returncode == 1
    assert "must not run" not in done.stdout
    assert "timed out" in done.stderr


def test_waits_for_a_port_that_opens_later(closed_port: int) -> None:
    waiter = subprocess.Popen(
        ["sh", WAIT_FOR, f"127.0.0.1:{closed_port}", "-t", "10", "-s", "--", "echo", "finally"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", closed_port))
        server.listen()
        out, _ = waiter.communicate(timeout=15)
    assert waiter.returncode == 0
    assert out == "finally\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "which host:port"),
        (("localhost",), "is not host:port"),
        (("localhost:http",), "is not a port number"),
        (("localhost:80", "-t", "soon"), "is not a whole number"),
        (("localhost:80", "--bogus"), "unknown option"),
        (("a:1", "b:2"), "only one host:port"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    done = run("sh", *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_help() -> None:
    done = run("sh", "--help")
    assert done.returncode == 0
    assert "--strict" in done.stdout
