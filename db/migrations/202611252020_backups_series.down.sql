DROP TRIGGER IF EXISTS runs_clear_series ON backups.runs;
DROP TRIGGER IF EXISTS runs_drop_empty_series ON backups.runs;
DROP TRIGGER IF EXISTS runs_add_series ON backups.runs;
DROP FUNCTION IF EXISTS backups.drop_empty_series();
DROP FUNCTION IF EXISTS backups.add_series();
DROP FUNCTION IF EXISTS backups.clear_series();
DROP TABLE IF EXISTS backups.series;
