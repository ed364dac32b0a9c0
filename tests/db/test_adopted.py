"""Adopting the legacy IHR database: baseline, then `db check` by shape, and widening its integer ids."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from tests.db.conftest import Scripts

FOREIGN = (
    "public.auth_permission",
    "public.authtoken_token",
    "public.django_admin_log",
    "public.django_content_type",
    "public.django_session",
    "public.ihr_ihruser",
    "public.ihr_monitoredasn",
)
WIDE = ("ihr_hegemony", "ihr_hegemony_country", "ihr_atlas_delay")


ROWS = """
INSERT INTO ihr_asn VALUES (0, 'global', false, false, true), (2497, 'IIJ', true, true, true);
INSERT INTO ihr_country VALUES ('JP', 'Japan', true, true);
INSERT INTO ihr_atlas_location (name, type, af) VALUES ('2497', 'AS', 4), ('Tokyo', 'CT', 4);
INSERT INTO ihr_hegemony (timebin, originasn_id, asn_id, hege, af)
    SELECT now() - g * interval '15 min', 0, 2497, g / 20000.0, 4 FROM generate_series(1, 20000) g;
INSERT INTO ihr_hegemony_country (timebin, country_id, asn_id, hege, af, weight, weightscheme, transitonly)
    SELECT now() - g * interval '15 min', 'JP', 2497, 0.1, 4, 1, 'as', false FROM generate_series(1, 3000) g;
INSERT INTO ihr_atlas_delay (timebin, startpoint_id, endpoint_id, median, nbtracks, nbprobes, entropy, hop,
                             nbrealrtts)
    SELECT now() - g * interval '15 min', 1, 2, g, 1, 1, 0.5, 2, 1 FROM generate_series(1, 5000) g;
"""
NEW_HEGEMONY = (
    "INSERT INTO ihr_hegemony (timebin, originasn_id, asn_id, hege, af) VALUES (now(), 0, 2497, 1, 4)"
)


def load_rows(adopted: Scripts) -> None:
    adopted.sql(ROWS)


def fingerprint(adopted: Scripts, table: str) -> str:
    """Every row's id with what it identifies, summed up."""
    return adopted.sql(f"SELECT count(*), sum(id), sum(hashtext(id || ':' || timebin)) FROM {table}")


def check(adopted: Scripts) -> tuple[int, str]:
    done = adopted.run("test_db.sh")
    return done.returncode, done.stderr


