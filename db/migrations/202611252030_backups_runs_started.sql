-- backups: the latest start of a series across every state but `scheduled`, in one index probe
-- (the checks ask it for each slot past due: has a run started since?).
CREATE INDEX runs_series_started ON backups.runs (section, type, datacenter, started_at DESC)
    WHERE status <> 'scheduled';
