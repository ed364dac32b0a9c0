"""The backup store: the folders this host's runner wrote, the only things retention deletes.

The runner records each folder it creates (`record`), by run id and path relative to the store,
with the folder's device and inode. A run registered over the API never gets such a record, whatever
`location` it claims: its files are never touched. Before deleting (`remove`), every check is made
again on the file system as it is now: the store is the one the folder was written to, the path
stays inside it with no symlink on the way, and the folder there is still the very one the run made.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path, PurePosixPath

from dockyard.core.db import Connection

RECORD = """INSERT INTO backups.store_folders (run_id, host, store, path, device, inode)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (host, store, path) DO UPDATE
    SET run_id = EXCLUDED.run_id, device = EXCLUDED.device, inode = EXCLUDED.inode, written_at = now()"""

FOLDERS = """SELECT run_id, host, store, path, device, inode FROM backups.store_folders
WHERE run_id = ANY($1::bigint[])"""


@dataclass(frozen=True)
class Folder:
    """What the runner recorded of a folder it created."""

    run_id: int
    host: str
    store: str
    path: str
    device: int
    inode: int


async def record(conn: Connection, run_id: int, *, host: str, store: Path, folder: Path) -> None:
    """Record `folder`, just created by the runner for run `run_id` inside `store`, as the run's."""
    root = await asyncio.to_thread(store.resolve)
    made = await asyncio.to_thread(os.lstat, folder)
    relative = (await asyncio.to_thread(folder.resolve)).relative_to(root)
    # A folder that replaced a removed one of the same name takes its record over (the conflict).
    await conn.execute(
        RECORD, run_id, host, str(root), relative.as_posix(), Decimal(made.st_dev), Decimal(made.st_ino)
    )


async def folders(conn: Connection, run_ids: list[int]) -> dict[int, Folder]:
    """The recorded folders of `run_ids`, by run id (runs without one are absent)."""
    rows = await conn.fetch(FOLDERS, run_ids)
    return {
        row["run_id"]: Folder(
            row["run_id"], row["host"], row["store"], row["path"], int(row["device"]), int(row["inode"])
        )
        for row in rows
    }


async def forget(conn: Connection, run_id: int) -> None:
    """Drop the record of run `run_id`'s folder once the folder is gone."""
    await conn.execute("DELETE FROM backups.store_folders WHERE run_id = $1", run_id)


def remove(folder: Folder | None, *, host: str, root: Path) -> str:
    """Delete the run's folder if every check passes; what happened (deleted, gone, kept (why), error: …).

    `root` is the store's real path (resolved) on this host now.
    """
    if folder is None:
        return "kept (not written by Dockyard's runner: the catalog row alone expires)"
    if folder.host != host:
        return f"kept (written on {folder.host})"
    if folder.store != str(root):
        return f"kept (written to the store {folder.store}, not {root})"
    relative = PurePosixPath(folder.path)
    if (
        relative.is_absolute()
        or not relative.parts
        or any(part in ("", ".", "..") for part in relative.parts)
    ):
        return f"kept ({folder.path!r} is not a path inside the store)"
    path = root.joinpath(*relative.parts)
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return "gone"
    except OSError as exc:
        return f"error: {exc}"
    if stat.S_ISLNK(found.st_mode):
        return f"kept ({path} is now a symlink)"
    if os.path.realpath(path) != str(path):  # a symlink on the way out of the store
        return f"kept ({path} resolves to {os.path.realpath(path)}, outside the folder the run wrote)"
    if not stat.S_ISDIR(found.st_mode) or (found.st_dev, found.st_ino) != (folder.device, folder.inode):
        return f"kept ({path} is no longer the folder run {folder.run_id} wrote)"
    try:
        shutil.rmtree(path)  # never follows a symlink inside (shutil.rmtree.avoids_symlink_attacks)
    except OSError as exc:
        return f"error: {exc}"
    return "deleted"
