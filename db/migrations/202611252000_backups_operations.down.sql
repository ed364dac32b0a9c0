DROP TABLE IF EXISTS backups.retention;
DROP INDEX IF EXISTS backups.runs_due;
ALTER TABLE backups.schedules DROP COLUMN IF EXISTS source_env;
ALTER TABLE backups.runs DROP COLUMN IF EXISTS location;
