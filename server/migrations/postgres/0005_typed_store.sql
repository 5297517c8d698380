-- Native types: booleans are booleans and JSON arrays are jsonb (sqlx converts
-- both). Ceremony state without sentinels: a discoverable handshake has no
-- transaction (NULL, not an empty hash). A nonce carries the external id it
-- answers, so verifying one is a single statement. `apps.user_verification`
-- was written and never read (Latchkey always requires user verification).
--
-- Transactions, handshakes, nonces and rate-limit windows live minutes at most:
-- they are UNLOGGED (no write-ahead log). They survive a Latchkey restart or
-- kill; a PostgreSQL crash empties them, which ends the ceremonies in flight
-- (the user starts again) and never lets anything be used twice.
DROP INDEX apps_one_builtin;
ALTER TABLE apps
    ALTER COLUMN is_builtin DROP DEFAULT,
    ALTER COLUMN is_builtin TYPE BOOLEAN USING is_builtin <> 0,
    ALTER COLUMN is_builtin SET DEFAULT FALSE,
    ALTER COLUMN origins TYPE JSONB USING origins::jsonb,
    DROP COLUMN user_verification;
CREATE UNIQUE INDEX apps_one_builtin ON apps (is_builtin) WHERE is_builtin;

ALTER TABLE passkeys
    ALTER COLUMN backup_eligible TYPE BOOLEAN USING backup_eligible <> 0,
    ALTER COLUMN backup_state TYPE BOOLEAN USING backup_state <> 0,
    ALTER COLUMN transports TYPE JSONB USING transports::jsonb;

ALTER TABLE transactions SET UNLOGGED;
ALTER TABLE rate_limits SET UNLOGGED;

CREATE UNLOGGED TABLE handshakes_new (
    id_hash          BYTEA PRIMARY KEY,
    app_id           TEXT NOT NULL REFERENCES apps (id),
    kind             TEXT NOT NULL, -- register | authenticate | discoverable
    transaction_hash BYTEA, -- null for a discoverable sign-in
    user_id          TEXT, -- null for a discoverable sign-in
    state            TEXT NOT NULL, -- webauthn-rs's ceremony state, as JSON
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL
);
INSERT INTO handshakes_new
    SELECT id_hash, app_id, kind, NULLIF(transaction_hash, ''::bytea), user_id, state, created_at, expires_at
    FROM handshakes;
DROP TABLE handshakes;
ALTER TABLE handshakes_new RENAME TO handshakes;
CREATE INDEX handshakes_expires_at ON handshakes (expires_at);

CREATE UNLOGGED TABLE nonces_new (
    hash        BYTEA PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps (id),
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
INSERT INTO nonces_new
    SELECT n.hash, n.app_id, n.user_id, u.external_id, n.created_at, n.expires_at
    FROM nonces n JOIN users u ON u.id = n.user_id;
DROP TABLE nonces;
ALTER TABLE nonces_new RENAME TO nonces;
CREATE INDEX nonces_expires_at ON nonces (expires_at);
