"""An embedded PostgreSQL (pgserver) for running Dockyard with no database configured.

The server keeps its data under `<data_dir>/pgdata`, listens only on a Unix socket in that
directory, and is shared by every process that opens it: it stops when the last one closes. A
process that died without closing (kill -9 of a backup runner) no longer counts, and the stop is
PostgreSQL's fast shutdown, then an immediate one if sessions (a replication client still
streaming, say) hold it up for more than `FAST_STOP_S`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.core.dburl import with_database

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "dockyard"
FAST_STOP_S = 15


def bundled_bin_dir() -> Path | None:
    """The directory holding pgserver's psql, pg_dump and friends, if pgserver is installed."""
    try:
        import pgserver
    except ImportError:
        return None
    path = Path(pgserver.__file__).parent / "pginstall" / "bin"
    return path if path.is_dir() else None


@dataclass
class EmbeddedPostgres:
    """A running embedded server; `stop()` releases this process's handle on it."""

    data_dir: Path
    admin_url: str
    bin_dir: Path | None
    _server: Any = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        """The URL of `database` on the embedded server."""
        return with_database(self.admin_url, database)

    def stop(self) -> None:
        """Release this process's handle; the server shuts down with the last live handle."""
        if self._stopped:
            return
        self._stopped = True
        server = self._server
        with server._lock:  # pgserver's lock on its list of handles
            handles = server.global_process_id_list
            live = [pid for pid in handles.get() if pid == os.getpid() or _alive(pid)]
            handles.put(live)
            if live == [os.getpid()]:
                self._shut_down()
        server.cleanup()  # drops this handle; the server is already stopped if it was the last
        logger.log(25, "embedded postgres released", extra={"data_dir": str(self.data_dir)})

    def _shut_down(self) -> None:
        """Fast shutdown (sessions are ended); immediate if something still holds it up."""
        from pgserver import _commands  # its pg_ctl runs as the server's user when we are root

        pg_ctl = _commands.pg_ctl  # type: ignore[attr-defined]  # made at import, one per binary

        info = self._server._postmaster_info
        if info is None or not info.is_running():
            return
        user = self._server.system_user
        for mode in ("fast", "immediate"):
            try:
                pg_ctl(["-m", mode, "-w", "-t", str(FAST_STOP_S), "stop"], pgdata=self.data_dir, user=user)
            except subprocess.CalledProcessError:
                logger.warning("embedded postgres did not stop", extra={"mode": mode})
                continue
            logger.log(25, "embedded postgres stopped", extra={"mode": mode})
            return


def _alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie has ended)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def start(data_dir: Path) -> EmbeddedPostgres:
    """Start (or join) the embedded PostgreSQL whose data lives under `data_dir`."""
    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # pgserver logs every pg_ctl call at INFO, and platformdirs warns about XDG_RUNTIME_DIR on
    # servers without a login session; neither helps the person running Dockyard.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    began = time.monotonic()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from pgserver.postgres_server import get_server  # here: only needed without DATABASE_URL

        server = get_server(pgdata, cleanup_mode="stop")
    logger.log(
        25,
        "embedded postgres ready",
        extra={"data_dir": str(pgdata), "seconds": round(time.monotonic() - began, 2)},
    )
    return EmbeddedPostgres(
        data_dir=pgdata,
        admin_url=server.get_uri("postgres"),
        bin_dir=bundled_bin_dir(),
        _server=server,
    )
