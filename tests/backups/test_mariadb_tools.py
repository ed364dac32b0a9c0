"""mydumper and mariabackup against real MariaDB servers: the machine's (127.0.0.1:3306) and a private
one with a binary log, started by the test; what is recorded, restore tests, passwords kept private."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from dockyard.backups import restore, runner
from dockyard.backups.tools import mariabackup, mydumper, runs
from dockyard.backups.tools.server import PrivateServer
from dockyard.backups.tools.source import Source
from tests.accounts.conftest import Accounts
from tests.support.app import AppClient
from tests.support.ci import unavailable

API = "/backups/api/v1"
DOCKYARD = str(Path(sys.executable).parent / "dockyard")
ROOT = "mariadb://root@127.0.0.1:3306/"


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed (Debian packages mydumper, mariadb-backup)")


def load(sql: str, *, socket: Path | None = None) -> str:
    where = [f"--socket={socket}"] if socket else ["--host=127.0.0.1", "--port=3306"]
    done = subprocess.run(
        ["mariadb", "--no-defaults", *where, "--user=root", "--batch", "--skip-column-names", "-e", sql],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return done.stdout.decode()


def tables(prefix: str) -> str:
    """Two databases: `<prefix>_a` (revision: 1000 rows, page: 20) and `<prefix>_b` (text: 7)."""
    return (
        f"CREATE DATABASE {prefix}_a; CREATE DATABASE {prefix}_b; "
        f"CREATE TABLE {prefix}_a.revision (id INT PRIMARY KEY, sha1 CHAR(40)); "
        f"INSERT INTO {prefix}_a.revision SELECT seq, sha1(seq) FROM {prefix}_a.seq_1_to_1000; "
        f"CREATE TABLE {prefix}_a.page (id INT PRIMARY KEY) ENGINE=InnoDB; "
        f"INSERT INTO {prefix}_a.page SELECT seq FROM {prefix}_a.seq_1_to_20; "
        f"CREATE TABLE {prefix}_b.text (id INT PRIMARY KEY, body TEXT); "
        f"INSERT INTO {prefix}_b.text SELECT seq, repeat('x', seq) FROM {prefix}_b.seq_1_to_7;"
    )


EXPECTED_ROWS = {("_a", "page"): 20, ("_a", "revision"): 1000, ("_b", "text"): 7}


def rows_by_suffix(prefix: str, objects: list[asyncpg.Record]) -> dict[tuple[str, str], int | None]:
    return {(o["db"].removeprefix(prefix), o["name"]): o["rows"] for o in objects}


@pytest.fixture
def shared() -> Iterator[str]:
    """Two databases of our own on the machine's MariaDB; their common prefix."""
    need("mariadb")
    prefix = f"dy_t_{uuid.uuid4().hex[:8]}"
    try:
        load(tables(prefix))
    except (OSError, subprocess.CalledProcessError) as exc:
        unavailable(f"no MariaDB on 127.0.0.1:3306: {exc}")
    try:
        yield prefix
    finally:
        load(f"DROP DATABASE IF EXISTS {prefix}_a; DROP DATABASE IF EXISTS {prefix}_b")


@dataclass(frozen=True)
class Private:
    """A private MariaDB with a binary log, holding our two databases and nothing else but the system's."""

    url: str
    socket: Path
    prefix: str

    def master_status(self) -> dict[str, object]:
        file, position = load("SHOW MASTER STATUS", socket=self.socket).split("\t")[:2]
        gtid = load("SELECT @@gtid_binlog_pos", socket=self.socket).strip()
        return {"file": file, "position": int(position), "gtid": gtid}


def install() -> tuple[Path, Path]:
    """A new data folder (mariadb-install-db) in a folder of its own: (folder, data folder)."""
    work = Path(tempfile.mkdtemp(prefix="dy-src-"))
    work.chmod(0o711)  # mariadb-install-db creates the data folder as the server's user
    data = work / "data"
    user = ["--user=mysql"] if os.geteuid() == 0 else []
    try:
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", *user, f"--datadir={data}", "--skip-test-db",
             "--auth-root-authentication-method=normal"],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return work, data


