"""migrate_db.sh on a real PostgreSQL: apply, no-op, failure, drift, concurrency, dry run, down, baseline."""

from __future__ import annotations

import hashlib
import os
import re
import signal
from collections.abc import Callable

import pytest

from tests.db.conftest import MIGRATION_LOCK_KEY, REAL_MIGRATIONS, Scripts, Session, wait_until

ITEMS = "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\n"
ITEMS_DOWN = "DROP TABLE items;\n"
TAGS = "CREATE TABLE tags (id int PRIMARY KEY);\nINSERT INTO tags VALUES (1), (2);\n"
NAME_IDX = (
    "-- dockyard:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS items_name_idx ON items (name);\n"
)


def two_migrations(scripts: Scripts) -> None:
    scripts.write("202601010000_items.sql", ITEMS)
    scripts.write("202601010000_items.down.sql", ITEMS_DOWN)
    scripts.write("202601020000_tags.sql", TAGS)


def test_applies_in_order_and_records_each(scripts: Scripts) -> None:
    two_migrations(scripts)
    done = scripts.run("migrate_db.sh")
    assert done.returncode == 0, done.stderr
    assert scripts.applied() == ["202601010000", "202601020000"]
    assert scripts.sql("SELECT count(*) FROM tags") == "2"
    row = scripts.sql(
        "SELECT name, checksum, duration_ms >= 0, applied_by = current_user, applied_at <= now() "
        "FROM public.schema_migrations WHERE version = '202601010000'"
    )
    digest = hashlib.sha256(ITEMS.encode()).hexdigest()
    assert row == f"items|{digest}|t|t|t"
    assert "applying 202601010000_items" in done.stderr
    assert "applied 202601020000_tags in" in done.stderr


def test_second_run_is_a_no_op(scripts: Scripts) -> None:
    two_migrations(scripts)
    assert scripts.run("migrate_db.sh").returncode == 0
    first = scripts.sql("SELECT string_agg(applied_at::text, ',') FROM public.schema_migrations")
    again = scripts.run("migrate_db.sh")
    assert again.returncode == 0
    assert "up to date" in again.stderr
    assert scripts.sql("SELECT string_agg(applied_at::text, ',') FROM public.schema_migrations") == first


def test_failing_migration_leaves_no_trace(scripts: Scripts) -> None:
    scripts.write("202601010000_items.sql", ITEMS)
    scripts.write(
        "202601020000_broken.sql",
        "CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\nSELECT * FROM no_such_table;\n",
    )
    scripts.write("202601030000_after.sql", "CREATE TABLE after_broken (id int);\n")
    done = scripts.run("migrate_db.sh")
    assert done.returncode == 4
    assert 'relation "no_such_table" does not exist' in done.stderr
    # The good one before stays; the broken one and everything after it left nothing behind.
    assert scripts.applied() == ["202601010000"]
    assert scripts.table_exists("items")
    assert not scripts.table_exists("half_done")
    assert not scripts.table_exists("after_broken")


def test_changed_file_is_refused(scripts: Scripts) -> None:
    path = scripts.write("202601010000_items.sql", ITEMS)
    assert scripts.run("migrate_db.sh").returncode == 0
    path.write_text(ITEMS + "-- edited after applying\n")
    scripts.write("202601020000_tags.sql", TAGS)
    done = scripts.run("migrate_db.sh")
    assert done.returncode == 5
    assert "202601010000_items: file changed since it was applied" in done.stderr
    assert not scripts.table_exists("tags")
    status = scripts.run("migrate_db.sh", "status")
    assert "changed" in status.stdout


def test_missing_applied_file_is_refused(scripts: Scripts) -> None:
    path = scripts.write("202601010000_items.sql", ITEMS)
    assert scripts.run("migrate_db.sh").returncode == 0
    path.unlink()
    done = scripts.run("migrate_db.sh")
    assert done.returncode == 5
    assert "its file is gone" in done.stderr


