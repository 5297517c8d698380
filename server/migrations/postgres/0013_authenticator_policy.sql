-- Authenticator policy (README "Authenticator policy"): which authenticators
-- may register a passkey in an app, by AAGUID. `aaguid_policy` is 'none'
-- (any), 'allow' (only those in `aaguids`) or 'deny' (any but those);
-- `aaguids` is a JSON array of lower-case hyphenated UUIDs. With
-- `attested_only`, a registration must carry an attestation that chains to
-- a trusted CA (the bundled list and LATCHKEY_ATTESTATION_CA).
ALTER TABLE apps ADD COLUMN aaguid_policy TEXT NOT NULL DEFAULT 'none';
ALTER TABLE apps ADD COLUMN aaguids JSONB NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE apps ADD COLUMN attested_only BOOLEAN NOT NULL DEFAULT FALSE;
