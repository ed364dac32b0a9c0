"""PostgreSQL connection URLs: swap the database, hide the password."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit


def with_database(url: str, database: str) -> str:
    """Return `url` pointing at `database` instead of its own database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database, safe="")))


def database_name(url: str) -> str:
    """Return the database a URL names (libpq's default is the user name; we require it explicitly)."""
    path = urlsplit(url).path.lstrip("/")
    return path or "postgres"


def redacted(url: str) -> str:
    """Return `url` with its password replaced by `***`, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
