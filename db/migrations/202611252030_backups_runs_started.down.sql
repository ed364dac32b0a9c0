DROP INDEX IF EXISTS backups.runs_series_started;
