"""MariaDB sources: `mariadb-dump` into a gzip file, and table sizes from information_schema.

A source URL is `mariadb://user:password@host:port/database` (or `mysql://…`). The password goes to
the tools through MYSQL_PWD, never on their command line, where any user of the machine could read it.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

SCHEMES = ("mariadb", "mysql")
TABLE_SIZES = (
    "SELECT table_schema, table_name, coalesce(data_length, 0) + coalesce(index_length, 0) "
    "FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
)


def is_mariadb(url: str) -> bool:
    return urlsplit(url).scheme in SCHEMES


def _parts(url: str) -> tuple[list[str], dict[str, str], str]:
    """(connection options, environment, database) for the mariadb tools."""
    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    if not database:
        raise ValueError("a MariaDB source URL must name the database: mariadb://user@host:3306/name")
    options = [f"--host={parts.hostname or '127.0.0.1'}", f"--port={parts.port or 3306}"]
    if parts.username:
        options.append(f"--user={unquote(parts.username)}")
    env = {**os.environ}
    if parts.password:
        env["MYSQL_PWD"] = unquote(parts.password)
    return options, env, database


def dump_command(
    url: str, target: Path, section: str, extra: tuple[str, ...]
) -> tuple[list[str], dict[str, str]]:
    """`mariadb-dump` of the source's database into `<target>/<section>.sql`, consistent and complete."""
    options, env, database = _parts(url)
    command = [
        "mariadb-dump",
        *options,
        "--single-transaction",
        "--routines",
        "--events",
        "--triggers",
        f"--result-file={target / f'{section}.sql'}",
        *extra,
        database,
    ]
    return command, env


def compress(target: Path, section: str) -> None:
    """`<section>.sql` → `<section>.sql.gz` (the plain file goes)."""
    plain = target / f"{section}.sql"
    with plain.open("rb") as source, gzip.open(target / f"{section}.sql.gz", "wb", compresslevel=6) as sink:
        shutil.copyfileobj(source, sink, 1 << 20)
    plain.unlink()


def sizes_command(url: str) -> tuple[list[str], dict[str, str]]:
    """The `mariadb` client call printing `schema<TAB>table<TAB>bytes` per table."""
    options, env, database = _parts(url)
    return [
        "mariadb",
        *options,
        "--batch",
        "--skip-column-names",
        f"--database={database}",
        "-e",
        TABLE_SIZES,
    ], env
