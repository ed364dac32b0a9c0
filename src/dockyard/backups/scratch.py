"""A private PostgreSQL on an extracted snapshot, for restore tests (restore.py).

The copy gets a configuration of its own: no TCP, a socket in its own folder, no archiving or
replication, so nothing the source server was set to do acts from it. PostgreSQL refuses to run
as root; as root, the server runs as another user (default `postgres`).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tarfile
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from dockyard.backups import runner
from dockyard.backups.runner import STDERR_TAIL
from dockyard.core import embedded

if TYPE_CHECKING:
    from dockyard.backups.restore import Options

# Runs a tool for a stage and returns its stdout, or raises StageFailed (restore's `_Test._tool`).
Tool = Callable[..., Awaitable[str]]


class StageFailed(Exception):
    """A step failed; the test is recorded as failed at `stage` with `message`."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message


def extract(archive: Path, into: Path) -> None:
    """Unpack a .tar.gz, refusing absolute paths, `..` and device files."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(into, filter="data")  # refuses absolute paths, `..` and device files


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _major(postgres: Path) -> int | None:
    try:
        done = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    words = done.stdout.split()
    return int(words[-1].split(".")[0]) if done.returncode == 0 and words else None


def server_bin(major: int, preferred: Path | None) -> Path | None:
    """A folder with pg_ctl and a `postgres` of version `major`: --pg-bin, pgserver's, the system's."""

    def candidates() -> Iterator[Path | None]:
        yield preferred
        with warnings.catch_warnings():  # importing pgserver warns about XDG_RUNTIME_DIR on servers
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            yield embedded.bundled_bin_dir()
        yield Path(f"/usr/lib/postgresql/{major}/bin")
        which = shutil.which("pg_ctl")
        yield Path(which).resolve().parent if which else None

    for folder in candidates():
        if folder and (folder / "pg_ctl").is_file() and _major(folder / "postgres") == major:
            return folder
    return None


CONFIG = """# Written by the restore test: the source's settings (archiving, replication, addresses,
# paths on its server) must not act from this copy, which listens on a private socket only.
listen_addresses = ''
port = {port}
unix_socket_directories = '{sockets}'
hba_file = '{work}/pg_hba.conf'
ident_file = '{work}/pg_ident.conf'
archive_mode = off
max_wal_senders = 0
logging_collector = off
"""


class ScratchServer:
    """A private PostgreSQL on an extracted snapshot, reachable through a socket in its own folder."""

    def __init__(self, work: Path, sockets: Path, options: Options) -> None:
        """Check the extracted folder and find a server of its version; nothing starts yet."""
        self.work, self.data, self.sockets, self.options = work, work / "data", sockets, options
        version = self.data / "PG_VERSION"
        if not version.is_file():
            raise StageFailed(
                "extract", "base.tar.gz holds no PG_VERSION: it is not a PostgreSQL data folder"
            )
        self.major = int(version.read_text().strip().split(".")[0])
        found = server_bin(self.major, options.pg_bin)
        if found is None:
            raise StageFailed(
                "start", f"no PostgreSQL {self.major} server (pg_ctl, postgres) found; pass --pg-bin"
            )
        self.bin = found
        self.port = free_port()
        self.user = _run_as(options.run_as)
        self.started = False

    def _configure(self) -> None:
        for name in ("standby.signal", "recovery.signal", "postmaster.pid"):
            (self.data / name).unlink(missing_ok=True)
        auto = self.data / "postgresql.auto.conf"
        if auto.exists():  # the source's ALTER SYSTEM settings (archive_command…) must not act here
            auto.rename(self.work / "postgresql.auto.conf.from-backup")
        (self.work / "pg_hba.conf").write_text("local all all trust\n")
        (self.work / "pg_ident.conf").write_text("")
        config = CONFIG.format(port=self.port, sockets=self.sockets, work=self.work)
        (self.data / "postgresql.conf").write_text(config)
        self.data.chmod(0o700)
        if self.user is not None:
            for folder in (self.work, self.sockets):
                for root, dirs, names in os.walk(folder):
                    os.chown(root, self.user.pw_uid, self.user.pw_gid)
                    for name in names + [d for d in dirs if (Path(root) / d).is_symlink()]:
                        os.lchown(Path(root) / name, self.user.pw_uid, self.user.pw_gid)

    def _as_user(self) -> dict[str, Any]:
        return {"cwd": self.work, **({"user": self.user.pw_name} if self.user else {})}

    async def start(self, tool: Tool) -> None:
        """Start the server on the copy (`tool` runs pg_ctl and raises StageFailed on failure)."""
        await asyncio.to_thread(self._configure)
        log = self.work / "server.log"
        timeout = str(int(self.options.timeout_s))
        command = [
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(log),
            "-w",
            "-t",
            timeout,
            "start",
        ]
        try:
            await tool(command, stage="start", **self._as_user())
        except StageFailed as exc:
            tail = log.read_text(errors="replace")[-STDERR_TAIL:] if log.exists() else ""
            raise StageFailed("start", f"{exc.message}\n{tail}".strip()) from exc
        finally:
            self.started = (self.data / "postmaster.pid").exists()

    async def wait_for_recovery(self) -> None:
        """Wait until the server has replayed the WAL and accepts connections as a primary."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.timeout_s
        conn = await self._connect("postgres")
        try:
            while await conn.fetchval("SELECT pg_is_in_recovery()"):
                if loop.time() > deadline:
                    raise StageFailed("recovery", f"still in recovery after {self.options.timeout_s:.0f} s")
                await asyncio.sleep(0.5)
        finally:
            await conn.close()

    async def _connect(self, database: str) -> asyncpg.Connection:
        try:
            return await asyncpg.connect(
                host=str(self.sockets),
                port=self.port,
                user=self.options.superuser,
                database=database,
                timeout=30,
            )
        except asyncpg.InvalidAuthorizationSpecificationError as exc:
            raise StageFailed(
                "count", f"{exc}; pass --superuser, a superuser of the backed-up server"
            ) from exc

    async def databases(self) -> list[str]:
        """Every database that accepts connections, templates excepted."""
        conn = await self._connect("postgres")
        try:
            rows = await conn.fetch(
                "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname"
            )
        finally:
            await conn.close()
        return [row["datname"] for row in rows]

    async def table_rows(self, database: str) -> runner.Inventory:
        """Size and rows of every table of `database`."""
        conn = await self._connect(database)
        try:
            return await runner.table_rows(conn)
        finally:
            await conn.close()

    async def stop(self, tool: Tool) -> None:
        """Stop the server: fast, or immediate if that fails (the copy is thrown away or kept as is)."""
        for mode in ("fast", "immediate"):
            command = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]
            try:
                await tool(command, stage="cleanup", **self._as_user())
            except StageFailed:
                if mode == "immediate":
                    raise
            else:
                break
        self.started = False


def _run_as(name: str | None) -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root: as root, it runs as `name` (default: the `postgres` user)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name or "postgres")
    except KeyError:
        raise StageFailed(
            "start",
            f"PostgreSQL does not run as root and there is no user {name or 'postgres'}; pass --run-as",
        ) from None
