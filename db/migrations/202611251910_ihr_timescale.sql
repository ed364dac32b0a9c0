-- ihr: TimescaleDB hypertables for the time-series tables, when the extension can be used here.
-- Without TimescaleDB (the embedded default, plain PostgreSQL) this is a no-op that says so with a
-- NOTICE; with it, each table is partitioned by timebin (2-day chunks, 7 for metis) keeping its
-- rows. Hypertables need every unique index to hold timebin, so the primary key becomes
-- (timebin, id). Tables other tables point at (the link alarms, whose *_msms rows reference
-- them) stay plain: a foreign key cannot target a hypertable.
-- Installed TimescaleDB later? Apply this file by hand: `psql -f` it (it skips converted tables).
DO $migration$
DECLARE
    spec record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'timescaledb')
       OR current_setting('shared_preload_libraries') NOT LIKE '%timescaledb%' THEN
        RAISE NOTICE 'TimescaleDB is not available on this server: ihr tables stay plain tables';
        RETURN;
    END IF;
    CREATE EXTENSION IF NOT EXISTS timescaledb;
    FOR spec IN
        SELECT * FROM (VALUES
            ('ihr_hegemony', '2 days'), ('ihr_hegemonycone', '2 days'), ('ihr_hegemony_alarms', '2 days'),
            ('ihr_hegemony_country', '2 days'), ('ihr_hegemony_prefix', '2 days'),
            ('ihr_atlas_delay', '2 days'), ('ihr_atlas_delay_alarms', '2 days'),
            ('ihr_delay', '2 days'), ('ihr_forwarding', '2 days'), ('ihr_tr_hegemony', '2 days'),
            ('ihr_metis_atlas_selection', '7 days'), ('ihr_metis_atlas_deployment', '7 days')
        ) AS t (name, chunk)
    LOOP
        CONTINUE WHEN EXISTS (
            SELECT FROM timescaledb_information.hypertables
            WHERE hypertable_schema = 'public' AND hypertable_name = spec.name);
        EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT %I', spec.name, spec.name || '_pkey');
        EXECUTE format('ALTER TABLE public.%I ADD PRIMARY KEY (timebin, id)', spec.name);
        EXECUTE format(
            'SELECT create_hypertable(%L, %L, chunk_time_interval => %L::interval, '
            'create_default_indexes => false, migrate_data => true)',
            'public.' || spec.name, 'timebin', spec.chunk);
        RAISE NOTICE '% is now a hypertable (% chunks)', spec.name, spec.chunk;
    END LOOP;
END
$migration$;
