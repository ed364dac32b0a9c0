"""Adopting the legacy IHR database: baseline, then `db check` compares it by shape."""

from __future__ import annotations

import re
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
