DROP INDEX IF EXISTS backups.runs_failing;
DROP INDEX IF EXISTS backups.runs_finished;
