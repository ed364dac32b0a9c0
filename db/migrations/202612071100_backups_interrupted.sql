-- backups: `interrupted`, the status of a run whose runner was told to stop (SIGTERM, Ctrl-C, the
-- scheduler shutting down) and stopped its tool; earlier such runs stay `failed` at stage
-- `interrupted`, readable as they were. Sources may be bracketed IPv6 addresses with a port
-- (`[2620:0:861::1]:5432`), kept whole as people type them.
ALTER DOMAIN backups.label DROP CONSTRAINT label_check;
ALTER DOMAIN backups.label ADD CONSTRAINT label_check CHECK (
    (VALUE ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' OR VALUE ~ '^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$')
    AND length(VALUE) <= 100);

ALTER TABLE backups.runs
    DROP CONSTRAINT runs_status_check,
    ADD CONSTRAINT runs_status_check
        CHECK (status IN ('scheduled', 'ongoing', 'finished', 'failed', 'interrupted', 'expired')),
    DROP CONSTRAINT runs_check2,
    ADD CONSTRAINT runs_check2 CHECK (status NOT IN ('finished', 'failed', 'interrupted') OR ended_at IS NOT NULL);
