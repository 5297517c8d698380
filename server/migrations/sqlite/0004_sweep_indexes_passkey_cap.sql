-- The sweeper deletes by `expires_at` (`DELETE FROM t WHERE expires_at <= now`):
-- an index on it for each table swept, so a sweep reads only what has expired.
CREATE INDEX transactions_expires_at ON transactions (expires_at);
CREATE INDEX handshakes_expires_at ON handshakes (expires_at);
CREATE INDEX nonces_expires_at ON nonces (expires_at);
CREATE INDEX site_sessions_expires_at ON site_sessions (expires_at);

-- How many passkeys one user may hold in an app (`apps create --max-passkeys`).
ALTER TABLE apps ADD COLUMN max_passkeys_per_user INTEGER NOT NULL DEFAULT 20;
