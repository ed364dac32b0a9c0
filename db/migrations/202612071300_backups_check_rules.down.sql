ALTER TABLE backups.check_config
    DROP COLUMN IF EXISTS anomaly_runs,
    DROP COLUMN IF EXISTS anomaly_warn,
    DROP COLUMN IF EXISTS anomaly_crit,
    DROP COLUMN IF EXISTS anomaly_floor_pct,
    DROP COLUMN IF EXISTS cross_dc_size_pct,
    DROP COLUMN IF EXISTS cross_dc_age_s,
    DROP COLUMN IF EXISTS restore_max_age_s;
ALTER TABLE backups.alerts DROP COLUMN IF EXISTS since;
