"""Retention on a real catalog: which runs expire, which files go, and what is never touched."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from dockyard.backups import retention

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


async def test_only_our_files_inside_the_store_are_deleted(
    catalog: asyncpg.Connection, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    outside = backup_dir(tmp_path / "elsewhere", "dump.s2.old")
    ours = backup_dir(store, "dump.s2.a")
    theirs = backup_dir(store, "dump.s2.b")
    registered_root = store  # a location that is the store itself must never be removed
    ids = {
        "ours": await finished(catalog, "s2", 100, location=ours),
        "theirs": await finished(catalog, "s2", 101, location=theirs, host="dbprov2001"),
        "outside": await finished(catalog, "s2", 102, location=outside),
        "root": await finished(catalog, "s2", 103, location=registered_root),
        "gone": await finished(catalog, "s2", 104, location=store / "dump.s2.vanished"),
    }
    for days in (1, 2):
        await finished(catalog, "s2", days)
    expired = {item.run_id: item.files for item in await retention.apply(catalog, host=HOST, store=store)}
    assert expired[ids["ours"]] == "deleted"
    assert not ours.exists()
    assert expired[ids["theirs"]] == "kept (taken elsewhere)"
    assert theirs.exists()
    assert expired[ids["outside"]] == f"kept ({outside} is outside the backup store {store})"
    assert outside.exists()
    assert "outside the backup store" in expired[ids["root"]]
    assert store.exists()
    assert expired[ids["gone"]] == "gone"
