-- dockyard:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS backups.runs_failing;
DROP INDEX CONCURRENTLY IF EXISTS backups.runs_finished;
