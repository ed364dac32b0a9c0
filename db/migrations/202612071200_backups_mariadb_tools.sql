-- backups: which program took a run (mydumper, mariabackup, mariadb-dump, pg_dump, pg_basebackup),
-- and the binary log coordinates of a MariaDB backup, as its tool recorded them (mydumper's
-- `metadata`, mariabackup's `xtrabackup_binlog_info`): {"file", "position", "gtid"}, plus
-- "primary" {"host", "file", "position", "gtid"} when the source is a replica. `{}`: the source
-- writes no binary log. NULL: not recorded (PostgreSQL, runs registered over the API).
ALTER TABLE backups.runs
    ADD COLUMN tool text CHECK (tool ~ '^[a-z][a-z_-]{0,39}$'),
    ADD COLUMN binlog jsonb CHECK (jsonb_typeof(binlog) = 'object');
