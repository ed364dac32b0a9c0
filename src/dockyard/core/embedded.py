"""An embedded PostgreSQL (pgserver) for running Dockyard with no database configured.

The server keeps its data under `<data_dir>/pgdata`, listens only on a Unix socket in that
directory, and is shared by every process that opens it: it stops when the last one closes.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.core.dburl import with_database

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "dockyard"


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
        """Release this process's handle; the server shuts down with the last handle."""
        if self._stopped:
            return
        self._stopped = True
        self._server.cleanup()
        logger.log(25, "embedded postgres released", extra={"data_dir": str(self.data_dir)})


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
