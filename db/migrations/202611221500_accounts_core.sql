-- accounts: users, sessions and refresh tokens, one-time email tokens, groups and permissions,
-- personal API tokens, and the mail outbox. Every service authenticates through these tables.
CREATE SCHEMA IF NOT EXISTS accounts;

CREATE TABLE accounts.users (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email             text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    username          text        CHECK (username ~ '^[A-Za-z0-9_.-]{3,64}$'),
    display_name      text        NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
    password_hash     text,
    is_active         boolean     NOT NULL DEFAULT true,
    is_superuser      boolean     NOT NULL DEFAULT false,
    email_verified_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_login_at     timestamptz,
    deleted_at        timestamptz
);
CREATE UNIQUE INDEX users_email_key ON accounts.users (lower(email));
CREATE UNIQUE INDEX users_username_key ON accounts.users (lower(username));

-- A login: refresh tokens rotate within it; revoking it ends every token of the family.
CREATE TABLE accounts.sessions (
    id           uuid        PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES accounts.users ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    revoked_why  text,
    user_agent   text        NOT NULL DEFAULT '',
    ip           inet
);
CREATE INDEX sessions_user_idx ON accounts.sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE accounts.refresh_tokens (
    token_hash  bytea       PRIMARY KEY,
    session_id  uuid        NOT NULL REFERENCES accounts.sessions ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON accounts.refresh_tokens (session_id);

-- Single-use tokens sent by email: address verification and password reset.
CREATE TABLE accounts.email_tokens (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES accounts.users ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('verify', 'reset')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_tokens_user_idx ON accounts.email_tokens (user_id, purpose);

CREATE TABLE accounts.permissions (
    codename    text PRIMARY KEY CHECK (codename ~ '^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$'),
    description text NOT NULL DEFAULT ''
);

CREATE TABLE accounts.groups (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_. -]{1,80}$'),
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts.group_permissions (
    group_id   bigint NOT NULL REFERENCES accounts.groups ON DELETE CASCADE,
    permission text   NOT NULL REFERENCES accounts.permissions ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (group_id, permission)
);

CREATE TABLE accounts.user_groups (
    user_id  bigint NOT NULL REFERENCES accounts.users ON DELETE CASCADE,
    group_id bigint NOT NULL REFERENCES accounts.groups ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group_idx ON accounts.user_groups (group_id);

-- Personal API tokens: shown once, stored as a hash; `scope` (when set) narrows the user's permissions.
CREATE TABLE accounts.api_tokens (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES accounts.users ON DELETE CASCADE,
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash   bytea       NOT NULL UNIQUE,
    prefix       text        NOT NULL,
    scope        text[],
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user_idx ON accounts.api_tokens (user_id);

-- Every mail is recorded before it is sent; without SMTP it stays here (and in the log) only.
CREATE TABLE accounts.outbox (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient  text        NOT NULL,
    subject    text        NOT NULL,
    body       text        NOT NULL,
    kind       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    error      text
);
