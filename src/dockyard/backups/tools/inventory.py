"""What a MariaDB source holds: its databases, and every table's size and exact row count."""

from __future__ import annotations

from pathlib import Path

from dockyard.backups.tools.source import NAME, SYSTEM, Source

# `schema<TAB>table<TAB>bytes<TAB>rows` for every base table of the databases in {schemas}, all
# counted in one consistent snapshot. The names in {schemas} have been checked against NAME (they
# need no quoting); table names are quoted on the server (QUOTE, doubled backticks), as in mariadb.py.
TABLE_ROWS = """SET SESSION group_concat_max_len = 1073741824;
START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;
SELECT coalesce(group_concat(concat(
        'SELECT ', QUOTE(table_schema), ', ', QUOTE(table_name), ', ',
        coalesce(data_length, 0) + coalesce(index_length, 0), ', COUNT(*) FROM `',
        REPLACE(table_schema, '`', '``'), '`.`', REPLACE(table_name, '`', '``'), '`')
    ORDER BY table_schema, table_name SEPARATOR ' UNION ALL '), 'SELECT 1 FROM DUAL WHERE FALSE')
INTO @dy_counts
FROM information_schema.tables WHERE table_schema IN ({schemas}) AND table_type = 'BASE TABLE';
PREPARE dy_counts FROM @dy_counts;
EXECUTE dy_counts;
DEALLOCATE PREPARE dy_counts;
COMMIT;"""

DATABASES = (
    "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN ({system}) ORDER BY 1"
)


def _literals(names: tuple[str, ...]) -> str:
    for name in names:
        if not NAME.match(name):  # never reached with checked names; a guard for the SQL below
            raise ValueError(f"unsupported database name {name!r}")
    return ", ".join(f"'{name}'" for name in names)


def databases_sql() -> str:
    """The statement listing every database but the system ones."""
    return DATABASES.format(system=", ".join(f"'{name}'" for name in SYSTEM))


def table_rows_sql(databases: tuple[str, ...]) -> str:
    """The statement printing `schema<TAB>table<TAB>bytes<TAB>rows` for the tables of `databases`."""
    return TABLE_ROWS.format(schemas=_literals(databases))


def client_command(source: Source, sql: str, *, defaults: Path | None) -> list[str]:
    """The `mariadb` client running `sql` in batch mode (the password read from `defaults`)."""
    return [
        "mariadb",
        *([f"--defaults-extra-file={defaults}"] if defaults else []),
        *source.options(),
        "--batch",
        "--skip-column-names",
        "-e",
        sql,
    ]
