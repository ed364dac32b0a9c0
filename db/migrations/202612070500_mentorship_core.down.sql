-- pg_trgm stays: other schemas may use it.
DROP SCHEMA mentorship CASCADE;
