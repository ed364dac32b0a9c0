"""migrate_db.sh on a real PostgreSQL: apply, no-op, failure, drift, concurrency, dry run, down, baseline."""

from __future__ import annotations

import hashlib
import time

from tests.db.conftest import Scripts

ITEMS = "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\n"
ITEMS_DOWN = "DROP TABLE items;\n"
TAGS = "CREATE TABLE tags (id int PRIMARY KEY);\nINSERT INTO tags VALUES (1), (2);\n"


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


def test_lock_timeout_exits_7(scripts: Scripts) -> None:
    scripts.write("202601010000_slow.sql", "SELECT pg_sleep(4);\n")
    holder = scripts.popen("migrate_db.sh")
    time.sleep(1.5)
    waiter = scripts.run("migrate_db.sh", "--lock-timeout", "1")
    assert holder.wait(timeout=30) == 0
    assert waiter.returncode == 7, waiter.stderr
    assert "held the lock" in waiter.stderr


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