@pytest.fixture
async def private() -> AsyncIterator[Private]:
    need("mariadb", "mariadb-install-db")
    work, data = await asyncio.to_thread(install)
    server = PrivateServer(data, work, grants=True, extra=(f"--log-bin={data}/dy-bin", "--server-id=7"))
    try:
        await server.start(timeout_s=120)
        prefix = f"dy_p_{uuid.uuid4().hex[:6]}"
        await asyncio.to_thread(load, tables(prefix), socket=server.socket)
        yield Private(f"mariadb://root@localhost/?socket={server.socket}", server.socket, prefix)
    finally:
        await server.stop()
        shutil.rmtree(work, ignore_errors=True)


async def run_row(db: asyncpg.Connection, job: runner.Job) -> asyncpg.Record:
    found = await db.fetchrow("SELECT * FROM backups.runs WHERE id = $1", await runner.run(db, job))
    assert found is not None
    return found


def new_section() -> str:
    return f"m{uuid.uuid4().hex[:8]}"


class TestMydumper:
    async def test_the_whole_instance_is_dumped_per_table_with_its_binlog_position(
        self, db: asyncpg.Connection, private: Private, tmp_path: Path
    ) -> None:
        need("mydumper")
        job = runner.Job(new_section(), "dump", "eqiad", private.url, tmp_path, heartbeat_s=0.05)
        run = await run_row(db, job)
        assert run["status"] == "finished", run["error_message"]
        assert run["tool"] == "mydumper", "mydumper is the default for a MariaDB dump"
        assert json.loads(run["binlog"]) == private.master_status()

        files = await db.fetch("SELECT path, name, size FROM backups.files WHERE run_id = $1", run["id"])
        names = {f["name"] for f in files}
        p = private.prefix
        assert {f"{p}_a-schema-create.sql.gz", f"{p}_a.revision.sql.gz", f"{p}_a.page-schema.sql.gz",
                f"{p}_b.text.sql.gz", "metadata"} <= names  # fmt: skip
        assert not [n for n in names if n.startswith(("mysql", "sys", "performance_schema"))], names
        folder = tmp_path / run["name"]
        assert {f["name"]: f["size"] for f in files} == {p.name: p.stat().st_size for p in folder.iterdir()}
        assert run["total_size"] == sum(f["size"] for f in files)

        objects = await db.fetch(
            "SELECT db, name, size, rows FROM backups.objects WHERE run_id = $1", run["id"]
        )
        assert rows_by_suffix(p, objects) == EXPECTED_ROWS, "every table of both databases, no system table"
        assert all(o["size"] > 0 for o in objects)

    async def test_a_list_of_databases_is_restored_by_myloader_and_compared(
        self, db: asyncpg.Connection, migrated_db: str, shared: str, tmp_path: Path
    ) -> None:
        need("mydumper", "myloader")
        job = runner.Job(
            new_section(),
            "dump",
            "eqiad",
            ROOT,
            tmp_path,
            tool="mydumper",
            databases=(f"{shared}_b", f"{shared}_a"),
        )
        run = await run_row(db, job)
        assert run["status"] == "finished", run["error_message"]
        assert json.loads(run["binlog"]) == {}, "the machine's MariaDB writes no binary log"
        objects = await db.fetch(
            "SELECT db, name, size, rows FROM backups.objects WHERE run_id = $1", run["id"]
        )
        assert rows_by_suffix(shared, objects) == EXPECTED_ROWS

        with pytest.raises(restore.RestoreError, match="--target-url mariadb://"):
            await restore.restore_test(db, run["id"], catalog_url=migrated_db, options=restore.Options())
        options = restore.Options(target_url=ROOT)
        outcome = await restore.restore_test(db, run["id"], catalog_url=migrated_db, options=options)
        assert outcome.passed, outcome.detail
        assert outcome.detail["kind"] == "mydumper"
        restored = {
            (t["db"].removeprefix(shared), t["name"]): t["restored"] for t in outcome.detail["tables"]
        }
        assert restored == EXPECTED_ROWS
        scratch = outcome.detail["databases"]
        assert sorted(scratch) == [f"{shared}_a", f"{shared}_b"]
        assert load(f"SHOW DATABASES LIKE 'dockyard_restore_{run['id']}_%'") == "", (
            "scratch databases dropped"
        )

        # A dump that lost rows (here: the recorded counts say more were saved) fails the test.
        await db.execute(
            "UPDATE backups.objects SET rows = 21 WHERE run_id = $1 AND name = 'page'", run["id"]
        )
        differs = await restore.restore_test(db, run["id"], catalog_url=migrated_db, options=options)
        assert not differs.passed
        assert [(t["name"], t["expected"], t["restored"]) for t in differs.detail["mismatches"]] == [
            ("page", 21, 20)
        ]

    async def test_an_unknown_database_fails_the_run_and_leaves_no_files(
        self, db: asyncpg.Connection, shared: str, tmp_path: Path
    ) -> None:
        need("mydumper")
        job = runner.Job(
            new_section(), "dump", "eqiad", ROOT, tmp_path, databases=(f"{shared}_a", "dy_no_such_db")
        )
        run = await run_row(db, job)
        assert (run["status"], run["error_stage"]) == ("failed", "backup")
        assert "Unknown database(s) on 127.0.0.1:3306: dy_no_such_db" in run["error_message"]
        assert not (tmp_path / run["name"]).exists()

    async def test_the_password_never_reaches_a_command_line(
        self, db: asyncpg.Connection, shared: str, tmp_path: Path
    ) -> None:
        need("mydumper")
        user, password = f"dy_u_{uuid.uuid4().hex[:6]}", 'p@ss "w0rd" \\ :/'
        await asyncio.to_thread(
            load,
            f"CREATE USER '{user}'@'%' IDENTIFIED BY 'p@ss \"w0rd\" \\\\ :/'; "
            f"GRANT SELECT, RELOAD, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER, PROCESS, BINLOG MONITOR "
            f"ON *.* TO '{user}'@'%'",
        )
        url = f"mariadb://{user}:{quote(password, safe='')}@127.0.0.1:3306/{shared}_a"
        try:
            async with table_locked(f"{shared}_a.page", shared) as unlock:
                job = runner.Job(new_section(), "dump", "eqiad", url, tmp_path)
                running = asyncio.create_task(runner.run(db, job))
                cmdline = await asyncio.to_thread(wait_for_process, "mydumper", f"{shared}_a")
                assert password not in cmdline
                assert quote(password, safe="") not in cmdline
                option = "--defaults-file="
                defaults = Path(
                    next(arg[len(option) :] for arg in cmdline.split("\0") if arg.startswith(option))
                )
                assert await asyncio.to_thread(private_file, defaults) == password
                await unlock()
                run = await db.fetchrow("SELECT * FROM backups.runs WHERE id = $1", await running)
            assert run is not None
            assert run["status"] == "finished", run["error_message"]
            assert not await asyncio.to_thread(defaults.parent.exists), "the option file goes with the run"
            metadata = await asyncio.to_thread((tmp_path / run["name"] / "metadata").read_text)
            assert password not in metadata
        finally:
            await asyncio.to_thread(load, f"DROP USER IF EXISTS '{user}'@'%'")

    async def test_a_stopped_runner_stops_mydumper_and_leaves_no_files(
        self, db: asyncpg.Connection, shared: str, tmp_path: Path
    ) -> None:
        need("mydumper")
        sec = new_section()
        async with table_locked(f"{shared}_a.page", shared):
            job = runner.Job(sec, "dump", "eqiad", f"{ROOT}{shared}_a", tmp_path)
            running = asyncio.create_task(runner.run(db, job))
            await asyncio.to_thread(wait_for_process, "mydumper", f"{shared}_a")
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running
            assert not await asyncio.to_thread(processes, "mydumper", f"{shared}_a"), "mydumper is gone"
        run = await db.fetchrow("SELECT * FROM backups.runs WHERE section = $1", sec)
        assert run is not None
        assert (run["status"], run["error_stage"], run["tool"]) == ("interrupted", "backup", "mydumper")
        assert not await asyncio.to_thread((tmp_path / run["name"]).exists), "no partial dump stays"

    def test_the_built_commands_carry_no_password(self, tmp_path: Path) -> None:
        source = Source.parse("mariadb://backup:s3cr%2Fet@db1139.eqiad.wmnet:3311/")
        assert source.password == "s3cr/et"
        command = mydumper.dump_command(source, tmp_path, ("enwiki",), defaults=tmp_path / "c.cnf")
        assert "s3cr" not in " ".join(command)
        assert f"--defaults-file={tmp_path / 'c.cnf'}" in command
        assert "--regex=^(enwiki)\\." in command
        snapshot = mariabackup.backup_command(source, tmp_path, defaults=tmp_path / "c.cnf")
        assert "s3cr" not in " ".join(snapshot)
        assert snapshot[1] == f"--defaults-extra-file={tmp_path / 'c.cnf'}", "mariabackup reads it only first"
        loading = mydumper.load_command(source, tmp_path, "enwiki", "scratch", defaults=tmp_path / "c.cnf")
        assert "s3cr" not in " ".join(loading)


