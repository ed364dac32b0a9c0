"""The guard between a runner and its backup tool: the tool's whole process group ends with the run.

The runner starts `python -I guard.py -- <tool> <args>…` in a session of its own, with Linux's
parent-death signal set to SIGTERM (`die_with_parent`): when the runner dies, even by SIGKILL, the
guard is told. The guard runs the tool in a process group of its own, so that on SIGTERM, SIGINT or
SIGHUP it signals the whole group (pg_basebackup's WAL-streaming child included, which outlives a
killed pg_basebackup otherwise), gives it `GRACE_S` to end, then kills what is left. When the tool
ends by itself, whatever it left in its group is killed too. The exit status is the tool's, or 128 +
the signal that ended it (or that the guard received).

Only the standard library: the file runs as a script, without importing Dockyard.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import time
from types import FrameType

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
GRACE_S = 10.0
POLL_S = 0.1

# Looked up before any fork: a child of a threaded parent must not load libraries (dlopen locks).
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent(parent: int, signum: int = signal.SIGTERM) -> None:
    """In a new child (`preexec_fn`): receive `signum` when `parent` dies; exit now if it already has."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    if os.getppid() != parent:  # the parent died between fork and prctl: nobody waits for this run
        os._exit(128 + int(signum))


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def run(command: list[str], grace_s: float = GRACE_S) -> int:
    """Run `command` in a process group of its own until it ends or a stop signal comes; its status."""
    received: list[int] = []
    tool: subprocess.Popen[bytes] | None = None

    def stop(signum: int, _frame: FrameType | None) -> None:
        if not received:
            received.append(signum)
            if tool is not None:
                _signal_group(tool.pid, signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    tool = subprocess.Popen(
        command, process_group=0, preexec_fn=functools.partial(die_with_parent, os.getpid(), signal.SIGKILL)
    )
    if received:  # told to stop while the tool was starting
        _signal_group(tool.pid, signal.SIGTERM)
    deadline: float | None = None
    # Wait without reaping (WNOWAIT): while the tool is a zombie its group id cannot be reused, so
    # sweeping the group afterwards never signals another process.
    while os.waitid(os.P_PID, tool.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if received and deadline is None:
            deadline = time.monotonic() + grace_s
        if deadline is not None and time.monotonic() > deadline:
            _signal_group(tool.pid, signal.SIGKILL)
        time.sleep(POLL_S)
    _signal_group(tool.pid, signal.SIGKILL)  # children the tool left behind end with it
    code = tool.wait()
    if received:
        return 128 + received[0]
    return 128 - code if code < 0 else code


def main(argv: list[str]) -> int:
    """`guard.py -- <tool> <args>…`."""
    if len(argv) < 3 or argv[1] != "--":
        print("usage: guard.py -- <tool> [args…]", file=sys.stderr)
        return 2
    try:
        return run(argv[2:])
    except OSError as exc:
        print(f"{argv[2]}: {exc.strerror or exc}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv))
