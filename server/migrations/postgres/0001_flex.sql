-- Apps: one per application that uses Latchkey, with its WebAuthn settings.
CREATE TABLE apps (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    rp_id               TEXT NOT NULL,
    origins             TEXT NOT NULL, -- a JSON array of exact origins
    user_verification   TEXT NOT NULL, -- required | preferred | discouraged
    webauthn_timeout_ms BIGINT NOT NULL,
    transaction_ttl_ms  BIGINT NOT NULL,
    nonce_ttl_ms        BIGINT NOT NULL,
    is_builtin          BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL
);
-- At most one app serves the built-in site.
CREATE UNIQUE INDEX apps_one_builtin ON apps (is_builtin) WHERE is_builtin = 1;

-- API keys: several per app, stored as SHA-256 hashes, revocable.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps (id),
    key_hash   BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_app ON api_keys (app_id);

-- Users: created by an app's first register transaction for an external id.
-- `id` is a UUID and is the WebAuthn user handle.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps (id),
    external_id   TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    login_count   BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    last_login_at BIGINT,
    CONSTRAINT users_app_external_id UNIQUE (app_id, external_id)
);

-- Passkeys. A credential id belongs to one user in the whole store.
CREATE TABLE passkeys (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps (id),
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cred_id         BYTEA NOT NULL,
    credential      TEXT NOT NULL, -- webauthn-rs's Passkey, as JSON (public key, counter, flags)
    friendly_name   TEXT NOT NULL,
    aaguid          TEXT NOT NULL,
    transports      TEXT NOT NULL, -- a JSON array
    backup_eligible BIGINT NOT NULL,
    backup_state    BIGINT NOT NULL,
    counter         BIGINT NOT NULL,
    kind            TEXT NOT NULL, -- passkey | security_key | platform
    usage_count     BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    CONSTRAINT passkeys_cred_id UNIQUE (cred_id)
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- Transactions, handshakes and nonces are bearer secrets: only their SHA-256
-- hashes are stored. Each is used once and expires.
CREATE TABLE transactions (
    id_hash      BYTEA PRIMARY KEY,
    app_id       TEXT NOT NULL REFERENCES apps (id),
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL, -- register | authenticate
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);

CREATE TABLE handshakes (
    id_hash          BYTEA PRIMARY KEY,
    app_id           TEXT NOT NULL REFERENCES apps (id),
    kind             TEXT NOT NULL, -- register | authenticate | discoverable
    transaction_hash BYTEA NOT NULL, -- empty for a discoverable sign-in
    user_id          TEXT, -- null for a discoverable sign-in
    state            TEXT NOT NULL, -- webauthn-rs's ceremony state, as JSON
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL
);

CREATE TABLE nonces (
    hash       BYTEA PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps (id),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
