"""Helpers for `dockyard` commands that work on the database: one connection, clear failures."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.markup import escape

from dockyard.core.config import get_settings
from dockyard.core.scripts import console, database_target

T = TypeVar("T")


def stdout_console() -> Console:
    """A console for a command's output, made when the command runs: the terminal's width, COLUMNS
    when set, else 200 columns so that piped tables do not wrap."""
    wide = sys.stdout.isatty() or os.environ.get("COLUMNS")
    return Console(width=None if wide else 200)


class CommandError(Exception):
    """A command could not do what was asked; the message says why and what to do."""


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `error: message` on standard error; the Exit to raise."""
    console.print("[red]error:[/]", escape(message), highlight=False, soft_wrap=True)
    return typer.Exit(code)


def run_on_database(work: Callable[[asyncpg.Connection], Awaitable[T]], *, fail_code: int = 1) -> T:
    """Run `work` on one connection to DATABASE_URL (or the embedded one); exit `fail_code` on failure."""

    async def on_connection(url: str) -> T:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return run_with_database_url(on_connection, fail_code=fail_code)


def run_with_database_url(work: Callable[[str], Coroutine[Any, Any, T]], *, fail_code: int = 1) -> T:
    """Run `work` with the URL of DATABASE_URL (or of the embedded server, started for it)."""
    get_settings.cache_clear()
    settings = get_settings()
    try:
        with database_target(settings) as target:
            return asyncio.run(work(target.url))
    except CommandError as exc:
        raise fail(str(exc), fail_code) from exc
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise fail(database_failure(exc) or str(exc), fail_code) from exc


def database_failure(exc: BaseException) -> str | None:
    """What to tell the user about a failure to reach or use the database; None if it is not one."""
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{exc}; create it with `dockyard db init`"
    if isinstance(exc, asyncpg.UndefinedTableError | asyncpg.InvalidSchemaNameError):
        return f"{exc}: run `dockyard db migrate` first"
    if isinstance(exc, OSError | TimeoutError | asyncpg.PostgresError | asyncpg.InterfaceError):
        return f"database: {str(exc) or type(exc).__name__}"
    return None


def print_json(rows: Sequence[dict[str, Any]] | dict[str, Any]) -> None:
    """JSON on standard output, datetimes as ISO 8601."""

    def default(value: object) -> str:
        if isinstance(value, dt.datetime):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    typer.echo(json.dumps(rows, default=default, indent=2, ensure_ascii=False))
