"""A private mariadbd on a data folder (a restored snapshot), for restore tests.

It reads no option file (`--no-defaults`), listens on no TCP port, only on a socket in its own
folder, writes no binary log and checks no grants: nothing the source server was set to do acts
from the copy, and only the restore test, through that socket, reaches it. mariadbd refuses to
run as root; as root, it runs as another user (default `mysql`), who then owns the folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
from pathlib import Path

MARIADBD = ("mariadbd", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld")


class ServerError(Exception):
    """The server could not start (its error log's end is in the message)."""


def binary() -> str | None:
    """The mariadbd program: on PATH, or where Debian installs it (/usr/sbin, not on a user's PATH)."""
    for name in MARIADBD:
        found = shutil.which(name) or (name if os.access(name, os.X_OK) and name.startswith("/") else None)
        if found:
            return found
    return None


def run_as(name: str | None) -> pwd.struct_passwd | None:
    """The user mariadbd runs as: ourselves, or as root `name` (default `mysql`)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name or "mysql")
    except KeyError:
        raise ServerError(
            f"mariadbd does not run as root and there is no user {name or 'mysql'}; pass --run-as"
        ) from None


class PrivateServer:
    """mariadbd on `data`, with its socket, pid file and error log in `work` (short: a socket path
    holds ~100 bytes)."""

    def __init__(
        self,
        data: Path,
        work: Path,
        *,
        user: str | None = None,
        grants: bool = False,
        extra: tuple[str, ...] = (),
    ) -> None:
        program = binary()
        if program is None:
            raise ServerError("no mariadbd found (Debian package mariadb-server)")
        self.program, self.data, self.work, self.extra = program, data, work, extra
        self.grants = grants  # check the copy's grants (a restore test does not: only it connects)
        self.user = run_as(user)
        self.socket = work / "mariadbd.sock"
        self.log = work / "mariadbd.err"
        self.process: asyncio.subprocess.Process | None = None

    def _own(self) -> None:
        """Hand the folders to the server's user (it must read and write all of them)."""
        if self.user is None:
            return
        for folder in (self.work, self.data):
            for root, dirs, names in os.walk(folder):
                os.chown(root, self.user.pw_uid, self.user.pw_gid)
                for name in names + dirs:
                    os.lchown(Path(root) / name, self.user.pw_uid, self.user.pw_gid)

    def command(self) -> list[str]:
        """The mariadbd call (nothing of the machine's configuration read)."""
        return [
            self.program,
            "--no-defaults",
            *([f"--user={self.user.pw_name}"] if self.user else []),
            f"--datadir={self.data}",
            f"--socket={self.socket}",
            f"--pid-file={self.work / 'mariadbd.pid'}",
            f"--log-error={self.log}",
            "--skip-networking",
            *([] if self.grants else ["--skip-grant-tables"]),
            "--innodb-buffer-pool-size=32M",
            *self.extra,
        ]

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    async def start(self, *, timeout_s: float) -> None:
        """Start the server and wait until it answers on its socket (ServerError if it does not)."""
        await asyncio.to_thread(self._own)
        self.process = await asyncio.create_subprocess_exec(
            *self.command(), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not await self._answers():
            if self.process.returncode is not None:
                raise ServerError(f"mariadbd exited with status {self.process.returncode}: {self.log_tail()}")
            if loop.time() > deadline:
                raise ServerError(f"mariadbd did not answer within {timeout_s:.0f} s: {self.log_tail()}")
            await asyncio.sleep(0.2)

    async def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        probe = await asyncio.create_subprocess_exec(
            "mariadb", "--no-defaults", f"--socket={self.socket}", "--user=root", "-e", "SELECT 1",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        return await probe.wait() == 0

    async def stop(self, *, timeout_s: float = 120.0) -> None:
        """Shut the server down (SIGTERM: a clean shutdown), killing it if it takes too long."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
