-- backups: what retention may delete, and schedules that run in their own time zone.

-- The folders this host's runner created, recorded when it creates them: the only things retention
-- ever deletes. `path` is relative to `store` (the store's real path when the folder was made);
-- `device` and `inode` identify the folder itself, so a folder put in its place later (or a symlink)
-- is never taken for it. A location registered over the API never gets a row here: such runs are
-- catalog-only for retention (the row expires, the files stay).
CREATE TABLE backups.store_folders (
    run_id     bigint PRIMARY KEY REFERENCES backups.runs (id) ON DELETE CASCADE,
    host       backups.label  NOT NULL,
    store      text           NOT NULL CHECK (store ~ '^/' AND length(store) <= 1000),
    path       text           NOT NULL
        CHECK (path ~ '^[^/\x01-\x1f]+(/[^/\x01-\x1f]+)*$' AND path !~ '(^|/)\.\.?(/|$)'
               AND length(path) <= 1000),
    device     numeric(20, 0) NOT NULL CHECK (device >= 0),
    inode      numeric(20, 0) NOT NULL CHECK (inode >= 0),
    written_at timestamptz    NOT NULL DEFAULT now(),
    UNIQUE (host, store, path)
);

-- Slots are computed in the schedule's time zone (an IANA name, checked by the API with zoneinfo),
-- and never before the schedule existed.
ALTER TABLE backups.schedules
    ADD COLUMN timezone   text        NOT NULL DEFAULT 'UTC' CHECK (length(timezone) BETWEEN 1 AND 64),
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
