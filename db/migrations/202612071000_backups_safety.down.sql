ALTER TABLE backups.schedules DROP COLUMN IF EXISTS created_at, DROP COLUMN IF EXISTS timezone;
DROP TABLE IF EXISTS backups.store_folders;
