-- The reference site's own accounts (the "existing users"). They meet Latchkey
-- only through `external_id`, assigned when an account first adds a passkey.
CREATE TABLE site_accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL, -- Argon2id, PHC string
    external_id   TEXT,
    created_at    INTEGER NOT NULL,
    CONSTRAINT site_accounts_email UNIQUE (email),
    CONSTRAINT site_accounts_external_id UNIQUE (external_id)
);

-- Sessions: the cookie holds a random token; only its SHA-256 hash is stored.
CREATE TABLE site_sessions (
    id_hash    BLOB PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES site_accounts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX site_sessions_account ON site_sessions (account_id);