class TestCheckAdopted:
    def test_baseline_then_check_passes_reporting_foreign_tables_and_the_integer_ids(
        self, adopted: Scripts
    ) -> None:
        assert adopted.sql("SELECT version FROM public.schema_baseline") == "202611221200"
        code, log = check(adopted)
        assert code == 0, log
        assert "adopted database (migrate_db.sh baseline 202611221200)" in log
        foreign = re.search(r"foreign tables \(.*?\): (.*)", log)
        assert foreign is not None, log
        listed = foreign.group(1).split(", ")
        assert set(FOREIGN) <= set(listed)
        assert not [
            table for table in listed if table.startswith(("public.ihr_hegemony", "public.ihr_asn", "core."))
        ]
        for table in WIDE:
            assert (
                f"known difference: public.{table}.id is integer here (column and its sequence), bigint"
                in log
            )
        assert "3 known difference(s), 17 foreign table(s)" in log

    def test_a_dropped_column_fails_naming_it(self, adopted: Scripts) -> None:
        adopted.sql("ALTER TABLE ihr_hegemony DROP COLUMN af")
        code, log = check(adopted)
        assert code == 6
        assert "-public.ihr_hegemony: column af integer NOT NULL" in log

    def test_a_changed_type_fails_naming_it(self, adopted: Scripts) -> None:
        adopted.sql("ALTER TABLE ihr_hegemony_country ALTER COLUMN weight TYPE real")
        code, log = check(adopted)
        assert code == 6
        assert "-public.ihr_hegemony_country: column weight double precision NOT NULL" in log
        assert "+public.ihr_hegemony_country: column weight real NOT NULL" in log

    def test_a_missing_key_fails_naming_it(self, adopted: Scripts) -> None:
        name = adopted.sql(
            "SELECT conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid"
            " WHERE c.conrelid = 'ihr_atlas_delay'::regclass AND c.contype = 'f'"
            " AND c.conkey = ARRAY[a.attnum] AND a.attname = 'startpoint_id'"
        )
        assert re.fullmatch(r"ihr_atlas_delay_startpoint_id_[0-9a-f]{8}_fk_ihr_atlas_location_id", name)
        adopted.sql(f"ALTER TABLE ihr_atlas_delay DROP CONSTRAINT {name}")
        code, log = check(adopted)
        assert code == 6
        assert (
            "-public.ihr_atlas_delay: constraint FOREIGN KEY (startpoint_id) "
            "REFERENCES public.ihr_atlas_location(id) DEFERRABLE INITIALLY DEFERRED"
        ) in log

    def test_an_id_changed_to_another_type_is_not_the_known_difference(self, adopted: Scripts) -> None:
        adopted.sql("ALTER TABLE ihr_hegemony ALTER COLUMN id TYPE numeric")
        code, log = check(adopted)
        assert code == 6
        assert "+public.ihr_hegemony: column id numeric NOT NULL" in log

    def test_a_table_made_after_the_baseline_is_drift_not_foreign(self, adopted: Scripts) -> None:
        adopted.sql("CREATE TABLE public.django_later (id int)")
        code, log = check(adopted)
        assert code == 6
        assert "+public.django_later: column id integer" in log

    def test_changes_outside_tables_are_a_diff(self, adopted: Scripts) -> None:
        adopted.sql("CREATE FUNCTION public.sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        code, log = check(adopted)
        assert code == 6
        assert "+CREATE FUNCTION public.sneaky() RETURNS integer" in log

    def test_schema_sql_is_never_written_from_an_adopted_database(
        self, adopted: Scripts, tmp_path: Path
    ) -> None:
        done = adopted.run("test_db.sh", "--update", "--schema-file", str(tmp_path / "schema.sql"))
        assert done.returncode == 5
        assert "was adopted" in done.stderr
        assert not (tmp_path / "schema.sql").exists()

    def test_a_second_baseline_is_refused(self, adopted: Scripts) -> None:
        adopted.sql("DELETE FROM public.schema_migrations")
        done = adopted.run("migrate_db.sh", "baseline", "202611221200")
        assert done.returncode == 5
        assert "already records a baseline" in done.stderr


class TestWidenIds:
    def test_widens_the_three_ids_keeping_every_row_and_the_check_then_reports_no_difference(
        self, adopted: Scripts
    ) -> None:
        load_rows(adopted)
        before = {table: fingerprint(adopted, table) for table in WIDE}
        done = adopted.run("widen_ids.sh", "--batch-rows", "3000", "--vacuum-every", "2")
        assert done.returncode == 0, done.stderr
        assert {table: fingerprint(adopted, table) for table in WIDE} == before
        types = adopted.sql(
            "SELECT string_agg(concat_ws(' ', c.table_name, c.data_type, s.data_type), ',' ORDER BY 1)"
            " FROM information_schema.columns c JOIN pg_sequences s"
            " ON s.sequencename = c.table_name || '_id_seq'"
            f" WHERE c.column_name = 'id' AND c.table_name IN {WIDE}"
        )
        assert sorted(types.split(",")) == [f"{table} bigint bigint" for table in sorted(WIDE)]
        # The sequence goes on from where it was, now as bigint.
        assert adopted.sql(NEW_HEGEMONY + " RETURNING id") == "20001"
        code, log = check(adopted)
        assert code == 0, log
        assert "known difference:" not in log
        assert "0 known difference(s)" in log
        assert adopted.run("widen_ids.sh").stderr.count("is bigint already") == 3

    def test_resumes_after_being_killed_with_rows_written_meanwhile(self, adopted: Scripts) -> None:
        load_rows(adopted)
        run = adopted.popen("widen_ids.sh", "--batch-rows", "100", "--vacuum-every", "0", "ihr_hegemony")
        assert run.stderr is not None
        seen = []
        while line := run.stderr.readline():
            seen.append(line)
            if "copied ids up to" in line:
                break
        assert "copied ids up to 2000 (20 batches)" in "".join(seen), seen
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        assert adopted.sql("SELECT count(*) FILTER (WHERE id_new IS NULL) > 0 FROM ihr_hegemony") == "t"
        # A loader goes on writing while the widening is half done: the trigger fills id_new.
        assert adopted.sql(NEW_HEGEMONY + " RETURNING id = id_new") == "t"
        before = fingerprint(adopted, "ihr_hegemony")
        again = adopted.run("widen_ids.sh", "ihr_hegemony")
        assert again.returncode == 0, again.stderr
        assert "resuming the widening of id" in again.stderr
        assert fingerprint(adopted, "ihr_hegemony") == before
        assert (
            adopted.sql(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = 'ihr_hegemony'::regclass AND attname = 'id'"
            )
            == "bigint"
        )
        assert adopted.sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid") == "0"

    def test_refuses_a_table_a_foreign_key_points_at(self, adopted: Scripts) -> None:
        done = adopted.run("widen_ids.sh", "ihr_delay_alarms")
        assert done.returncode == 5
        assert "public.ihr_delay_alarms: a foreign key references it" in done.stderr

    def test_a_table_name_must_be_an_identifier(self, adopted: Scripts) -> None:
        done = adopted.run("widen_ids.sh", "ihr_hegemony; DROP TABLE ihr_asn")
        assert done.returncode == 2
