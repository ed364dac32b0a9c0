ALTER TABLE backups.runs DROP COLUMN binlog, DROP COLUMN tool;
