-- backups: who changed which check threshold, when, from what to what. Written in the same
-- transaction as the change to backups.check_config, so the history cannot miss one.
CREATE TABLE backups.threshold_changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz   NOT NULL DEFAULT now(),
    changed_by text          NOT NULL CHECK (length(changed_by) <= 300),  -- api:<email> or cli:<user>@<host>
    section    backups.label,
    type       text CHECK (type IN ('dump', 'snapshot')),
    datacenter backups.label,
    before     jsonb,  -- the row's thresholds before (NULL: there was no row for this scope)
    after      jsonb   -- and after (NULL: the row was removed)
);
CREATE INDEX threshold_changes_recent ON backups.threshold_changes (at DESC, id DESC);
