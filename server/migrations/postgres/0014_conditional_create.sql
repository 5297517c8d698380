-- Automatic passkey upgrade: a registration the browser was asked for with
-- `mediation: "conditional"` (no dialog) says so in its handshake, so that its
-- finish knows it was one. NULL: a modal registration or a sign-in.
ALTER TABLE handshakes ADD COLUMN mediation TEXT;
