"""A MariaDB source for mydumper and mariabackup: where it is, which databases, and its password.

A source URL is `mariadb://user:password@host:port/` (the whole instance: every database but the
system ones), `mariadb://…/name` (one database), or carries `?socket=/run/mysqld/mysqld.sock` to
connect through a socket. `--database` (repeatable) chooses databases instead of the URL's.

The password is never on a command line, where any user of the machine can read it: it goes into
an option file (0600) in a private folder (0700) that lives as long as the tool runs, and the tool
reads it (`--defaults-file`, `--defaults-extra-file`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

# Never backed up as data: the server's own schemas (wmfbackups skips them too).
SYSTEM = ("mysql", "information_schema", "performance_schema", "sys")

# Database names we back up. MariaDB allows more, but a name goes into mydumper's --regex and into
# the inventory statement, so only names that need no quoting at all are taken.
NAME = re.compile(r"^[A-Za-z0-9_$-]{1,64}$")


class SourceError(ValueError):
    """The source URL or its databases cannot be backed up as given; the message says why."""


@dataclass(frozen=True)
class Source:
    """A parsed MariaDB source URL (its password only ever goes into an option file)."""

    host: str
    port: int
    user: str | None
    password: str | None
    socket: str | None
    database: str | None  # the URL's, or None: the whole instance

    @classmethod
    def parse(cls, url: str) -> Source:
        """The source `url` names; SourceError when it is not a usable MariaDB URL."""
        parts = urlsplit(url)
        if parts.scheme not in ("mariadb", "mysql"):
            raise SourceError(f"not a MariaDB source URL (mariadb://user@host:3306/): {parts.scheme}://…")
        try:
            port = parts.port or 3306
        except ValueError as exc:
            raise SourceError(f"the source URL's port is not a number: {exc}") from None
        socket = parse_qs(parts.query).get("socket", [None])[-1]
        database = unquote(parts.path.strip("/")) or None
        if database is not None:
            check_name(database)
        return cls(
            host=parts.hostname or ("localhost" if socket else "127.0.0.1"),
            port=port,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            socket=socket,
            database=database,
        )

    def options(self) -> list[str]:
        """Connection options for the tools' command lines: never the password."""
        where = [f"--socket={self.socket}"] if self.socket else [f"--host={self.host}", f"--port={self.port}"]
        return [*where, *([f"--user={self.user}"] if self.user else [])]

    def label(self) -> str:
        """How the catalog and messages name the source: `host:port`, or `host` through a socket."""
        return self.host if self.socket else f"{self.host}:{self.port}"

    def wanted(self, databases: tuple[str, ...]) -> tuple[str, ...] | None:
        """The databases to back up: those asked for, the URL's, or None (all but the system ones)."""
        for name in databases:
            check_name(name)
        if databases:
            return tuple(dict.fromkeys(databases))
        return (self.database,) if self.database else None


def check_name(name: str) -> str:
    """`name` if it is a database name we back up; SourceError saying why not."""
    if not NAME.match(name):
        raise SourceError(
            f"database name {name!r} is not supported: use letters, digits, _, $ or - (at most 64)"
        )
    if name.lower() in SYSTEM:
        raise SourceError(f"{name} is a system database: it is not backed up as data")
    return name


def _quoted(value: str) -> str:
    """An option-file value: double quotes, with backslash escapes for what would end or break it."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


@contextlib.contextmanager
def option_file(source: Source) -> Iterator[Path | None]:
    """An option file with the source's password, in a private folder removed afterwards.

    None when the URL has no password: the tools then connect without one (or with the socket's
    unix_socket authentication).
    """
    if source.password is None:
        yield None
        return
    if "\x00" in source.password:
        raise SourceError("the source password contains a NUL byte")
    folder = Path(tempfile.mkdtemp(prefix="dockyard-my-"))  # 0700
    try:
        path = folder / "client.cnf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            # [client] is read by the mariadb client library (mydumper, myloader) and mariabackup.
            handle.write(f"[client]\npassword={_quoted(source.password)}\n")
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
