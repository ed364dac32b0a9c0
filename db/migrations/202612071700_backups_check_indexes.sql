-- dockyard:no-transaction
-- The checks read each series' last finished runs (the latest, and the sizes of up to anomaly_runs
-- before it for the size anomaly) and its failures since the last success. The finished runs carry
-- their size and id, so that history is read from the index alone (once autovacuum has marked the
-- pages visible) and only the latest run is fetched from the table; the failures are a few entries
-- per series instead of a range of `runs_series` per failed status. Built concurrently: runners
-- keep registering runs meanwhile.
CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_finished ON backups.runs (section, type, datacenter, started_at DESC)
    INCLUDE (total_size, id) WHERE status = 'finished' AND ended_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_failing ON backups.runs (section, type, datacenter, started_at DESC)
    WHERE status IN ('failed', 'interrupted');
