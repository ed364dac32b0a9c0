DROP TABLE core.seed_runs;
DROP SCHEMA core;
