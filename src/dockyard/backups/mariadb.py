"""MariaDB sources: `mariadb-dump` into a gzip file, table sizes and exact row counts.

A source URL is `mariadb://user:password@host:port/database` (or `mysql://…`). The password goes to
the tools through MYSQL_PWD, never on their command line, where any user of the machine could read it.

MariaDB cannot share a snapshot between sessions the way PostgreSQL exports one, so the row counts
are read in a consistent snapshot of their own right after the dump: they equal the dump's when the
source took no writes meanwhile (a backup replica with replication paused, for instance).
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

SCHEMES = ("mariadb", "mysql")

# `schema<TAB>table<TAB>bytes<TAB>rows` for every table of the current database, all counted in one
# consistent snapshot. MariaDB has no format('%I'): names are quoted by doubling their backticks
# (identifiers) and by QUOTE() (strings), on the server, in the one statement that is prepared.
TABLE_ROWS = """SET SESSION group_concat_max_len = 1073741824;
START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;
SELECT coalesce(group_concat(concat(
        'SELECT ', QUOTE(table_schema), ', ', QUOTE(table_name), ', ',
        coalesce(data_length, 0) + coalesce(index_length, 0), ', COUNT(*) FROM `',
        REPLACE(table_schema, '`', '``'), '`.`', REPLACE(table_name, '`', '``'), '`')
    ORDER BY table_name SEPARATOR ' UNION ALL '), 'SELECT 1 FROM DUAL WHERE FALSE')
INTO @dy_counts
FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE';
PREPARE dy_counts FROM @dy_counts;
EXECUTE dy_counts;
DEALLOCATE PREPARE dy_counts;
COMMIT;"""


def is_mariadb(url: str) -> bool:
    """Whether `url` names a MariaDB (or MySQL) server."""
    return urlsplit(url).scheme in SCHEMES


def server(url: str) -> tuple[list[str], dict[str, str]]:
    """(connection options, environment) of the server `url` names; its database is not needed."""
    parts = urlsplit(url)
    options = [f"--host={parts.hostname or '127.0.0.1'}", f"--port={parts.port or 3306}"]
    if parts.username:
        options.append(f"--user={unquote(parts.username)}")
    env = {**os.environ}
    if parts.password:
        env["MYSQL_PWD"] = unquote(parts.password)
    return options, env


def label(url: str) -> str:
    """`host:port` of `url` (`[address]:port` for IPv6), never its credentials."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    return f"[{host}]:{parts.port or 3306}" if ":" in host else f"{host}:{parts.port or 3306}"


def _parts(url: str) -> tuple[list[str], dict[str, str], str]:
    """(connection options, environment, database) for the mariadb tools."""
    database = urlsplit(url).path.lstrip("/")
    if not database:
        raise ValueError("a MariaDB source URL must name the database: mariadb://user@host:3306/name")
    options, env = server(url)
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


def client_command(url: str, sql: str, *, database: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The `mariadb` client running `sql` in batch mode, on `database` (default: the URL's)."""
    options, env = server(url)
    name = database if database is not None else urlsplit(url).path.lstrip("/")
    return [
        "mariadb",
        *options,
        "--batch",
        "--skip-column-names",
        *([f"--database={name}"] if name else []),
        "-e",
        sql,
    ], env


def inventory_command(url: str, *, database: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The `mariadb` client call printing `schema<TAB>table<TAB>bytes<TAB>rows` per table."""
    if database is None:
        _parts(url)  # the source URL must name its database
    return client_command(url, TABLE_ROWS, database=database)


def parse_inventory(output: str) -> list[tuple[str, str, int, int | None]]:
    """The lines `inventory_command` prints as (database, table, size, rows)."""
    found: list[tuple[str, str, int, int | None]] = []
    for line in output.splitlines():
        if line:
            schema, table, size, rows = line.split("\t")
            found.append((schema, table, int(size), int(rows)))
    return found
