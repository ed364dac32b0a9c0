ALTER TABLE backups.objects DROP COLUMN IF EXISTS rows;
