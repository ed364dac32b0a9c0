"""wait-for.sh over real TCP, run by the system's POSIX sh (dash on Debian) and each probe tool."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ci import unavailable
from tests.support.postgres import SCRIPTS

WAIT_FOR = str(SCRIPTS / "wait-for.sh")
SHELLS = [shell for shell in ("sh", "dash", "bash", "busybox") if shutil.which(shell)]
POSIX_SH = shutil.which("dash") or shutil.which("sh") or "sh"
# The tools wait-for.sh needs besides its probe, and `true` as a command to exec.
BASE_TOOLS = ("sleep", "date", "cat", "grep", "timeout", "true")


def run(shell: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [shell, "sh", WAIT_FOR, *args] if shell == "busybox" else [shell, WAIT_FOR, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env, check=False)


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


def path_with(folder: Path, *tools: str) -> dict[str, str]:
    """An environment whose PATH holds only `tools` (symlinked into `folder`), to pin the probe."""
    folder.mkdir(exist_ok=True)
    for tool in tools:
        # The test's own interpreter stands in for python3 (a pyenv shim would need pyenv on PATH).
        found = os.path.realpath(sys.executable) if tool == "python3" else shutil.which(tool)
        if found is None:
            unavailable(f"{tool} is not installed")
        (folder / tool).symlink_to(found)
    return {"PATH": str(folder)}


class TestAnyShell:
    @pytest.mark.parametrize("shell", SHELLS)
    def test_success_runs_the_command(self, shell: str, listening: int) -> None:
        done = run(shell, f"127.0.0.1:{listening}", "-t", "5", "--", "sh", "-c", "echo ran; exit 3")
        assert done.returncode == 3  # the command's own exit code
        assert done.stdout == "ran\n"
        assert f"127.0.0.1:{listening} is up" in done.stderr

    @pytest.mark.parametrize("shell", SHELLS)
    def test_success_without_command_exits_0_and_quiet_says_nothing(self, shell: str, listening: int) -> None:
        done = run(shell, f"127.0.0.1:{listening}", "-q")
        assert done.returncode == 0
        assert done.stderr == ""

    @pytest.mark.parametrize("shell", SHELLS)
    def test_timeout_still_runs_command_without_strict(self, shell: str, closed_port: int) -> None:
        began = time.monotonic()
        done = run(shell, f"127.0.0.1:{closed_port}", "-t", "1", "--", "echo", "ran anyway")
        assert time.monotonic() - began >= 1
        assert done.returncode == 0
        assert done.stdout == "ran anyway\n"
        assert f"wait-for: timed out after 1 s waiting for 127.0.0.1:{closed_port}\n" in done.stderr

    @pytest.mark.parametrize("shell", SHELLS)
    def test_strict_timeout_exits_1_without_running(self, shell: str, closed_port: int) -> None:
        done = run(shell, f"127.0.0.1:{closed_port}", "-t", "1", "-s", "--", "echo", "must not run")
        assert done.returncode == 1
        assert done.stdout == ""
        assert f"timed out after 1 s waiting for 127.0.0.1:{closed_port}" in done.stderr

    def test_timeout_without_command_exits_1(self, closed_port: int) -> None:
        done = run(POSIX_SH, f"127.0.0.1:{closed_port}", "--timeout=1", "--quiet")
        assert done.returncode == 1
        assert "timed out after 1 s" in done.stderr  # errors are printed even with --quiet


@pytest.mark.parametrize("probe", ["nc", "python3", "bash"])
def test_each_probe_tells_open_from_closed(
    probe: str, tmp_path: Path, listening: int, closed_port: int
) -> None:
    env = path_with(tmp_path / "bin", *BASE_TOOLS, probe)
    up = run(POSIX_SH, f"127.0.0.1:{listening}", "-t", "5", "--", "true", env=env)
    assert up.returncode == 0, up.stderr
    assert f"(probe: {probe})" in up.stderr
    down = run(POSIX_SH, f"127.0.0.1:{closed_port}", "-t", "1", "-s", env=env)
    assert down.returncode == 1
    assert "timed out" in down.stderr


def test_no_probe_tool_is_an_error(tmp_path: Path, listening: int) -> None:
    env = path_with(tmp_path / "bin", *BASE_TOOLS)
    done = run(POSIX_SH, f"127.0.0.1:{listening}", "--", "true", env=env)
    assert done.returncode == 1
    assert "install nc" in done.stderr


def test_waits_for_a_port_that_opens_later(closed_port: int) -> None:
    waiter = subprocess.Popen(
        [POSIX_SH, WAIT_FOR, f"127.0.0.1:{closed_port}", "-t", "10", "-s", "--", "echo", "finally"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    assert waiter.poll() is None  # still waiting
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", closed_port))
        server.listen()
        out, _ = waiter.communicate(timeout=15)
    assert waiter.returncode == 0
    assert out == "finally\n"


def test_sigterm_stops_the_wait(closed_port: int) -> None:
    # As PID 1 in a container a shell ignores SIGTERM unless it traps it; the trap's code proves it does.
    waiter = subprocess.Popen(
        [POSIX_SH, WAIT_FOR, f"127.0.0.1:{closed_port}", "-t", "0", "--", "echo", "must not run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    waiter.send_signal(signal.SIGTERM)
    out, _ = waiter.communicate(timeout=5)
    assert waiter.returncode == 143
    assert out == ""


def test_bracketed_ipv6_address() -> None:
    if not socket.has_ipv6:
        unavailable("no IPv6 in this Python")
    with socket.socket(socket.AF_INET6) as server:
        try:
            server.bind(("::1", 0))
        except OSError:
            unavailable("no IPv6 loopback on this machine")
        server.listen()
        port = server.getsockname()[1]
        done = run(POSIX_SH, f"[::1]:{port}", "-t", "5", "--", "echo", "v6")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "v6\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "which host:port"),
        (("localhost",), "is not host:port"),
        ((":80",), "has no host"),
        (("localhost:http", "--", "echo", "must not run"), "is not a port number"),
        (("localhost:0",), "not between 1 and 65535"),
        (("localhost:65536",), "not between 1 and 65535"),
        (("localhost:80", "-t", "soon"), "is not a whole number"),
        (("localhost:80", "-t"), "needs a number of seconds"),
        (("localhost:80", "--bogus"), "unknown option"),
        (("a:1", "b:2"), "only one host:port"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    done = run(POSIX_SH, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "--help" in done.stderr
    assert done.stdout == ""


def test_help() -> None:
    done = run(POSIX_SH, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("Usage: wait-for.sh host:port")
    assert "--strict" in done.stdout


def test_parses_under_a_posix_shell() -> None:
    # `sh -n` only checks syntax; tests/db/test_shellcheck.py holds the script to POSIX with shellcheck.
    done = subprocess.run([POSIX_SH, "-n", WAIT_FOR], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert Path(WAIT_FOR).read_text().startswith("#!/bin/sh\n")
    assert os.access(WAIT_FOR, os.X_OK)
