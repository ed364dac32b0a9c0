-- The core schema holds Dockyard's own bookkeeping; services keep their own schemas.
CREATE SCHEMA IF NOT EXISTS core;

-- One row per (service, data-set size) whose demo/bench data has been generated.
CREATE TABLE core.seed_runs (
    service     text        NOT NULL,
    size        text        NOT NULL CHECK (size IN ('demo', 'bench')),
    rows        bigint      NOT NULL CHECK (rows >= 0),
    duration_ms integer     NOT NULL CHECK (duration_ms >= 0),
    seeded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service, size)
);
