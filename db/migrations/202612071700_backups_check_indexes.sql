-- The checks read each series' last finished runs (the two the wmfbackups rules compare, and the
-- sizes of up to anomaly_runs before the latest for the size anomaly) and its failures since the
-- last success. Two partial indexes keep those reads small: the finished runs carry their size and
-- id, so the history is read from the index alone (after VACUUM) and only the two latest runs are
-- fetched from the table; the failures are a few entries per series instead of a range of
-- `runs_series` per failed status.
CREATE INDEX runs_finished ON backups.runs (section, type, datacenter, started_at DESC)
    INCLUDE (total_size, id) WHERE status = 'finished' AND ended_at IS NOT NULL;
CREATE INDEX runs_failing ON backups.runs (section, type, datacenter, started_at DESC)
    WHERE status IN ('failed', 'interrupted');