def private_file(path: Path) -> str:
    """The password in the option file `path`, which only its owner can read, in a folder only
    its owner can enter."""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    line = next(line for line in path.read_text().splitlines() if line.startswith("password="))
    return line.removeprefix("password=")[1:-1].replace('\\"', '"').replace("\\\\", "\\")


def waiting(what: str) -> Iterator[None]:
    """Poll until the caller returns; a test that waits five minutes is failing, not slow."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        yield
        time.sleep(0.02)
    raise AssertionError(f"still waiting for {what}")


@contextlib.asynccontextmanager
async def table_locked(table: str, marker: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Hold a write lock on `table` (mydumper's FLUSH TABLES WITH READ LOCK waits for it, so the
    tool can be seen running); yields the function that releases it early."""
    locker = await asyncio.create_subprocess_exec(
        "mariadb", "--no-defaults", "--host=127.0.0.1", "--user=root", "-e",
        f"LOCK TABLES {table} WRITE; SELECT SLEEP(300), '{marker}'",
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip

    async def unlock() -> None:
        if locker.returncode is None:
            locker.kill()
            await locker.wait()

    try:
        await asyncio.to_thread(wait_for_lock, marker)
        yield unlock
    finally:
        await unlock()


def wait_for_lock(prefix: str) -> None:
    """Until the session holding the lock is sleeping (its query names `prefix`)."""
    for _ in waiting("the table lock"):
        if f"'{prefix}'" in load("SELECT group_concat(info) FROM information_schema.processlist"):
            return


def processes(program: str, marker: str) -> list[str]:
    """The NUL-separated command lines of the running `program`s whose arguments mention `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if cmdline.split("\0")[0].endswith(program) and marker in cmdline:
            found.append(cmdline)
    return found


def wait_for_process(program: str, marker: str) -> str:
    """The command line of the running `program` whose arguments mention `marker`, once it runs."""
    for _ in waiting(program):
        if found := processes(program, marker):
            return found[0]
    raise AssertionError("unreachable")


class TestMariabackup:
    async def test_a_snapshot_is_prepared_compressed_recorded_and_restored(
        self, db: asyncpg.Connection, migrated_db: str, private: Private, tmp_path: Path,
        client: AppClient, users: Accounts,
    ) -> None:  # fmt: skip
        need("mariabackup")
        sec = new_section()
        job = runner.Job(sec, "snapshot", "eqiad", private.url, tmp_path, heartbeat_s=0.05)
        run = await run_row(db, job)
        assert run["status"] == "finished", run["error_message"]
        assert run["tool"] == "mariabackup", "mariabackup is the default for a MariaDB snapshot"
        coordinates = private.master_status()
        assert json.loads(run["binlog"]) == coordinates

        folder = tmp_path / run["name"]
        files = {
            f["name"]: f["size"]
            for f in await db.fetch("SELECT * FROM backups.files WHERE run_id = $1", run["id"])
        }
        assert set(files) == {
            f"{sec}.tar.gz",
            "xtrabackup_info",
            "xtrabackup_checkpoints",
            "xtrabackup_binlog_info",
        }
        assert files == {p.name: p.stat().st_size for p in folder.iterdir()}, "the prepared folder is gone"
        listing = await asyncio.to_thread(
            subprocess.run,
            ["tar", "--list", "--gzip", f"--file={folder / f'{sec}.tar.gz'}"],
            check=True,
            capture_output=True,
            text=True,
        )
        p = private.prefix
        wanted = {"./ibdata1", f"./{p}_a/revision.ibd", f"./{p}_b/text.ibd", "./mysql/global_priv.MAD"}
        assert wanted <= set(listing.stdout.split())
        objects = await db.fetch(
            "SELECT db, name, size, rows FROM backups.objects WHERE run_id = $1", run["id"]
        )
        assert rows_by_suffix(p, objects) == EXPECTED_ROWS

        group = await users.group("backups.view")
        _, email = await users.user("dba", groups=(group,))
        headers = {"Authorization": f"Bearer {(await users.login(email))['access_token']}"}
        detail = (await client.get(f"{API}/runs/{run['id']}", headers=headers)).json()
        assert detail["tool"] == "mariabackup"
        assert detail["binlog"] == {**coordinates, "primary": None}

        outcome = await restore.restore_test(
            db, run["id"], catalog_url=migrated_db, options=restore.Options()
        )
        assert outcome.passed, outcome.detail
        assert outcome.detail["kind"] == "mariabackup"
        restored = {(t["db"].removeprefix(p), t["name"]): t["restored"] for t in outcome.detail["tables"]}
        assert restored == EXPECTED_ROWS
        assert not await asyncio.to_thread(Path(outcome.detail["folder"]).exists), "its folder is removed"

        await db.execute(
            "UPDATE backups.objects SET rows = 999 WHERE run_id = $1 AND name = 'revision'", run["id"]
        )
        differs = await restore.restore_test(
            db, run["id"], catalog_url=migrated_db, options=restore.Options()
        )
        assert not differs.passed
        assert [(t["name"], t["restored"]) for t in differs.detail["mismatches"]] == [("revision", 1000)]

    async def test_a_source_that_cannot_be_copied_fails_at_backup_and_leaves_no_files(
        self, db: asyncpg.Connection, tmp_path: Path
    ) -> None:
        need("mariabackup")
        job = runner.Job(new_section(), "snapshot", "eqiad", "mariadb://root@127.0.0.1:1/", tmp_path)
        run = await run_row(db, job)
        assert (run["status"], run["error_stage"], run["tool"]) == ("failed", "backup", "mariabackup")
        assert "127.0.0.1" in run["error_message"]
        assert not (tmp_path / run["name"]).exists()


class TestSource:
    def test_urls_name_an_instance_a_database_or_a_socket(self) -> None:
        whole = Source.parse("mariadb://dump@db1139.eqiad.wmnet:3311/")
        assert (whole.database, whole.label(), whole.wanted(())) == (None, "db1139.eqiad.wmnet:3311", None)
        assert whole.wanted(("b", "a", "b")) == ("b", "a")
        one = Source.parse("mysql://dump@db1139/enwiki")
        assert (one.label(), one.wanted(())) == ("db1139:3306", ("enwiki",))
        local = Source.parse("mariadb://root@/?socket=/run/mysqld/mysqld.sock")
        assert local.options() == ["--socket=/run/mysqld/mysqld.sock", "--user=root"]
        assert local.label() == "localhost"

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("mariadb://x@h:99999/", "port"),
            ("mariadb://x@h/mysql", "system database"),
            ("mariadb://x@h/a%60b", "not supported"),
            ("postgresql://x@h/a", "not a MariaDB source URL"),
        ],
    )
    def test_unusable_urls_say_why(self, url: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            Source.parse(url)

    def test_metadata_of_a_replica_and_of_later_mydumper_versions(self) -> None:
        replica = (
            "Started dump at: 2021-06-01 00:00:01\n"
            "SHOW MASTER STATUS:\n\tLog: db1139-bin.002845\n\tPos: 4720\n\tGTID:0-171970637-5484646134\n\n"
            "SHOW SLAVE STATUS:\n\tHost: 10.64.48.5\n\tLog: db1163-bin.004233\n\tPos: 432\n"
            "\tGTID:0-171970637-5484646134,171978825-171978825-1\n\n"
            "Finished dump at: 2021-06-01 00:20:10\n"
        )
        assert mydumper.parse_metadata(replica) == {
            "file": "db1139-bin.002845", "position": 4720, "gtid": "0-171970637-5484646134",
            "primary": {"host": "10.64.48.5", "file": "db1163-bin.004233", "position": 432,
                        "gtid": "0-171970637-5484646134,171978825-171978825-1"},
        }  # fmt: skip
        later = "[config]\nquote-character = BACKTICK\n\n[master]\nFile = b.000003\nPosition = 55\n"
        assert mydumper.parse_metadata(later + "Executed_Gtid_Set = 0-1-2\n") == {
            "file": "b.000003",
            "position": 55,
            "gtid": "0-1-2",
        }
        assert mydumper.parse_metadata("Started dump at: x\nFinished dump at: y\n") == {}
        assert mariabackup.parse_binlog_info("dy-bin.000001\t748\t0-7-3\n") == {
            "file": "dy-bin.000001",
            "position": 748,
            "gtid": "0-7-3",
        }


class TestCommand:
    async def test_run_takes_the_databases_named_and_restore_test_loads_them(
        self, db: asyncpg.Connection, migrated_db: str, shared: str, tmp_path: Path
    ) -> None:
        need("mydumper", "myloader")
        sec = new_section()
        env = {**os.environ, "DATABASE_URL": migrated_db, "COLUMNS": "300"}
        command = [DOCKYARD, "backups", "run", "--section", sec, "--type", "dump", "--datacenter", "codfw",
                   "--source-url", ROOT, "--database", f"{shared}_b", "--dest", str(tmp_path)]  # fmt: skip
        done = await asyncio.to_thread(
            subprocess.run, command, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr
        run = await db.fetchrow("SELECT * FROM backups.runs WHERE section = $1", sec)
        assert run is not None
        assert done.stdout.startswith(f"run {run['id']} finished: {run['name']}")
        assert (run["tool"], run["source"]) == ("mydumper", "127.0.0.1:3306")
        objects = await db.fetch("SELECT db, name, rows FROM backups.objects WHERE run_id = $1", run["id"])
        assert [(o["db"], o["name"], o["rows"]) for o in objects] == [(f"{shared}_b", "text", 7)]

        command = [DOCKYARD, "backups", "restore-test", str(run["id"]), "--target-url", ROOT]
        done = await asyncio.to_thread(
            subprocess.run, command, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "passed: 1 table(s) restored with the row counts recorded" in done.stdout


class TestChoice:
    def test_each_type_and_source_gets_its_tool(self) -> None:
        assert runs.choose(ROOT, "dump", None) == "mydumper"
        assert runs.choose(ROOT, "dump", "mariadb-dump") == "mariadb-dump"
        assert runs.choose(ROOT, "snapshot", None) == "mariabackup"
        assert runs.choose("postgresql://x/y", "snapshot", None) == "pg_basebackup"
        with pytest.raises(
            ValueError,
            match="mariabackup cannot take a dump of a mariadb source: use mydumper or mariadb-dump",
        ):
            runs.choose(ROOT, "dump", "mariabackup")

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--type", "dump", "--tool", "mariabackup"], "use mydumper or mariadb-dump"),
            (["--type", "snapshot", "--tool", "xtrabackup"], "--tool must be one of mydumper"),
            (["--type", "dump", "--database", "mysql"], "mysql is a system database"),
            (["--type", "dump", "--database", "a;b"], "database name 'a;b' is not supported"),
            (["--type", "dump", "--tool", "mariadb-dump", "--database", "x"], "use --tool mydumper"),
        ],
    )
    def test_the_command_refuses_what_cannot_work(self, args: list[str], message: str) -> None:
        done = subprocess.run(
            [DOCKYARD, "backups", "run", "--section", "s1", "--datacenter", "eqiad", "--source-url", ROOT,
             *args],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "COLUMNS": "300"},
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert message in " ".join(done.stderr.split()), done.stderr
