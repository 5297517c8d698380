-- Ceremony state without sentinels: a discoverable handshake has no
-- transaction (NULL, not an empty hash). A nonce carries the external id it
-- answers, so verifying one is a single statement. `apps.user_verification`
-- was written and never read (Latchkey always requires user verification).
CREATE TABLE handshakes_new (
    id_hash          BLOB PRIMARY KEY,
    app_id           TEXT NOT NULL REFERENCES apps (id),
    kind             TEXT NOT NULL, -- register | authenticate | discoverable
    transaction_hash BLOB, -- null for a discoverable sign-in
    user_id          TEXT, -- null for a discoverable sign-in
    state            TEXT NOT NULL, -- webauthn-rs's ceremony state, as JSON
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
);
INSERT INTO handshakes_new
    SELECT id_hash, app_id, kind, NULLIF(transaction_hash, X''), user_id, state, created_at, expires_at
    FROM handshakes;
DROP TABLE handshakes;
ALTER TABLE handshakes_new RENAME TO handshakes;
CREATE INDEX handshakes_expires_at ON handshakes (expires_at);

CREATE TABLE nonces_new (
    hash        BLOB PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps (id),
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
INSERT INTO nonces_new
    SELECT n.hash, n.app_id, n.user_id, u.external_id, n.created_at, n.expires_at
    FROM nonces n JOIN users u ON u.id = n.user_id;
DROP TABLE nonces;
ALTER TABLE nonces_new RENAME TO nonces;
CREATE INDEX nonces_expires_at ON nonces (expires_at);

ALTER TABLE apps DROP COLUMN user_verification;
