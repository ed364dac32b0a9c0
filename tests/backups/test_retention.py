"""Retention on a real catalog: which runs expire, which files go, and what is never touched."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from dockyard import accounts, backups
from dockyard.backups import retention, runner, scheduler
from dockyard.backups import store as store_module
from tests.accounts.conftest import Accounts, accounts_settings
from tests.backups.test_api import finished_run, manager
from tests.backups.test_scheduler import cli, cli_env
from tests.support.app import app_client
from tests.support.postgres import PgServer
from tests.support.smtp import Inbox

HOST = "dbprov1001"


async def finished(
    conn: asyncpg.Connection,
    section: str,
    days_ago: float,
    *,
    type_: str = "dump",
    host: str = HOST,
    location: Path | None = None,
    status: str = "finished",
) -> int:
    run_id: int = await conn.fetchval(
        """INSERT INTO backups.runs
               (section, type, datacenter, host, status, started_at, ended_at, total_size, location)
        VALUES ($1, $2, 'eqiad', $3, $4, now() - make_interval(secs => $5 * 86400),
                now() - make_interval(secs => $5 * 86400) + interval '1 hour', 1000, $6)
        RETURNING id""",
        section,
        type_,
        host,
        status,
        days_ago,
        str(location) if location else None,
    )
    return run_id


def backup_dir(store: Path, name: str) -> Path:
    folder = store / name
    folder.mkdir(parents=True)
    (folder / "s1.dump").write_bytes(b"x" * 100)
    return folder


async def states(conn: asyncpg.Connection, section: str) -> dict[int, str]:
    rows = await conn.fetch("SELECT id, status FROM backups.runs WHERE section = $1", section)
    return {row["id"]: row["status"] for row in rows}


async def test_the_default_policy_keeps_dumps_90_days_and_snapshots_30(
    catalog: asyncpg.Connection, tmp_path: Path
) -> None:
    dumps = [await finished(catalog, "s1", days) for days in (1, 60, 89, 91, 120)]
    snapshots = [await finished(catalog, "s1", days, type_="snapshot") for days in (1, 29, 31, 45)]
    expected = {dumps[3], dumps[4], snapshots[2], snapshots[3]}
    assert set(await retention.due(catalog)) == expected, "the dry run names exactly what apply expires"
    expired = await retention.apply(catalog, host=HOST, store=tmp_path)
    assert {item.run_id for item in expired} == expected
    after = await states(catalog, "s1")
    assert {run for run, state in after.items() if state == "expired"} == expected
    assert await catalog.fetchval(
        "SELECT bool_and(expired_at IS NOT NULL) FROM backups.runs WHERE status = 'expired'"
    )
    assert await retention.apply(catalog, host=HOST, store=tmp_path) == [], "a second pass expires nothing"


async def test_the_newest_runs_are_kept_however_old(catalog: asyncpg.Connection, tmp_path: Path) -> None:
    old = [await finished(catalog, "m5", days) for days in (200, 300, 400)]
    await retention.apply(catalog, host=HOST, store=tmp_path)
    assert await states(catalog, "m5") == {old[0]: "finished", old[1]: "finished", old[2]: "expired"}


async def test_failed_runs_are_history_and_stay(catalog: asyncpg.Connection, tmp_path: Path) -> None:
    failed = await finished(catalog, "x1", 500, status="failed")
    for days in (1, 2, 3):
        await finished(catalog, "x1", days)
    await retention.apply(catalog, host=HOST, store=tmp_path)
    assert (await states(catalog, "x1"))[failed] == "failed"


async def test_the_most_specific_policy_wins_per_setting(catalog: asyncpg.Connection, tmp_path: Path) -> None:
    # es4 keeps only one dump (count from the section row), still for 90 days (age from the default).
    await catalog.execute("INSERT INTO backups.retention (section, keep_last) VALUES ('es4', 1)")
    runs = [await finished(catalog, "es4", days) for days in (1, 50, 95)]
    others = [await finished(catalog, "es5", days) for days in (1, 50, 95, 96)]
    await retention.apply(catalog, host=HOST, store=tmp_path)
    assert await states(catalog, "es4") == {runs[0]: "finished", runs[1]: "finished", runs[2]: "expired"}
    es5 = await states(catalog, "es5")
    assert [es5[run] for run in others] == ["finished", "finished", "expired", "expired"]


async def written(conn: asyncpg.Connection, store: Path, run_id: int, *, host: str = HOST) -> Path:
    """A backup folder made and recorded for run `run_id` as the runner does (mkdir, then record)."""
    name = await conn.fetchval(
        "SELECT coalesce(name, 'dump.' || section || '.' || id) FROM backups.runs WHERE id = $1", run_id
    )
    folder = store / name
    folder.mkdir(parents=True)
    (folder / "s1.dump").write_bytes(b"x" * 100)
    await store_module.record(conn, run_id, host=host, store=store, folder=folder)
    return folder


async def test_only_folders_the_runner_recorded_are_deleted(
    catalog: asyncpg.Connection, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    ids = {what: await finished(catalog, "s2", 100 + n) for n, what in enumerate(("ours", "theirs", "gone"))}
    ours = await written(catalog, store, ids["ours"])
    theirs = await written(catalog, store, ids["theirs"], host="dbprov2001")
    gone = await written(catalog, store, ids["gone"])
    shutil.rmtree(gone)
    # A run whose location names a real folder of the store, but that the runner never recorded.
    unrecorded = backup_dir(store, "dump.s2.unrecorded")
    ids["unrecorded"] = await finished(catalog, "s2", 110, location=unrecorded)
    for days in (1, 2):
        await finished(catalog, "s2", days)
    expired = {item.run_id: item.files for item in await retention.apply(catalog, host=HOST, store=store)}
    assert expired[ids["ours"]] == "deleted"
    assert not ours.exists()
    assert expired[ids["theirs"]] == "kept (written on dbprov2001)"
    assert theirs.exists()
    assert expired[ids["gone"]] == "gone"
    assert (
        expired[ids["unrecorded"]] == "kept (not written by Dockyard's runner: the catalog row alone expires)"
    )
    assert (unrecorded / "s1.dump").exists()
    assert store.exists()
    left = await catalog.fetch("SELECT run_id FROM backups.store_folders")
    assert [row["run_id"] for row in left] == [ids["theirs"]], "records of deleted folders go with them"


async def test_a_symlink_or_a_replaced_folder_is_never_followed(
    catalog: asyncpg.Connection, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    victim_run = await finished(catalog, "s3", 1)
    victim = await written(catalog, store, victim_run)  # a real, recent backup of the store
    outside = backup_dir(tmp_path / "elsewhere", "precious")
    swapped, replaced, linked = [await finished(catalog, "s3", days) for days in (100, 101, 102)]
    await finished(catalog, "s3", 2)
    # The folder run `swapped` wrote becomes a symlink to another run's folder.
    folder = await written(catalog, store, swapped)
    shutil.rmtree(folder)
    folder.symlink_to(victim, target_is_directory=True)
    # Another folder is moved in place of the one run `replaced` wrote.
    folder = await written(catalog, store, replaced)
    other = backup_dir(tmp_path, "other")
    shutil.rmtree(folder)
    other.rename(folder)
    # A record whose path goes through a symlink out of the store (the inode of what lies there).
    (store / "link").symlink_to(outside.parent, target_is_directory=True)
    made = outside.stat()
    await catalog.execute(
        "INSERT INTO backups.store_folders (run_id, host, store, path, device, inode) "
        "VALUES ($1, $2, $3, 'link/precious', $4, $5)",
        linked,
        HOST,
        str(store.resolve()),
        made.st_dev,
        made.st_ino,
    )
    expired = {item.run_id: item.files for item in await retention.apply(catalog, host=HOST, store=store)}
    assert expired[swapped].startswith("kept (")
    assert "is now a symlink" in expired[swapped]
    assert "is no longer the folder run" in expired[replaced]
    assert "resolves to" in expired[linked]
    assert (victim / "s1.dump").exists()
    assert (store / folder.name / "s1.dump").exists()
    assert (outside / "s1.dump").exists()
    # `..` never gets into the record, and is refused at delete time even if it did.
    with pytest.raises(asyncpg.CheckViolationError):
        await catalog.execute(
            "INSERT INTO backups.store_folders (run_id, host, store, path, device, inode) "
            "VALUES ($1, $2, $3, '../elsewhere/precious', 1, 1)",
            victim_run,
            HOST,
            str(store.resolve()),
        )
    sneaked = store_module.Folder(
        victim_run, HOST, str(store.resolve()), "../elsewhere/precious", made.st_dev, made.st_ino
    )
    assert "is not a path inside the store" in store_module.remove(sneaked, host=HOST, root=store.resolve())
    assert (outside / "s1.dump").exists()


@pytest.mark.parametrize("via", ["purge", "housekeeping"])
async def test_a_registered_location_never_deletes_a_real_backup(
    via: str,
    catalog_url: str,
    catalog: asyncpg.Connection,
    source: str,
    pg: PgServer,
    smtp: Inbox,
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"  # BACKUPS_STORE of cli_env
    job = runner.Job(
        section="s1",
        type="dump",
        datacenter="eqiad",
        source_url=source,
        destination=store,
        pg_bin=Path(pg.pg_bin) if pg.pg_bin else None,
    )
    real = await runner.run(catalog, job)
    folder = Path(await catalog.fetchval("SELECT location FROM backups.runs WHERE id = $1", real))
    assert (folder / "s1.dump").stat().st_size > 0
    # Somebody with backups.manage registers old runs "taken" on this host, located at that backup.
    async with app_client(
        accounts_settings(catalog_url, smtp), (accounts.service, backups.service)
    ) as client:
        headers = await manager(Accounts(client, catalog))
        locations = [str(folder), f"{store}/../{store.name}/{folder.name}", str(folder) + "/."]
        registered = []
        for days, location in [(1, None), (2, None), *((200 + n, loc) for n, loc in enumerate(locations))]:
            body = {**finished_run("evil", days, 1000), "host": job.host, "location": location}
            response = await client.post("/backups/api/v1/runs", json=body, headers=headers)
            assert response.status_code == 201, response.text
            registered.append(response.json()["id"])

    async def expire() -> str:
        if via == "purge":
            done = await asyncio.to_thread(cli, "purge", env=cli_env(catalog_url, tmp_path, pg))
            assert done.returncode == 0, done.stderr
            return done.stdout
        options = scheduler.Options(destination=store, host=job.host)
        assert await scheduler.housekeeping(catalog, options)
        return ""

    said = await expire()
    expired = await catalog.fetch("SELECT id FROM backups.runs WHERE status = 'expired' ORDER BY id")
    assert [row["id"] for row in expired] == registered[2:], "the registered rows expire"
    assert (folder / "s1.dump").stat().st_size > 0, "the real backup is untouched"
    if via == "purge":
        lines = [line for line in said.splitlines() if line.startswith(f"run {registered[2]} expired")]
        assert len(lines) == 1, said
        assert "files kept (not written by Dockyard's runner" in lines[0]
    # Once the real backup is past the policy itself, its own files do go.
    await catalog.execute(
        "UPDATE backups.runs SET started_at = started_at - interval '100 days', "
        "ended_at = ended_at - interval '100 days' WHERE id = $1",
        real,
    )
    for days in (1, 2):
        await finished(catalog, "s1", days, host=job.host)
    said = await expire()
    assert await catalog.fetchval("SELECT status FROM backups.runs WHERE id = $1", real) == "expired"
    assert not await asyncio.to_thread(folder.exists), "the runner's own expired backup is deleted"
    assert await asyncio.to_thread(store.exists)
    if via == "purge":
        assert f"run {real} expired (dump of s1 in eqiad, {folder.name}): files deleted" in said


async def test_a_folder_is_deleted_by_its_own_host_even_when_another_expired_the_run(
    catalog: asyncpg.Connection, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    old = await finished(catalog, "s4", 100, host="dbprov1001")
    for days in (1, 2):
        await finished(catalog, "s4", days, host="dbprov1001")
    folder = await written(catalog, store, old, host="dbprov1001")
    # The scheduler on dbprov2001 holds the housekeeping lock this time: it expires the run.
    by_other = await retention.apply(catalog, host="dbprov2001", store=store)
    assert [(item.run_id, item.files) for item in by_other] == [(old, "kept (written on dbprov1001)")]
    assert (folder / "s1.dump").exists()
    # dbprov1001's next round deletes what it wrote, once.
    by_owner = await retention.apply(catalog, host="dbprov1001", store=store)
    assert [(item.run_id, item.files) for item in by_owner] == [(old, "deleted")]
    assert not await asyncio.to_thread(folder.exists)
    assert await retention.apply(catalog, host="dbprov1001", store=store) == []
