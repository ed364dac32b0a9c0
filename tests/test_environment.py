"""The servers the suite runs against answer their protocols (in CI, missing ones fail the run)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from tests.support.postgres import PgServer
from tests.support.redis import RedisServer


def test_postgres_answers(pg: PgServer) -> None:
    assert int(pg.psql(pg.admin_url, "SHOW server_version_num")) >= 150000


def test_redis_answers_ping(redis: RedisServer) -> None:
    parts = urlsplit(redis.url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=2) as conn:
        conn.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert conn.recv(64) == b"+PONG\r\n"
