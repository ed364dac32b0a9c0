-- Checks for Icinga: when each alert's problem began, and the thresholds of the size-anomaly,
-- cross-datacenter and restore-test rules (docs/backups.md, "Checks").

ALTER TABLE backups.alerts ADD COLUMN since timestamptz;
UPDATE backups.alerts SET since = first_seen_at;
ALTER TABLE backups.alerts ALTER COLUMN since SET NOT NULL, ALTER COLUMN since SET DEFAULT now();

ALTER TABLE backups.check_config
    ADD COLUMN anomaly_runs       integer CHECK (anomaly_runs BETWEEN 3 AND 1000),
    ADD COLUMN anomaly_warn       numeric CHECK (anomaly_warn > 0),
    ADD COLUMN anomaly_crit       numeric CHECK (anomaly_crit > 0),
    ADD COLUMN anomaly_floor_pct  numeric CHECK (anomaly_floor_pct >= 0),
    ADD COLUMN cross_dc_size_pct  numeric CHECK (cross_dc_size_pct >= 0),
    ADD COLUMN cross_dc_age_s     integer CHECK (cross_dc_age_s > 0),
    ADD COLUMN restore_max_age_s  integer CHECK (restore_max_age_s > 0);

-- The defaults live in the catch-all row; restore_max_age_s stays NULL (the rule is off) until set.
INSERT INTO backups.check_config (section, type, datacenter) VALUES (NULL, NULL, NULL)
ON CONFLICT (section, type, datacenter) DO NOTHING;
UPDATE backups.check_config
SET anomaly_runs = 10, anomaly_warn = 5, anomaly_crit = 15, anomaly_floor_pct = 1,
    cross_dc_size_pct = 20, cross_dc_age_s = 259200
WHERE section IS NULL AND type IS NULL AND datacenter IS NULL;
