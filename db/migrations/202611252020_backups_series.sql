-- backups: the series (section × type × datacenter) that have runs, kept by triggers, so the checks
-- list them from a small table instead of searching the catalog of runs for them.
CREATE TABLE backups.series (
    section    backups.label NOT NULL,
    type       text          NOT NULL CHECK (type IN ('dump', 'snapshot')),
    datacenter backups.label NOT NULL,
    PRIMARY KEY (section, type, datacenter)
);
INSERT INTO backups.series (section, type, datacenter)
SELECT DISTINCT section, type, datacenter FROM backups.runs;

-- Statement-level with transition tables: one INSERT … ON CONFLICT per statement, COPY included.
CREATE FUNCTION backups.add_series() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO backups.series (section, type, datacenter)
    SELECT DISTINCT section, type, datacenter FROM added
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE FUNCTION backups.drop_empty_series() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM backups.series s
    USING (SELECT DISTINCT section, type, datacenter FROM removed) r
    WHERE (s.section, s.type, s.datacenter) = (r.section, r.type, r.datacenter)
      AND NOT EXISTS (SELECT 1 FROM backups.runs x
                      WHERE (x.section, x.type, x.datacenter) = (s.section, s.type, s.datacenter));
    RETURN NULL;
END
$$;

CREATE FUNCTION backups.clear_series() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM backups.series;
    RETURN NULL;
END
$$;

CREATE TRIGGER runs_add_series AFTER INSERT ON backups.runs
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION backups.add_series();
CREATE TRIGGER runs_drop_empty_series AFTER DELETE ON backups.runs
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION backups.drop_empty_series();
CREATE TRIGGER runs_clear_series AFTER TRUNCATE ON backups.runs
    FOR EACH STATEMENT EXECUTE FUNCTION backups.clear_series();
