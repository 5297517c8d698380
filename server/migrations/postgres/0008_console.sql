-- The console (`/console`): operators sign in with passkeys held by Latchkey
-- itself, in an internal app (`is_console`, one at most, hidden from app lists).
-- Invites and sessions are random tokens stored only as SHA-256 hashes.
ALTER TABLE apps ADD COLUMN is_console BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX apps_one_console ON apps (is_console) WHERE is_console;

-- When a key last authorized a request (updated at most once a minute per key).
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;

-- An operator is the console app's user whose external id is `id`.
CREATE TABLE operators (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_sign_in_at BIGINT,
    revoked_at      BIGINT
);

-- One-time links that register an operator's first passkey.
CREATE TABLE operator_invites (
    token_hash  BYTEA PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    operator_id TEXT
);

CREATE TABLE console_sessions (
    token_hash   BYTEA PRIMARY KEY,
    operator_id  TEXT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL -- the absolute end; idle expiry is counted from last_seen_at
);
CREATE INDEX console_sessions_operator ON console_sessions (operator_id);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);
