-- Interrupted runs become what they were before the status existed: failed at stage `interrupted`.
UPDATE backups.runs SET status = 'failed', error_stage = 'interrupted' WHERE status = 'interrupted';

ALTER TABLE backups.runs
    DROP CONSTRAINT runs_status_check,
    ADD CONSTRAINT runs_status_check CHECK (status IN ('scheduled', 'ongoing', 'finished', 'failed', 'expired')),
    DROP CONSTRAINT runs_check2,
    ADD CONSTRAINT runs_check2 CHECK (status NOT IN ('finished', 'failed') OR ended_at IS NOT NULL);

ALTER DOMAIN backups.label DROP CONSTRAINT label_check;
ALTER DOMAIN backups.label ADD CONSTRAINT label_check
    CHECK (VALUE ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' AND length(VALUE) <= 100);
