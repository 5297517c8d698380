-- Apps: one per application that uses Latchkey, with its WebAuthn settings.
CREATE TABLE apps (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    rp_id               TEXT NOT NULL,
    origins             TEXT NOT NULL, -- a JSON array of exact origins
    user_verification   TEXT NOT NULL, -- required | preferred | discouraged
    webauthn_timeout_ms INTEGER NOT NULL,
    transaction_ttl_ms  INTEGER NOT NULL,
    nonce_ttl_ms        INTEGER NOT NULL,
    is_builtin          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          INTEGER NOT NULL
);
-- At most one app serves the built-in site.
CREATE UNIQUE INDEX apps_one_builtin ON apps (is_builtin) WHERE is_builtin;

-- API keys: several per app, stored as SHA-256 hashes, revocable.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps (id),
    key_hash   BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_keys_app ON api_keys (app_id);
