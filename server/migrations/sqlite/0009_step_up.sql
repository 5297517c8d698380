-- Step-up: an authenticate transaction may approve one action (canonical
-- JSON, at most 4 KB). Its handshake's challenge commits to it, and the nonce
-- the sign-in issues carries it to the verification. NULL: a plain sign-in.
ALTER TABLE transactions ADD COLUMN action TEXT;
ALTER TABLE handshakes ADD COLUMN action TEXT;
ALTER TABLE nonces ADD COLUMN action TEXT;
