"""mydumper: a logical backup, one compressed file per table (and its schema), plus `metadata`.

As wmfbackups runs it: `--compress --events --triggers --routines`, the databases chosen by a
regular expression over `db.table` (mydumper 0.10 takes one `--database` only). The `metadata` file
holds the binary log coordinates taken under mydumper's global read lock; `parse_metadata` reads
both the 0.10 layout (`SHOW MASTER STATUS:` / `Log:` / `Pos:` / `GTID:`) and the ini-like one of
later versions (`[master]` / `File =` / `Position =` / `Executed_Gtid_Set =`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dockyard.backups.tools.source import Source

# wmfbackups fails a dump whose stderr says CRITICAL, or whose metadata lacks this line.
FINISHED = "Finished dump at:"


def regex(databases: tuple[str, ...]) -> str:
    """mydumper's `--regex` choosing exactly `databases` (names are checked: no quoting needed)."""
    return "^(" + "|".join(re.escape(name) for name in databases) + r")\."


def dump_command(
    source: Source,
    output: Path,
    databases: tuple[str, ...],
    *,
    defaults: Path | None,
    threads: int = 4,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The mydumper call writing `databases` into `output` (created by mydumper)."""
    return [
        "mydumper",
        *([f"--defaults-file={defaults}"] if defaults else []),
        *source.options(),
        f"--outputdir={output}",
        f"--regex={regex(databases)}",
        "--compress",
        "--events",
        "--triggers",
        "--routines",
        f"--threads={threads}",
        "--verbose=2",
        *extra,
    ]


def load_command(source: Source, dump: Path, database: str, into: str, *, defaults: Path | None) -> list[str]:
    """The myloader call restoring `database` of the dump in `dump` as the database `into`."""
    return [
        "myloader",
        *([f"--defaults-file={defaults}"] if defaults else []),
        *source.options(),
        f"--directory={dump}",
        f"--source-db={database}",
        f"--database={into}",
        "--overwrite-tables",
        "--threads=2",
        "--verbose=2",
    ]


def failed(stderr: str) -> bool:
    """Whether mydumper reported an error even if it exited 0 (wmfbackups: ` CRITICAL `)."""
    return "CRITICAL" in stderr or "[ERROR]" in stderr


def _coordinates(log: str | None, pos: str | None, gtid: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if log:
        found["file"] = log
    if pos and pos.isdigit():
        found["position"] = int(pos)
    if gtid:
        found["gtid"] = gtid
    return found


# Which coordinates a heading introduces: the dumped server's own, or its primary's (a replica).
HEADINGS = {
    "show master status:": "own",
    "[master]": "own",
    "[source]": "own",
    "show slave status:": "primary",
}


def parse_metadata(text: str) -> dict[str, Any]:
    """The binary log coordinates in a mydumper `metadata` file.

    `{"file", "position", "gtid"}` of the server dumped (what is missing is left out), and under
    `"primary"` those of its primary (with its `host`) when the server is a replica; `{}` when the
    server writes no binary log and replicates from nobody.
    """
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.lower() in HEADINGS:
            current = sections.setdefault(HEADINGS[line.lower()], {})
        elif line.startswith("[") or line.startswith(("Started dump", "Finished dump")):
            current = None  # a section we do not read (a later version's table list…)
        elif current is not None and line and not line.startswith("#"):
            # 0.10: `Log: x` (and `GTID:x`); later: `File = x`. GTIDs hold `-`, never `:` or `=`.
            key, _, value = line.partition("=") if "=" in line else line.partition(":")
            current.setdefault(key.strip().lower(), value.strip().strip("'\""))
    result: dict[str, Any] = {}
    own = sections.get("own", {})
    result = _coordinates(
        own.get("log") or own.get("file"),
        own.get("pos") or own.get("position"),
        own.get("gtid") or own.get("executed_gtid_set"),
    )
    theirs = sections.get("primary", {})
    primary = _coordinates(theirs.get("log"), theirs.get("pos"), theirs.get("gtid"))
    if primary:
        result["primary"] = {**({"host": theirs["host"]} if theirs.get("host") else {}), **primary}
    return result
