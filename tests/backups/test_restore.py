"""Restore tests against real servers: dumps, snapshots and MariaDB dumps restored and compared, the
failures recorded with their stage, the command's exit codes, and the read API."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from dockyard.backups import restore, runner
from dockyard.core import embedded
from tests.accounts.conftest import Accounts
from tests.backups.conftest import mariadb_sql
from tests.support.app import AppClient
from tests.support.postgres import PgServer

DOCKYARD = str(Path(sys.executable).parent / "dockyard")
API = "/backups/api/v1"


def bin_of(pg: PgServer) -> Path | None:
    return Path(pg.pg_bin) if pg.pg_bin else None


async def dump_of(db: asyncpg.Connection, source: str, pg: PgServer, dest: Path, section: str) -> int:
    """A finished dump run of `source`, with its row counts."""
    job = runner.Job(section, "dump", "eqiad", source, dest, pg_bin=bin_of(pg), heartbeat_s=0.05)
    run_id = await runner.run(db, job)
    status = await db.fetchval("SELECT status FROM backups.runs WHERE id = $1", run_id)
    assert status == "finished"
    return run_id


def tools_of(pg: PgServer) -> dict[str, str]:
    """PG_BIN for the command, so its pg_restore is as recent as the server."""
    return {"PG_BIN": pg.pg_bin} if pg.pg_bin else {}


@dataclass(frozen=True)
class Dumped:
    """A finished dump run of the `source` fixture: its id, its folder and its dump file."""

    run_id: int
    location: Path
    file: Path


@pytest.fixture
async def dumped(db: asyncpg.Connection, source: str, pg: PgServer, tmp_path: Path, section: str) -> Dumped:
    run_id = await dump_of(db, source, pg, tmp_path, section)
    location = Path(await db.fetchval("SELECT location FROM backups.runs WHERE id = $1", run_id))
    return Dumped(run_id, location, location / f"{section}.dump")


async def recorded_test(db: asyncpg.Connection, test_id: int) -> asyncpg.Record:
    found = await db.fetchrow("SELECT * FROM backups.restore_tests WHERE id = $1", test_id)
    assert found is not None
    return found


async def scratch_databases(db: asyncpg.Connection, run_id: int) -> list[str]:
    rows = await db.fetch(
        "SELECT datname FROM pg_database WHERE datname LIKE $1", f"dockyard_restore\\_{run_id}\\_%"
    )
    return [row["datname"] for row in rows]


async def dockyard(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [DOCKYARD, "backups", *args],
        env={**os.environ, "DATABASE_URL": url, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


class TestDump:
    async def test_passes_with_the_recorded_counts_and_drops_its_database(
        self, db: asyncpg.Connection, migrated_db: str, pg: PgServer, dumped: Dumped
    ) -> None:
        run_id = dumped.run_id
        seen: list[str] = []

        def progress(message: str) -> None:
            # Synchronous on purpose: what the catalog says while the restore is under way.
            if "pg_restore of" in message:
                query = f"SELECT result FROM backups.restore_tests WHERE run_id = {run_id}"
                seen.append(pg.psql(migrated_db, query))

        options = restore.Options(pg_bin=bin_of(pg), progress=progress)
        outcome = await restore.restore_test(db, run_id, catalog_url=migrated_db, options=options)

        assert outcome.passed, outcome.detail
        assert seen == ["ongoing"], "recorded before the work started"
        tables = {t["name"]: (t["expected"], t["restored"]) for t in outcome.detail["tables"]}
        assert tables == {"public.pages": (10_000, 10_000)}
        assert outcome.detail["mismatches"] == []
        recorded = await recorded_test(db, outcome.test_id)
        assert (recorded["run_id"], recorded["result"]) == (run_id, "passed")
        assert recorded["ended_at"] is not None
        assert recorded["target"] == f"{restore.server_label(migrated_db)}/{outcome.detail['database']}"
        assert "@" not in recorded["target"]
        assert json.loads(recorded["detail"])["tables"][0]["restored"] == 10_000
        assert await scratch_databases(db, run_id) == []

    async def test_a_truncated_dump_fails_at_the_files_stage(
        self, db: asyncpg.Connection, migrated_db: str, pg: PgServer, dumped: Dumped
    ) -> None:
        run_id, dump = dumped.run_id, dumped.file
        dump.write_bytes(dump.read_bytes()[:1000])
        outcome = await restore.restore_test(
            db, run_id, catalog_url=migrated_db, options=restore.Options(pg_bin=bin_of(pg))
        )
        assert not outcome.passed
        assert outcome.detail["stage"] == "files"
        assert "is 1000 bytes" in outcome.detail["error"]
        recorded = json.loads((await recorded_test(db, outcome.test_id))["detail"])
        assert (recorded["stage"], (await recorded_test(db, outcome.test_id))["result"]) == (
            "files",
            "failed",
        )
        assert await scratch_databases(db, run_id) == []

    async def test_a_damaged_dump_fails_at_the_restore_stage(
        self, db: asyncpg.Connection, migrated_db: str, pg: PgServer, dumped: Dumped
    ) -> None:
        run_id, dump = dumped.run_id, dumped.file
        data = bytearray(dump.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 4096] = os.urandom(min(4096, len(data) - middle))
        dump.write_bytes(bytes(data))  # the same size: only pg_restore can tell
        outcome = await restore.restore_test(
            db, run_id, catalog_url=migrated_db, options=restore.Options(pg_bin=bin_of(pg))
        )
        assert not outcome.passed
        assert outcome.detail["stage"] == "restore", outcome.detail
        assert "pg_restore (exit 1)" in outcome.detail["error"]
        assert (await recorded_test(db, outcome.test_id))["result"] == "failed"
        assert await scratch_databases(db, run_id) == [], "the scratch database goes after a failure too"

    async def test_counts_that_differ_fail_at_the_compare_stage(
        self, db: asyncpg.Connection, migrated_db: str, pg: PgServer, dumped: Dumped
    ) -> None:
        run_id = dumped.run_id
        await db.execute("UPDATE backups.objects SET rows = 9990 WHERE run_id = $1", run_id)
        done = await dockyard(migrated_db, "restore-test", str(run_id), **tools_of(pg))
        assert done.returncode == 1, done.stderr
        assert "failed: 1 of 1 table(s) differ: public.pages: 10000 rows, expected 9990" in done.stdout
        recorded = await db.fetchrow(
            "SELECT result, detail FROM backups.restore_tests WHERE run_id = $1 ORDER BY id DESC LIMIT 1",
            run_id,
        )
        assert recorded is not None
        detail = json.loads(recorded["detail"])
        assert (recorded["result"], detail["stage"]) == ("failed", "compare")
        assert detail["mismatches"] == [
            {"db": await db.fetchval("SELECT db FROM backups.objects WHERE run_id = $1", run_id),
             "name": "public.pages", "expected": 9990, "restored": 10_000}
        ]  # fmt: skip

    async def test_the_command_keeps_the_database_on_request_and_prints_json(
        self, db: asyncpg.Connection, migrated_db: str, pg: PgServer, dumped: Dumped
    ) -> None:
        run_id = dumped.run_id
        done = await dockyard(migrated_db, "restore-test", str(run_id), "--keep", "--json", **tools_of(pg))
        try:
            assert done.returncode == 0, done.stdout + done.stderr
            answer = json.loads(done.stdout)
            assert (answer["run_id"], answer["passed"], answer["kept"]) == (run_id, True, True)
            assert await scratch_databases(db, run_id) == [answer["database"]]
            assert f"run {run_id}: restored; counting rows" in done.stderr, "progress goes to stderr"
        finally:
            for name in await scratch_databases(db, run_id):
                await db.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


class TestRefusals:
    async def test_runs_that_cannot_be_tested_are_refused_before_anything_is_recorded(
        self, db: asyncpg.Connection, migrated_db: str, dumped: Dumped, section: str, tmp_path: Path
    ) -> None:
        run_id, location = dumped.run_id, dumped.location

        async def refused(target: int) -> str:
            with pytest.raises(restore.RestoreError) as caught:
                await restore.restore_test(db, target, catalog_url=migrated_db, options=restore.Options())
            return str(caught.value)

        ongoing = await db.fetchval(
            "INSERT INTO backups.runs (section, type, datacenter, status, started_at, location) "
            "VALUES ($1, 'dump', 'eqiad', 'ongoing', now(), $2) RETURNING id",
            section,
            str(location),
        )
        assert await refused(2**62) == f"there is no run {2**62}"
        assert (
            await refused(ongoing) == f"run {ongoing} is ongoing: only a finished run can be restore-tested"
        )
        await db.execute("UPDATE backups.runs SET host = 'elsewhere.example' WHERE id = $1", run_id)
        assert "lies on elsewhere.example, not on this host" in await refused(run_id)
        await db.execute("UPDATE backups.runs SET host = NULL, location = NULL WHERE id = $1", run_id)
        assert "has no location" in await refused(run_id)
        await db.execute(
            "UPDATE backups.runs SET location = $2 WHERE id = $1", run_id, str(tmp_path / "gone")
        )
        assert f"its location {tmp_path / 'gone'} does not exist" in await refused(run_id)
        await db.execute("UPDATE backups.runs SET location = $2 WHERE id = $1", run_id, str(location))
        dumped.file.unlink()
        assert f"files missing: {dumped.file}" in await refused(run_id)
        assert await db.fetchval("SELECT count(*) FROM backups.restore_tests WHERE run_id = $1", run_id) == 0

        done = await dockyard(migrated_db, "restore-test", str(ongoing))
        assert done.returncode == 2
        assert f"run {ongoing} is ongoing" in done.stderr


class TestSnapshot:
    async def test_a_snapshot_recovers_and_is_compared_with_the_latest_earlier_dump(
        self,
        db: asyncpg.Connection,
        migrated_db: str,
        cluster: embedded.EmbeddedPostgres,
        tmp_path: Path,
        section: str,
    ) -> None:
        name = f"dy_snap_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(cluster.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            source = await asyncpg.connect(cluster.url(name))
            try:
                await source.execute(
                    'CREATE TABLE public."Revisions" AS SELECT g AS id FROM generate_series(1, 2500) g'
                )
            finally:
                await source.close()
            options = restore.Options(progress=lambda _: None)

            def job(kind: str) -> runner.Job:
                return runner.Job(section, kind, "codfw", cluster.url(name), tmp_path, pg_bin=cluster.bin_dir)

            alone = await runner.run(db, job("snapshot"))
            first = await restore.restore_test(db, alone, catalog_url=migrated_db, options=options)
            assert first.passed, first.detail
            assert first.detail["compared_with_run"] is None
            assert "counts only" in first.detail["note"]
            assert {
                "db": name,
                "name": "public.Revisions",
                "expected": None,
                "restored": 2500,
            } in first.detail["tables"]

            dump = await runner.run(db, job("dump"))
            snapshot = await runner.run(db, job("snapshot"))
            second = await restore.restore_test(db, snapshot, catalog_url=migrated_db, options=options)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
        assert second.passed, second.detail
        assert second.detail["compared_with_run"] == dump
        assert second.detail["postgresql"] == int((cluster.data_dir / "PG_VERSION").read_text())
        ours = [t for t in second.detail["tables"] if t["db"] == name]
        assert ours == [{"db": name, "name": "public.Revisions", "expected": 2500, "restored": 2500}]
        assert not await asyncio.to_thread(Path(second.detail["folder"]).exists), (
            "the extracted copy is deleted"
        )
        assert (await recorded_test(db, second.test_id))["result"] == "passed"


class TestMariaDB:
    async def test_a_mariadb_dump_is_restored_on_the_target_server(
        self, db: asyncpg.Connection, migrated_db: str, mariadb_source: str, tmp_path: Path, section: str
    ) -> None:
        job = runner.Job(
            section,
            "dump",
            "eqiad",
            mariadb_source,
            tmp_path,
            source_label="127.0.0.1:3306",
            tool="mariadb-dump",
        )
        run_id = await runner.run(db, job)
        with pytest.raises(restore.RestoreError, match="--target-url mariadb://"):
            await restore.restore_test(db, run_id, catalog_url=migrated_db, options=restore.Options())

        options = restore.Options(target_url="mariadb://root@127.0.0.1:3306/")
        outcome = await restore.restore_test(db, run_id, catalog_url=migrated_db, options=options)
        assert outcome.passed, outcome.detail
        assert outcome.target == f"127.0.0.1:3306/{outcome.detail['database']}"
        assert [(t["name"], t["expected"], t["restored"]) for t in outcome.detail["tables"]] == [
            ("revision", 1000, 1000)
        ]
        assert mariadb_sql(f"SHOW DATABASES LIKE 'dockyard_restore_{run_id}_%'") == ""

        mariadb_sql(f"DELETE FROM {mariadb_source.rsplit('/', 1)[1]}.revision WHERE id > 990")
        await db.execute("UPDATE backups.objects SET rows = 990 WHERE run_id = $1", run_id)
        differs = await restore.restore_test(db, run_id, catalog_url=migrated_db, options=options)
        assert not differs.passed, "the dump, not the source, is what is restored"
        assert differs.detail["mismatches"][0]["restored"] == 1000


async def add_test(db: asyncpg.Connection, run_id: int, result: str, **detail: Any) -> int:
    test_id: int = await db.fetchval(
        "INSERT INTO backups.restore_tests (run_id, result, ended_at, target, detail) "
        "VALUES ($1, $2, CASE WHEN $2 <> 'ongoing' THEN now() END, 'db1:5432/x', $3::jsonb) RETURNING id",
        run_id,
        result,
        json.dumps(detail),
    )
    return test_id


class TestApi:
    async def headers(self, users: Accounts, *perms: str) -> dict[str, str]:
        group = await users.group(*perms) if perms else None
        _, email = await users.user("restorer", groups=(group,) if group else ())
        return {"Authorization": f"Bearer {(await users.login(email))['access_token']}"}

    async def test_permissions(self, client: AppClient, users: Accounts) -> None:
        assert (await client.get(f"{API}/restore-tests")).status_code == 401
        refused = await client.get(f"{API}/restore-tests", headers=await self.headers(users))
        assert refused.status_code == 403
        assert "backups.view" in refused.json()["detail"]

    async def test_lists_filters_and_pages(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection, section: str
    ) -> None:
        headers = await self.headers(users, "backups.view")
        runs = [
            await db.fetchval(
                "INSERT INTO backups.runs (section, type, datacenter, status, started_at, ended_at) "
                "VALUES ($1, $2, $3, 'finished', now(), now()) RETURNING id",
                section,
                kind,
                dc,
            )
            for kind, dc in (("dump", "eqiad"), ("snapshot", "codfw"))
        ]
        passed = await add_test(db, runs[0], "passed", tables=[], mismatches=[])
        failed = await add_test(db, runs[0], "failed", stage="restore", error="pg_restore (exit 1): boom")
        snapshot = await add_test(db, runs[1], "passed")

        answer = await client.get(f"{API}/restore-tests", params={"section": section}, headers=headers)
        assert answer.status_code == 200
        page = answer.json()
        assert page["total"] == 3
        assert [item["id"] for item in page["results"]] == [snapshot, failed, passed]
        assert page["results"][1]["detail"]["stage"] == "restore"
        assert page["results"][1]["section"] == section

        only = await client.get(
            f"{API}/restore-tests", params={"section": section, "result": "failed"}, headers=headers
        )
        assert [item["id"] for item in only.json()["results"]] == [failed]
        by_type = await client.get(
            f"{API}/restore-tests", params={"section": section, "type": "snapshot", "datacenter": "codfw"},
            headers=headers,
        )  # fmt: skip
        assert [item["id"] for item in by_type.json()["results"]] == [snapshot]
        second = await client.get(
            f"{API}/restore-tests", params={"section": section, "limit": 1, "offset": 1}, headers=headers
        )
        assert (second.json()["total"], [i["id"] for i in second.json()["results"]]) == (3, [failed])

        of_run = await client.get(f"{API}/runs/{runs[0]}/restore-tests", headers=headers)
        assert [item["id"] for item in of_run.json()] == [failed, passed]
        assert (await client.get(f"{API}/runs/{2**62}/restore-tests", headers=headers)).status_code == 404
        bad = await client.get(f"{API}/restore-tests", params={"result": "maybe"}, headers=headers)
        assert bad.status_code == 422

    async def test_a_dump_registered_with_its_counts_is_restore_tested_against_them(
        self,
        client: AppClient,
        users: Accounts,
        db: asyncpg.Connection,
        migrated_db: str,
        source: str,
        pg: PgServer,
        tmp_path: Path,
        section: str,
    ) -> None:
        """Another tool's dump, registered over the API with row counts, is checked against those."""
        taken = await dump_of(db, source, pg, tmp_path, section)
        location = await db.fetchval("SELECT location FROM backups.runs WHERE id = $1", taken)
        dump = Path(location) / f"{section}.dump"
        body = {
            "section": section,
            "type": "dump",
            "datacenter": "eqiad",
            "host": socket.gethostname(),
            "status": "finished",
            "started_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(),
            "ended_at": dt.datetime.now(dt.UTC).isoformat(),
            "location": location,
            "files": [{"name": dump.name, "size": dump.stat().st_size}],
            "objects": [{"db": "wiki", "name": "public.pages", "size": 1, "rows": 10_001}],
        }
        headers = await self.headers(users, "backups.view", "backups.manage")
        answer = await client.post(f"{API}/runs", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        registered = answer.json()
        assert registered["objects"] == [{"db": "wiki", "name": "public.pages", "size": 1, "rows": 10_001}]
        refused = await client.post(
            f"{API}/runs", json={**body, "objects": [{"db": "wiki", "rows": -1}]}, headers=headers
        )
        assert refused.status_code == 422

        outcome = await restore.restore_test(
            db, registered["id"], catalog_url=migrated_db, options=restore.Options(pg_bin=bin_of(pg))
        )
        assert not outcome.passed
        assert outcome.detail["mismatches"] == [
            {"db": "wiki", "name": "public.pages", "expected": 10_001, "restored": 10_000}
        ]
        detail = await client.get(f"{API}/runs/{registered['id']}", headers=headers)
        assert detail.json()["objects"][0]["rows"] == 10_001

    async def test_they_are_in_the_openapi_document(self, client: AppClient) -> None:
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "get" in paths[f"{API}/restore-tests"]
        assert "get" in paths[f"{API}/runs/{{run_id}}/restore-tests"]
