-- backups: what running the backups needs beyond the catalog: where each backup lies (so
-- retention can delete it and a restore test can find it), which schedules Dockyard executes
-- itself, and the retention policy.

-- The directory of the backup on `host` (absolute); NULL for runs registered without one.
ALTER TABLE backups.runs ADD COLUMN location text CHECK (length(location) <= 1000);

-- A schedule Dockyard executes names the environment variable that holds its source URL, so
-- credentials never enter the database. Schedules without one are run by other tools: their
-- slots are still planned, which is how a missed run is noticed.
ALTER TABLE backups.schedules
    ADD COLUMN source_env text CHECK (source_env ~ '^[A-Z_][A-Z0-9_]{0,99}$');

-- The scheduler's pick: the oldest due slot of a schedule it executes.
CREATE INDEX runs_due ON backups.runs (scheduled_for) WHERE status = 'scheduled';

-- Retention per series. A NULL section, type or datacenter matches any; for each setting the
-- most specific row that sets it wins, as for check_config. A finished run expires when it is
-- not among the newest `keep_last` finished runs of its series and started more than `keep_days`
-- ago (no `keep_days`: only the count applies). Defaults follow the production policy: dumps are
-- kept 3 months, snapshots one, and never fewer than the two newest (what the size check needs).
CREATE TABLE backups.retention (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    section    backups.label,
    type       text CHECK (type IN ('dump', 'snapshot')),
    datacenter backups.label,
    keep_last  integer CHECK (keep_last >= 1),
    keep_days  integer CHECK (keep_days >= 1),
    UNIQUE NULLS NOT DISTINCT (section, type, datacenter)
);
INSERT INTO backups.retention (section, type, datacenter, keep_last, keep_days)
VALUES (NULL, NULL, NULL, 2, 90),
       (NULL, 'snapshot', NULL, NULL, 30);
