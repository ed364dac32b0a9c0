-- A hypertable cannot be turned back into a plain table in place; keeping the data matters more.
-- To undo, dump the ihr tables, recreate them from 202611221200_ihr_legacy_schema.sql and reload.
DO $$ BEGIN RAISE NOTICE 'ihr hypertables (if any) are kept: see the comment in this file'; END $$;
