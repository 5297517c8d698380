-- Each user's WebAuthn user handle, as bytes. Latchkey's own users have had
-- their id (a UUID) as their handle: those 16 bytes. Imported users keep the
-- handle their passkeys were made with (any 1 to 64 bytes), so a discoverable
-- sign-in finds them by it.
ALTER TABLE users ADD COLUMN user_handle BYTEA;
UPDATE users SET user_handle = decode(replace(id, '-', ''), 'hex');
ALTER TABLE users ALTER COLUMN user_handle SET NOT NULL;
CREATE UNIQUE INDEX users_app_user_handle ON users (app_id, user_handle);
