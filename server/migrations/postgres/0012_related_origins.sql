-- Related Origin Requests (README "Related origins"): web origins outside an
-- app's RP ID whose ceremonies it accepts too, a JSON array of exact origins
-- like `origins`; the RP ID's host lists them at /.well-known/webauthn.
ALTER TABLE apps ADD COLUMN related_origins JSONB NOT NULL DEFAULT '[]'::jsonb;
