"""Suite-wide fixtures: the PostgreSQL server and the Redis server the tests talk to.

Both come from the environment when set (`DATABASE_URL`, `REDIS_URL`); otherwise PostgreSQL is an
embedded server and Redis a `redis-server` started on a free port. In CI (`CI=true`) a missing
service fails the run instead of skipping tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Throwaway passwords need no production-strength hashing: 8 MiB and one pass keep the suite fast
# (set before anything reads the settings; the defaults stay 64 MiB and 3 passes).
os.environ.setdefault("PASSWORD_HASH_MEMORY_KIB", "8192")
os.environ.setdefault("PASSWORD_HASH_TIME_COST", "1")

from dockyard.core import embedded
from tests.support.ci import IN_CI
from tests.support.postgres import ROOT, PgServer, client_bin_for
from tests.support.redis import RedisServer, redis_server


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    """The PostgreSQL server for this test session."""
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        server = PgServer(admin_url=url, pg_bin=None)
        try:
            server.psql(url, "SELECT 1")
        except RuntimeError as exc:
            pytest.fail(f"PostgreSQL at DATABASE_URL is unreachable: {exc}", pytrace=False)
        yield PgServer(admin_url=url, pg_bin=client_bin_for(url))
        return
    if IN_CI:
        pytest.fail("CI=true needs DATABASE_URL (a real PostgreSQL); none is set", pytrace=False)
    running = embedded.start(ROOT / ".dockyard" / "test")
    try:
        yield PgServer(admin_url=running.admin_url, pg_bin=str(running.bin_dir) if running.bin_dir else None)
    finally:
        running.stop()


@pytest.fixture
def fresh_db(pg: PgServer) -> Iterator[str]:
    """URL of an empty database created for this test and dropped after it."""
    with pg.fresh_database() as url:
        yield url


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A folder for a private embedded server, reachable by its own system user (pytest's tmp_path is
    private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="dy-pg-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """The Redis server for this test session."""
    with redis_server(Path(tmp_path_factory.mktemp("redis")), required=IN_CI) as server:
        yield server


@pytest.fixture(scope="session")
def migrated_db(pg: PgServer) -> Iterator[str]:
    """URL of a database migrated once per test session with db/scripts/migrate_db.sh."""
    with pg.fresh_database("dy_app") as url:
        pg.migrate(url)
        yield url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a skipped test is a failure: every tool a test needs must be installed there."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {reason}"