def test_concurrent_runs_apply_each_migration_once(scripts: Scripts) -> None:
    scripts.write(
        "202601010000_slow.sql",
        "CREATE TABLE counter (n int);\nINSERT INTO counter VALUES (1);\nSELECT pg_sleep(1);\n",
    )
    scripts.write("202601020000_bump.sql", "INSERT INTO counter VALUES (2);\n")
    runs = [scripts.popen("migrate_db.sh") for _ in range(3)]
    results = [(run.wait(timeout=60), run.communicate()[1]) for run in runs]
    assert [code for code, _ in results] == [0, 0, 0], results
    assert scripts.sql("SELECT string_agg(n::text, ',' ORDER BY n) FROM counter") == "1,2"
    assert scripts.applied() == ["202601010000", "202601020000"]
    log = "".join(err for _, err in results)
    assert log.count("applied 202601010000_slow in") == 1


@pytest.mark.parametrize("runs", [2, 4, 8])
def test_concurrent_runs_on_a_fresh_database_all_succeed(scripts: Scripts, runs: int) -> None:
    # The project's own history: CREATE INDEX CONCURRENTLY in the run holding the lock must not
    # wait on the snapshot of a run waiting for that lock.
    project = Scripts(scripts.pg, scripts.url, REAL_MIGRATIONS)
    started = [project.popen("migrate_db.sh") for _ in range(runs)]
    results = [(run.wait(timeout=120), run.communicate()[1]) for run in started]
    assert [code for code, _ in results] == [0] * runs, results
    files = [path.name for path in REAL_MIGRATIONS.glob("*.sql") if not path.name.endswith(".down.sql")]
    versions = sorted(name[:12] for name in files)
    assert project.applied() == versions
    log = "".join(err for _, err in results)
    applied = {version: len(re.findall(rf"applied {version}_\w+ in", log)) for version in versions}
    assert applied == dict.fromkeys(versions, 1)
    assert project.sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid") == "0"


def sessions_of(scripts: Scripts, application: str, where: str = "true") -> str:
    """How many server sessions `application` has open (that match `where`)."""
    return scripts.sql(
        f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{application}' AND {where}"
    )


