-- Signed results (README "Signed results"): an app may opt in to a short-lived
-- JWT beside the nonce of a successful finish, verifiable against its JWKS.
ALTER TABLE apps ADD COLUMN signed_results INTEGER NOT NULL DEFAULT 0;

-- An app's ES256 signing keys. The current one has no `retired_at`; a retired
-- one is served in the JWKS until `expires_at` (when every token it signed has
-- expired), then swept. The private key (PKCS#8) is sealed with AES-256-GCM
-- under LATCHKEY_SECRET_KEY, the app id as associated data: `private_key` is
-- the 12-byte nonce followed by the ciphertext and tag, never the key itself.
CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    public_jwk  TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER,
    expires_at  INTEGER
);
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (app_id) WHERE retired_at IS NULL;
CREATE INDEX signing_keys_expiry ON signing_keys (expires_at);
