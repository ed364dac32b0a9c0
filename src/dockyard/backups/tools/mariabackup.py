"""mariabackup: a physical snapshot of a MariaDB instance, prepared, then compressed into a tarball.

As wmfbackups does it (MariaBackup.py): `--backup` copies the data folder while the server runs,
`--prepare` applies the redo log so the copy is consistent and a server can start on it at once,
and the prepared folder becomes `<section>.tar.gz`. mariabackup reads the source's files, so it runs
on the source's machine; the whole instance is copied (a snapshot restores as a whole).

The small files describing the copy (`xtrabackup_info`, `xtrabackup_checkpoints`,
`xtrabackup_binlog_info`) stay beside the tarball, readable without unpacking it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from dockyard.backups.tools.source import Source

# Kept beside the tarball (copied out of the prepared folder) when mariabackup wrote them.
DESCRIPTIONS = ("xtrabackup_info", "xtrabackup_checkpoints", "xtrabackup_binlog_info")

# wmfbackups fails a prepare whose output lacks this (mariabackup says it on its last line).
COMPLETED = "completed OK!"


def backup_command(
    source: Source, into: Path, *, defaults: Path | None, extra: tuple[str, ...] = ()
) -> list[str]:
    """The `mariabackup --backup` call copying the source's data folder into `into`."""
    return [
        "mariabackup",
        # Read before any other option, as mariabackup requires; the system's files are still read.
        *([f"--defaults-extra-file={defaults}"] if defaults else []),
        "--backup",
        f"--target-dir={into}",
        *source.options(),
        *extra,
    ]


def prepare_command(folder: Path) -> list[str]:
    """The `mariabackup --prepare` call making the copy in `folder` consistent (no server needed)."""
    return ["mariabackup", "--prepare", f"--target-dir={folder}"]


def tar_command(folder: Path, tarball: Path) -> list[str]:
    """`tar` of the prepared folder's contents into `tarball` (pigz when installed, else gzip)."""
    compressor = ["--use-compress-program=pigz"] if shutil.which("pigz") else ["--gzip"]
    return ["tar", "--create", *compressor, f"--file={tarball}", f"--directory={folder}", "."]


def parse_binlog_info(text: str) -> dict[str, Any]:
    """`{"file", "position", "gtid"}` from `xtrabackup_binlog_info` (`file<TAB>position<TAB>gtid`)."""
    words = text.split()
    found: dict[str, Any] = {}
    if words:
        found["file"] = words[0]
    if len(words) > 1 and words[1].isdigit():
        found["position"] = int(words[1])
    if len(words) > 2:
        found["gtid"] = words[2]
    return found


BINLOG_POS = re.compile(
    r"^binlog_pos = filename '([^']*)', position '(\d+)'(?:, GTID of the last change '([^']*)')?", re.M
)


def coordinates(folder: Path) -> dict[str, Any]:
    """The binary log coordinates of the copy in `folder` (`{}` when the server writes no binlog)."""
    info = folder / "xtrabackup_binlog_info"
    if info.is_file():
        found = parse_binlog_info(info.read_text(errors="replace"))
        if found:
            return found
    described = folder / "xtrabackup_info"
    match = BINLOG_POS.search(described.read_text(errors="replace")) if described.is_file() else None
    if match is None:
        return {}
    file, position, gtid = match.groups()
    return {"file": file, "position": int(position), **({"gtid": gtid} if gtid else {})}
