-- gateway: grants of Lbasedb feeds to users and groups, and the append-only audit log of every
-- request through the gateway and every grant change (specs/gateway-lbasedb.md section 3).
CREATE SCHEMA IF NOT EXISTS gateway;

-- Ordered: max() over a caller's grants is their effective level.
CREATE TYPE gateway.level AS ENUM ('read', 'append', 'write', 'admin');

-- Lbasedb's name pattern (dotted segments), at most 256 bytes: Lbasedb cuts longer names.
CREATE FUNCTION gateway.is_name(name text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN name ~ '^[a-zA-Z_][a-zA-Z_0-9]*(\.[a-zA-Z_][a-zA-Z_0-9]*)*$' AND octet_length(name) <= 256;

CREATE FUNCTION gateway.are_names(names text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (SELECT coalesce(bool_and(coalesce(gateway.is_name(name), false)), true) FROM unnest(names) name);

-- One grant: a user or a group, a feed pattern (an exact name, a dotted prefix `sensors.*`, or
-- `*`), a level, and optionally the only columns it covers (NULL: all of them).
CREATE TABLE gateway.grants (
    id         bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint        REFERENCES accounts.users ON DELETE CASCADE,
    group_id   bigint        REFERENCES accounts.groups ON DELETE CASCADE,
    feed       text          NOT NULL
        CHECK (feed = '*' OR gateway.is_name(feed)
               OR (feed LIKE '%.*' AND gateway.is_name(left(feed, -2)))),
    level      gateway.level NOT NULL,
    columns    text[]        CHECK (cardinality(columns) <= 1000 AND gateway.are_names(columns)),
    created_at timestamptz   NOT NULL DEFAULT now(),
    created_by bigint        REFERENCES accounts.users ON DELETE SET NULL,
    updated_at timestamptz   NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(user_id, group_id) = 1)
);
CREATE UNIQUE INDEX grants_user_key ON gateway.grants (user_id, feed, level) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX grants_group_key ON gateway.grants (group_id, feed, level) WHERE group_id IS NOT NULL;
CREATE INDEX grants_feed_idx ON gateway.grants (feed);

-- Append-only: written after each response (in batches) and with each grant change; never
-- updated; deleted only by the retention purge, and only once a day old. No foreign keys: the log
-- outlives the users and tokens it names.
CREATE TABLE gateway.audit (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    user_id         bigint,
    token_id        bigint,
    client          text,
    method          text        NOT NULL,
    route           text        NOT NULL,
    feed            text,
    cols            text[],
    ix              bigint,
    size            bigint,
    decision        text        NOT NULL CHECK (decision IN ('allow', 'deny')),
    reason          text        NOT NULL DEFAULT '',
    upstream_status smallint,
    status          smallint    NOT NULL,
    bytes_in        bigint      NOT NULL DEFAULT 0,
    bytes_out       bigint      NOT NULL DEFAULT 0,
    duration_ms     real        NOT NULL DEFAULT 0,
    request_id      text,
    change          jsonb
);
CREATE INDEX audit_at_idx ON gateway.audit (at, id);
CREATE INDEX audit_user_idx ON gateway.audit (user_id, at);
CREATE INDEX audit_feed_idx ON gateway.audit (feed, at);

CREATE FUNCTION gateway.audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'gateway.audit is append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.at > now() - interval '1 day' THEN
        RAISE EXCEPTION 'gateway.audit keeps every record at least a day' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON gateway.audit
    FOR EACH ROW EXECUTE FUNCTION gateway.audit_append_only();
