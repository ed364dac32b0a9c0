-- backups: the exact row count of each table when it was backed up, read in the snapshot the dump
-- itself used, so that a restore test can compare what a restored copy holds with what was saved.
-- NULL where none was taken (snapshots, materialized views, runs registered without counts).
ALTER TABLE backups.objects ADD COLUMN rows bigint CHECK (rows >= 0);