def test_waiting_run_holds_no_snapshot(scripts: Scripts, session: Callable[[], Session]) -> None:
    scripts.write("202601010000_items.sql", ITEMS)
    holder = session()
    assert holder.run(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})") == ""
    waiter = scripts.popen("migrate_db.sh", PGAPPNAME="dy-waiter")
    wait_until(
        lambda: sessions_of(scripts, "dy-waiter", "query LIKE '%advisory_lock%'") == "1",
        "the second run to ask for the lock",
    )
    # What the run holding the lock does in a migration: it must not wait for the waiting run.
    holder.run("CREATE TABLE probe (n int)")
    holder.run("SET statement_timeout = '30s'")
    holder.run("CREATE INDEX CONCURRENTLY probe_n_idx ON probe (n)")
    assert scripts.sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'probe_n_idx'::regclass") == "t"
    holder.run(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
    assert waiter.wait(timeout=60) == 0, waiter.communicate()[1]
    assert "waiting for it (up to 60s)" in waiter.communicate()[1]
    assert scripts.applied() == ["202601010000"]


def test_lock_timeout_exits_7(scripts: Scripts, session: Callable[[], Session]) -> None:
    scripts.write("202601010000_items.sql", ITEMS)
    holder = session()
    holder.run(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
    waiter = scripts.run("migrate_db.sh", "--lock-timeout", "1")
    assert waiter.returncode == 7, waiter.stderr
    assert "held the lock for more than 1s" in waiter.stderr
    assert scripts.applied() == []
    holder.run(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
    done = scripts.run("migrate_db.sh", "--lock-timeout", "1")
    assert done.returncode == 0, done.stderr
    assert scripts.applied() == ["202601010000"]


def index_valid(scripts: Scripts, name: str) -> str:
    """'t' or 'f' for an index's pg_index.indisvalid, '' when there is no such index."""
    return scripts.sql(f"SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('{name}')")


def test_kill_9_mid_index_then_rerun_leaves_no_invalid_index(
    scripts: Scripts, session: Callable[[], Session]
) -> None:
    rows = "INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 1000) g;\n"
    scripts.write("202601010000_items.sql", ITEMS + rows)
    assert scripts.run("migrate_db.sh").returncode == 0
    scripts.write(
        "202601020000_items_name_idx.sql",
        NAME_IDX,
    )
    # A writer's open transaction stalls the build after its INVALID index is in the catalog.
    writer = session()
    writer.run("BEGIN; LOCK TABLE items IN ROW EXCLUSIVE MODE;")
    run = scripts.popen("migrate_db.sh", PGAPPNAME="dy-killed")
    wait_until(
        lambda: (
            index_valid(scripts, "items_name_idx") == "f"
            and sessions_of(scripts, "dy-killed", "wait_event_type = 'Lock'") == "1"
        ),
        "the index build to wait for the writer",
    )
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    # The server notices the client is gone and ends the build, releasing the migration lock.
    wait_until(
        lambda: sessions_of(scripts, "dy-killed") == "0",
        "the killed run's session to end",
    )
    assert index_valid(scripts, "items_name_idx") == "f"
    writer.run("COMMIT")
    again = scripts.run("migrate_db.sh")
    assert again.returncode == 0, again.stderr
    assert index_valid(scripts, "items_name_idx") == "t"
    assert "dropping INVALID index items_name_idx, left by an interrupted build" in again.stderr
    assert scripts.sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid") == "0"
    assert scripts.applied() == ["202601010000", "202601020000"]


def test_rerun_of_the_covering_indexes_migration_after_an_interruption(
    scripts: Scripts, session: Callable[[], Session]
) -> None:
    # 202611251920 holds four statements; a run interrupted after the first, during the second,
    # leaves one covering index built and one INVALID. Running it again must finish the job.
    project = Scripts(scripts.pg, scripts.url, REAL_MIGRATIONS)
    assert project.run("migrate_db.sh", "--to", "202611251910").returncode == 0
    project.sql(
        "CREATE INDEX CONCURRENTLY ihr_hegemony_originasn_timebin_covering "
        "ON public.ihr_hegemony (originasn_id, timebin DESC) INCLUDE (asn_id, af, hege, id)"
    )
    writer, builder = session(), session()
    writer.run("BEGIN; LOCK TABLE ihr_hegemony IN ROW EXCLUSIVE MODE;")
    builder.run("SET statement_timeout = '300ms'")
    with pytest.raises(RuntimeError, match="statement timeout"):
        builder.run(
            "CREATE INDEX CONCURRENTLY ihr_hegemony_asn_timebin_covering "
            "ON public.ihr_hegemony (asn_id, timebin DESC) INCLUDE (originasn_id, af, hege, id)"
        )
    writer.run("COMMIT")
    assert index_valid(project, "ihr_hegemony_asn_timebin_covering") == "f"
    done = project.run("migrate_db.sh")
    assert done.returncode == 0, done.stderr
    assert index_valid(project, "ihr_hegemony_asn_timebin_covering") == "t"
    assert "dropping INVALID index ihr_hegemony_asn_timebin_covering" in done.stderr
    assert index_valid(project, "ihr_hegemony_originasn_timebin") == ""
    checked = project.run("test_db.sh")
    assert checked.returncode == 0, checked.stderr


def test_no_transaction_files_hold_only_statements_safe_to_rerun() -> None:
    # A no-transaction file is not atomic: a run interrupted half-way runs it again from the top.
    safe = re.compile(
        r"CREATE (UNIQUE )?INDEX CONCURRENTLY IF NOT EXISTS \w+ ON .*"
        r"|DROP INDEX CONCURRENTLY IF EXISTS [\w.]+",
        re.IGNORECASE | re.DOTALL,
    )
    checked = 0
    for path in sorted(REAL_MIGRATIONS.glob("*.sql")):
        text = path.read_text()
        if "-- dockyard:no-transaction" not in text.splitlines()[0]:
            continue
        code = re.sub(r"--[^\n]*", "", text)
        statements = [" ".join(part.split()) for part in code.split(";") if part.strip()]
        unsafe = [statement for statement in statements if not safe.fullmatch(statement)]
        assert unsafe == [], f"{path.name}: not safe to run twice: {unsafe}"
        checked += 1
    assert checked >= 4


def test_down_file_rebuilding_an_index_cleans_an_invalid_one(scripts: Scripts) -> None:
    scripts.write("202601010000_items.sql", ITEMS)
    scripts.write(
        "202601020000_swap.sql",
        "-- dockyard:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS items_name_idx;\n",
    )
    scripts.write(
        "202601020000_swap.down.sql",
        NAME_IDX,
    )
    assert scripts.run("migrate_db.sh").returncode == 0
    # An earlier `down` was interrupted and left its index INVALID (as a failed unique build does).
    scripts.sql("INSERT INTO items VALUES (1, 'same'), (2, 'same')")
    with pytest.raises(RuntimeError, match="could not create unique index"):
        scripts.sql("CREATE UNIQUE INDEX CONCURRENTLY items_name_idx ON items (name)")
    assert index_valid(scripts, "items_name_idx") == "f"
    done = scripts.run("migrate_db.sh", "down")
    assert done.returncode == 0, done.stderr
    assert (
        scripts.sql("SELECT indisunique FROM pg_index WHERE indexrelid = 'items_name_idx'::regclass") == "f"
    )
    assert index_valid(scripts, "items_name_idx") == "t"
    assert "dropping INVALID index items_name_idx" in done.stderr


def test_dry_run_changes_nothing(scripts: Scripts) -> None:
    two_migrations(scripts)
    done = scripts.run("migrate_db.sh", "--dry-run")
    assert done.returncode == 0
    assert "would apply 2 migration(s)" in done.stderr
    assert "CREATE TABLE items" in done.stdout
    assert "CREATE TABLE tags" in done.stdout
    assert not scripts.table_exists("public.schema_migrations")
    assert not scripts.table_exists("items")


def test_to_stops_at_version(scripts: Scripts) -> None:
    two_migrations(scripts)
    done = scripts.run("migrate_db.sh", "--to", "202601010000")
    assert done.returncode == 0
    assert scripts.applied() == ["202601010000"]
    assert scripts.run("migrate_db.sh", "--to", "209901010000").returncode == 2


def test_status_and_check(scripts: Scripts) -> None:
    two_migrations(scripts)
    assert scripts.run("migrate_db.sh", "--to", "202601010000").returncode == 0
    status = scripts.run("migrate_db.sh", "status")
    assert status.returncode == 0
    lines = {line.split()[0]: line.split()[2] for line in status.stdout.splitlines()[1:]}
    assert lines == {"202601010000": "applied", "202601020000": "pending"}
    assert scripts.run("migrate_db.sh", "status", "--check").returncode == 5
    assert scripts.run("migrate_db.sh").returncode == 0
    assert scripts.run("migrate_db.sh", "status", "--check").returncode == 0


def test_no_transaction_header_allows_concurrent_index(scripts: Scripts) -> None:
    scripts.write("202601010000_items.sql", ITEMS)
    scripts.write(
        "202601020000_items_name_idx.sql",
        "-- dockyard:no-transaction\nCREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n",
    )
    done = scripts.run("migrate_db.sh")
    assert done.returncode == 0, done.stderr
    assert scripts.table_exists("items_name_idx")
    assert scripts.applied() == ["202601010000", "202601020000"]


def test_no_transaction_header_on_a_down_file_allows_dropping_concurrently(scripts: Scripts) -> None:
    scripts.write("202601010000_items.sql", ITEMS)
    scripts.write(
        "202601020000_items_name_idx.sql",
        "-- dockyard:no-transaction\nCREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n",
    )
    scripts.write(
        "202601020000_items_name_idx.down.sql",
        "-- dockyard:no-transaction\nDROP INDEX CONCURRENTLY items_name_idx;\n",
    )
    assert scripts.run("migrate_db.sh").returncode == 0
    done = scripts.run("migrate_db.sh", "down")
    assert done.returncode == 0, done.stderr
    assert not scripts.table_exists("items_name_idx")
    assert scripts.applied() == ["202601010000"]


def test_concurrent_index_without_header_fails_cleanly(scripts: Scripts) -> None:
    scripts.write("202601010000_items.sql", ITEMS)
    scripts.write("202601020000_idx.sql", "CREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n")
    done = scripts.run("migrate_db.sh")
    assert done.returncode == 4
    assert "cannot run inside a transaction block" in done.stderr
    assert scripts.applied() == ["202601010000"]


def test_transaction_control_in_file_refused(scripts: Scripts) -> None:
    scripts.write("202601010000_items.sql", "BEGIN;\n" + ITEMS + "COMMIT;\n")
    done = scripts.run("migrate_db.sh")
    assert done.returncode == 1
    assert "controls transactions itself (line 1)" in done.stderr
    assert not scripts.table_exists("items")


def test_plpgsql_blocks_are_not_mistaken_for_transactions(scripts: Scripts) -> None:
    scripts.write(
        "202601010000_fn.sql",
        "CREATE FUNCTION one() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;\n",
    )
    done = scripts.run("migrate_db.sh")
    assert done.returncode == 0, done.stderr
    assert scripts.sql("SELECT one()") == "1"


def test_badly_named_file_refused(scripts: Scripts) -> None:
    scripts.write("items.sql", ITEMS)
    done = scripts.run("migrate_db.sh")
    assert done.returncode == 1
    assert "YYYYMMDDHHMM_name.sql" in done.stderr


def test_down_reverses_one_step(scripts: Scripts) -> None:
    scripts.write("202601010000_items.sql", ITEMS)
    scripts.write("202601010000_items.down.sql", ITEMS_DOWN)
    scripts.write("202601020000_more.sql", "CREATE TABLE more (id int);\n")
    scripts.write("202601020000_more.down.sql", "DROP TABLE more;\n")
    assert scripts.run("migrate_db.sh").returncode == 0
    done = scripts.run("migrate_db.sh", "down")
    assert done.returncode == 0, done.stderr
    assert scripts.applied() == ["202601010000"]
    assert not scripts.table_exists("more")
    assert scripts.table_exists("items")
    # Applying again brings the reversed one back.
    assert scripts.run("migrate_db.sh").returncode == 0
    assert scripts.table_exists("more")


def test_down_without_down_file_refused(scripts: Scripts) -> None:
    scripts.write("202601020000_tags.sql", TAGS)
    assert scripts.run("migrate_db.sh").returncode == 0
    done = scripts.run("migrate_db.sh", "down")
    assert done.returncode == 1
    assert "202601020000_tags.down.sql does not exist" in done.stderr
    assert scripts.applied() == ["202601020000"]


def test_baseline_adopts_existing_schema(scripts: Scripts) -> None:
    two_migrations(scripts)
    scripts.write("202601030000_extra.sql", "CREATE TABLE extra (id int);\n")
    # A database built by other means, already at 202601020000.
    scripts.sql(ITEMS + TAGS)
    done = scripts.run("migrate_db.sh", "baseline", "202601020000")
    assert done.returncode == 0, done.stderr
    assert "recorded 2 migration(s)" in done.stderr
    assert scripts.sql("SELECT sum(duration_ms) FROM public.schema_migrations") == "0"
    migrate = scripts.run("migrate_db.sh")
    assert migrate.returncode == 0, migrate.stderr
    assert scripts.applied() == ["202601010000", "202601020000", "202601030000"]
    assert scripts.sql("SELECT count(*) FROM tags") == "2"  # not re-run
    again = scripts.run("migrate_db.sh", "baseline", "202601020000")
    assert again.returncode == 5


def test_usage_errors(scripts: Scripts) -> None:
    assert scripts.run("migrate_db.sh", "--bogus").returncode == 2
    assert scripts.run("migrate_db.sh", "baseline").returncode == 2
    assert scripts.run("migrate_db.sh", "--lock-timeout", "soon").returncode == 2
    helped = scripts.run("migrate_db.sh", "--help")
    assert helped.returncode == 0
    assert "baseline VERSION" in helped.stdout


def test_unreachable_database_exits_3(scripts: Scripts) -> None:
    scripts.write("202601010000_items.sql", ITEMS)
    done = scripts.run("migrate_db.sh", "--database-url", "postgresql://nobody:hunter2@127.0.0.1:1/none")
    assert done.returncode == 3
    assert "cannot connect to postgresql://nobody:***@127.0.0.1:1/none" in done.stderr
    assert "hunter2" not in done.stderr
