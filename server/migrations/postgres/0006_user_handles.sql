-- Each user's WebAuthn user handle, as bytes. Latchkey's own users have had
-- their id (a UUID) as their handle: those 16 bytes. Imported users keep the
-- handle their passkeys were made with (any 1 to 64 bytes), so a discoverable
-- sign-in finds them by it.
ALTER TABLE users ADD COLUMN user_handle BYTEA;
UPDATE users SET user_handle = decode(replace(id, '-', ''), 'hex');
ALTER TABLE users ALTER COLUMN user_handle SET NOT NULL;
CREATE UNIQUE INDEX users_app_user_handle ON users (app_id, user_handle);
-- A passkey made with another handle than its user's (imported): that handle;
-- empty when the source kept none (better-auth makes a random one per passkey
-- and stores nothing), and then any handle is accepted and the credential id
-- alone names the user, as in the system it came from. NULL: the user's.
ALTER TABLE passkeys ADD COLUMN user_handle BYTEA;
-- An export reads an app's users a page at a time in this order.
CREATE INDEX users_app_created_external ON users (app_id, created_at, external_id);
