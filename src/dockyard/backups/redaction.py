"""Secrets out of what the backups service records and logs: passwords, tokens, URL userinfo.

A tool's stderr, an exception's text or a message registered over the API may hold a source's
connection string: `postgresql://backup:s3cret@db1139/enwiki`, libpq's `host=db1139 password=s3cret`,
`MYSQL_PWD=…`, a `?password=` parameter or an `Authorization: Bearer …` header. `redact` replaces
each secret with `***` and leaves the rest (host, port, database, the error itself) readable.
Every message the service records (`error_message`, restore-test errors) goes through it, and every
logger of the service is made by `logger`, whose filter redacts the line and its traceback.
"""

from __future__ import annotations

import logging
import re

__all__ = ["MASK", "logger", "redact"]

MASK = "***"

# scheme://userinfo@host: the whole userinfo goes (a user name can be a token, as in
# https://TOKEN@host). Up to the last `@` of the word, so an unescaped `@`, `/` or `?` in a
# password leaves nothing behind (at worst a host is masked with it).
_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)(?:[^\s'\"<>@]*@)+")

# key=value and key: value where the key names a secret: password, passwd, pwd, sslpassword,
# PGPASSWORD, MYSQL_PWD, *token*, *secret*, api keys. The value may be quoted (libpq allows
# 'a b' with backslash escapes).
_KEY_VALUE = re.compile(
    r"""(?ix)
    (\b[\w-]*?(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key)[\w-]*["']?\s*[=:]\s*)
    ( '(?:[^'\\]|\\.)*' | "(?:[^"\\]|\\.)*" | [^\s&;,'"]+ )
    """
)

_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}")


def redact(text: str) -> str:
    """`text` with every password, token and URL userinfo replaced by `***`."""
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _KEY_VALUE.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


class RedactingFilter(logging.Filter):
    """Redacts a record's message (arguments merged in) and its traceback before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if record.exc_info:  # formatters print the traceback from exc_info: it joins the message
            clean += "\n" + redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info, record.exc_text = None, None
        if clean != message:
            record.msg, record.args = clean, None
        return True


def logger(name: str) -> logging.Logger:
    """The logger `name`, with the redacting filter: use it for every logger of the service."""
    found = logging.getLogger(name)
    if not any(isinstance(item, RedactingFilter) for item in found.filters):
        found.addFilter(RedactingFilter())
    return found


logger("dockyard.backups")  # the service's own logger too (a filter applies only where it is set)
