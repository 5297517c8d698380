//! Signed results: an app that opts in (`apps update --signed-results true`)
//! gets, beside the nonce of every successful finish, a short-lived JWT that
//! its backend can verify offline against the app's JWKS
//! (`GET /v1/apps/{app_id}/.well-known/jwks.json`).
//!
//! Each app has its own ES256 (ECDSA P-256) keys, made when signed results are
//! first turned on. The private key is stored only sealed: AES-256-GCM under
//! `LATCHKEY_SECRET_KEY` (32 random bytes from the environment), the app id as
//! associated data, so a sealed key copied to another app's row does not open.
//! A rotation makes a new current key and keeps the old public key in the JWKS
//! until every token it signed has expired ([`RETIRED_KEY_SERVED_MS`]); the
//! sweeper then deletes it.

use std::{fmt, sync::Arc};

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm,
};
use app::wire::{Jwk, Jwks};
use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine as _,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand::{rngs::OsRng, RngCore};
use serde::{Deserialize, Serialize};

use super::{
    apps::App,
    clock::Millis,
    events::{self, EventType},
    ids::{random_token, AppId, SigningKeyId},
    Flex, FlexError,
};
use crate::store::{NewEvent, NewSigningKey};

/// How long a signed result is valid: `exp` is `iat` plus this. Short, as the
/// app's backend checks it right after the browser hands it over (the issue
/// allows at most 5 minutes).
pub const SIGNED_RESULT_TTL_MS: i64 = 2 * 60 * 1000;

/// How long a retired key stays in the JWKS after a rotation: the tokens'
/// lifetime, plus a minute for verifiers that allow for clock skew.
pub const RETIRED_KEY_SERVED_MS: i64 = SIGNED_RESULT_TTL_MS + 60 * 1000;

/// How long a JWKS may be cached (`Cache-Control: max-age`), in seconds: less
/// than a token's lifetime, so a verifier that caches the set and does not
/// refetch on an unknown `kid` still learns a rotated-in key while the first
/// tokens it signed are valid.
pub const JWKS_MAX_AGE_SECS: u64 = 60;

/// What to do when there is no usable secret key, for every message that needs it.
pub const SECRET_KEY_HOWTO: &str = "set LATCHKEY_SECRET_KEY (or --secret-key) to 32 random bytes \
     in base64, the same on every instance: generate one with `openssl rand -base64 32` (or \
     `head -c32 /dev/urandom | base64`) and back it up";

/// The key that seals apps' signing keys at rest (`LATCHKEY_SECRET_KEY`):
/// never printed (its `Debug` is redacted).
#[derive(Clone)]
pub struct SecretKey(Arc<[u8; 32]>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// 32 bytes in base64 (standard or URL alphabet, padded or not).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| format!("the secret key is not base64: {SECRET_KEY_HOWTO}"))?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            format!(
                "the secret key is {} bytes, not 32: {SECRET_KEY_HOWTO}",
                bytes.len()
            )
        })?;
        Ok(Self(Arc::new(key)))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(self.0.as_slice()).expect("a 32-byte key")
    }

    /// `plaintext` sealed for `app`: a random 12-byte nonce, then the ciphertext and tag.
    fn seal(&self, app: &AppId, plaintext: &[u8]) -> Result<Vec<u8>, FlexError> {
        let mut nonce = [0_u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad: app.as_str().as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("could not seal a signing key"))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// What `seal` sealed for `app`; `None` under another key or for another app.
    fn open(&self, app: &AppId, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ciphertext) = sealed.split_at_checked(12)?;
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        self.cipher()
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad: app.as_str().as_bytes(),
                },
            )
            .ok()
    }
}

/// The claims of a signed result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedResultClaims {
    /// `{public URL}/v1/apps/{app_id}`: the JWKS is at `{iss}/.well-known/jwks.json`.
    pub iss: String,
    /// The user's external id.
    pub sub: String,
    /// The app id.
    pub aud: String,
    /// Seconds since the Unix epoch.
    pub iat: i64,
    pub exp: i64,
    /// 128 random bits, base64url: an app that keeps the ids it has seen can
    /// refuse a token twice.
    pub jti: String,
    pub amr: Vec<String>,
    /// The passkey that was registered or signed ("device" in Passage's API).
    pub device_id: String,
    /// For a step-up approval: the base64url SHA-256 of the approved action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_hash: Option<String>,
}

/// The claims of a signed result: the one place they are made.
pub fn signed_result_claims(
    issuer: &str,
    app: &AppId,
    external_id: &str,
    device_id: &str,
    now: Millis,
    action_hash: Option<&str>,
) -> SignedResultClaims {
    let iat = now.div_euclid(1000);
    SignedResultClaims {
        iss: issuer.to_owned(),
        sub: external_id.to_owned(),
        aud: app.as_str().to_owned(),
        iat,
        exp: iat + SIGNED_RESULT_TTL_MS / 1000,
        jti: random_token(16),
        amr: vec!["webauthn".to_owned()],
        device_id: device_id.to_owned(),
        action_hash: action_hash.map(str::to_owned),
    }
}

/// The issuer of an app's tokens on a server reached at `public_origin`.
pub fn issuer(public_origin: &str, app: &AppId) -> String {
    format!("{public_origin}/v1/apps/{app}")
}

/// How the core signs: the secret key (if configured) and where the server is
/// reached (for `iss`).
#[derive(Clone, Debug, Default)]
pub struct Signing {
    pub secret_key: Option<SecretKey>,
    /// The public URL's origin; `None` in a command that signs nothing.
    pub public_origin: Option<String>,
}

impl Flex {
    /// This core, signing with `signing` (no secret key and no issuer otherwise).
    pub fn with_signing(self, signing: Signing) -> Self {
        Self { signing, ..self }
    }

    /// The secret key, or the refusal that says how to set it.
    fn secret_key(&self) -> Result<&SecretKey, FlexError> {
        self.signing.secret_key.as_ref().ok_or_else(|| {
            FlexError::invalid(format!(
                "signed results need a secret key to seal the app's signing key: {SECRET_KEY_HOWTO}"
            ))
        })
    }

    /// A fresh signing key for `app`, sealed (not yet stored).
    pub(super) fn new_signing_key(&self, app: &AppId) -> Result<NewSigningKey, FlexError> {
        let secret = self.secret_key()?;
        let key = loop {
            let mut bytes = [0_u8; 32];
            OsRng.fill_bytes(&mut bytes);
            // All but a 2^-128 share of 32-byte strings are P-256 scalars.
            if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
                break key;
            }
        };
        let pkcs8 = key
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("could not encode a signing key: {e}"))?;
        let point =
            p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key.public_key(), false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(anyhow::anyhow!("a P-256 public key without coordinates").into());
        };
        let id = SigningKeyId::generate();
        let jwk = Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: URL_SAFE_NO_PAD.encode(x),
            y: URL_SAFE_NO_PAD.encode(y),
            kid: id.as_str().to_owned(),
            alg: "ES256".into(),
            use_: "sig".into(),
        };
        Ok(NewSigningKey {
            sealed_private_key: secret.seal(app, pkcs8.as_bytes())?,
            public_jwk: serde_json::to_string(&jwk)?,
            id,
        })
    }

    /// The current signing key of `app`: its id and PKCS#8 private key.
    pub(super) async fn current_signing_key(
        &self,
        app: &AppId,
    ) -> Result<(String, Vec<u8>), SigningKeyProblem> {
        let secret = self
            .signing
            .secret_key
            .as_ref()
            .ok_or(SigningKeyProblem::NoSecretKey)?;
        let row = self
            .store
            .find_current_signing_key(app)
            .await
            .map_err(|e| SigningKeyProblem::Store(e.into()))?
            .ok_or(SigningKeyProblem::NoSigningKey)?;
        let pkcs8 = secret
            .open(app, &row.private_key)
            .filter(|der| p256::SecretKey::from_pkcs8_der(der).is_ok())
            .ok_or(SigningKeyProblem::DoesNotDecrypt)?;
        Ok((row.id, pkcs8))
    }

    /// The signed result of a finish of `app` for this user and passkey, if the
    /// app has signed results on; `action_hash` for a step-up approval.
    pub(super) async fn sign_result(
        &self,
        app: &App,
        external_id: Option<&str>,
        device_id: &str,
        now: Millis,
        action_hash: Option<&str>,
    ) -> Result<Option<String>, FlexError> {
        if !app.signed_results {
            return Ok(None);
        }
        let external_id =
            external_id.ok_or_else(|| anyhow::anyhow!("a finish without its user"))?;
        let origin = self
            .signing
            .public_origin
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("this core has no public URL to sign as"))?;
        let (kid, pkcs8) = self
            .current_signing_key(&app.id)
            .await
            .map_err(|problem| problem.into_error(&app.id))?;
        let claims = signed_result_claims(
            &issuer(origin, &app.id),
            &app.id,
            external_id,
            device_id,
            now,
            action_hash,
        );
        let header = Header {
            kid: Some(kid),
            ..Header::new(Algorithm::ES256)
        };
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&pkcs8))
            .map_err(|e| anyhow::anyhow!("could not sign a result: {e}"))?;
        Ok(Some(token))
    }

    /// The public keys of `app` that tokens may still be signed with: the
    /// current one, and retired ones until their tokens have expired.
    pub async fn jwks(&self, app: &AppId) -> Result<Jwks, FlexError> {
        self.app(app).await?;
        let keys = self
            .store
            .list_served_signing_keys(app, self.now())
            .await?
            .iter()
            .map(|jwk| serde_json::from_str(jwk))
            .collect::<Result<_, _>>()?;
        Ok(Jwks { keys })
    }

    /// Replaces the current signing key of `app` with a new one; the old
    /// public key stays in the JWKS for [`RETIRED_KEY_SERVED_MS`]. Returns the
    /// new key's id.
    pub async fn rotate_signing_key(&self, app: &AppId) -> Result<SigningKeyId, FlexError> {
        self.app(app).await?;
        let old = self
            .store
            .find_current_signing_key(app)
            .await?
            .ok_or_else(|| {
                FlexError::invalid(
                    "this app has no signing key to rotate: turn signed results on first \
                 (`latchkey apps update APP_ID --signed-results true`)",
                )
            })?;
        let new = self.new_signing_key(app)?;
        let now = self.now();
        let event = NewEvent {
            detail: serde_json::json!({
                "key_id": new.id.as_str(),
                "retired_key_id": old.id,
                "retired_key_served_until": super::clock::rfc3339(Some(now + RETIRED_KEY_SERVED_MS)),
            }),
            ..events::success(Some(app), EventType::SigningKeyRotated, now)
        };
        let rotated = self
            .store
            .rotate_signing_key(app, &old.id, &new, now, now + RETIRED_KEY_SERVED_MS, &event)
            .await?;
        if !rotated {
            return Err(FlexError::invalid(
                "the signing key was rotated meanwhile: look at the JWKS, and try again if need be",
            ));
        }
        self.wrote(&event);
        Ok(new.id)
    }

    /// What keeps an app with signed results on from signing: one sentence per
    /// app, with its fix. `serve` refuses to start, and `doctor` fails, on any.
    pub async fn signing_key_problems(&self) -> Result<Vec<String>, FlexError> {
        let mut problems = Vec::new();
        for app in self.list_apps().await? {
            if !app.signed_results {
                continue;
            }
            match self.current_signing_key(&app.id).await {
                Ok(_) => {}
                Err(SigningKeyProblem::Store(error)) => return Err(error),
                Err(problem) => problems.push(problem.describe(&app.id)),
            }
        }
        Ok(problems)
    }
}

/// Why an app with signed results on cannot sign.
pub(super) enum SigningKeyProblem {
    NoSecretKey,
    NoSigningKey,
    DoesNotDecrypt,
    Store(FlexError),
}

impl SigningKeyProblem {
    fn describe(&self, app: &AppId) -> String {
        match self {
            Self::NoSecretKey => format!(
                "app {app} has signed results on, but no secret key is set: {SECRET_KEY_HOWTO}"
            ),
            Self::NoSigningKey => format!(
                "app {app} has signed results on, but no signing key: turn them off and on \
                 again (`latchkey apps update {app} --signed-results false`, then `true`)"
            ),
            Self::DoesNotDecrypt => format!(
                "the secret key does not decrypt app {app}'s signing key: set LATCHKEY_SECRET_KEY \
                 to the key it was sealed with (from your backup), or make a new signing key \
                 with `latchkey signing-keys rotate --app {app}` under the new secret key"
            ),
            Self::Store(error) => error.to_string(),
        }
    }

    /// The refusal of a request that needs the key (turning signed results on).
    pub(super) fn refusal(self, app: &AppId) -> FlexError {
        match self {
            Self::Store(error) => error,
            Self::NoSecretKey => FlexError::invalid(format!(
                "signed results need a secret key to seal the app's signing key: {SECRET_KEY_HOWTO}"
            )),
            problem => FlexError::invalid(problem.describe(app)),
        }
    }

    fn into_error(self, app: &AppId) -> FlexError {
        match self {
            Self::Store(error) => error,
            problem => anyhow::anyhow!("{}", problem.describe(app)).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_key_is_32_bytes_of_base64_and_never_prints() {
        let text = STANDARD.encode([7_u8; 32]);
        let key = SecretKey::parse(&text).unwrap();
        assert_eq!(format!("{key:?}"), "SecretKey(…)");
        assert!(SecretKey::parse(&URL_SAFE_NO_PAD.encode([7_u8; 32])).is_ok());
        assert!(SecretKey::parse(&STANDARD.encode([7_u8; 16])).is_err());
        assert!(SecretKey::parse("not base64!").is_err());
        assert!(SecretKey::parse("").is_err());
    }

    #[test]
    fn a_sealed_key_opens_only_under_its_secret_key_and_for_its_app() {
        let key = SecretKey::parse(&STANDARD.encode([1_u8; 32])).unwrap();
        let other = SecretKey::parse(&STANDARD.encode([2_u8; 32])).unwrap();
        let (app, another_app) = (AppId::generate(), AppId::generate());
        let sealed = key.seal(&app, b"private").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"private"));
        assert_eq!(key.open(&app, &sealed).as_deref(), Some(&b"private"[..]));
        assert_eq!(other.open(&app, &sealed), None);
        assert_eq!(key.open(&another_app, &sealed), None);
        assert_eq!(key.open(&app, &sealed[..5]), None);
    }

    #[test]
    fn claims_expire_within_five_minutes_and_carry_a_fresh_jti() {
        let app = AppId::generate();
        let claims = signed_result_claims(
            "https://a.example/v1/apps/x",
            &app,
            "u",
            "d",
            1_000_500,
            None,
        );
        assert_eq!(claims.iat, 1000);
        assert!(claims.exp > claims.iat && claims.exp - claims.iat <= 300);
        assert_eq!(claims.amr, ["webauthn"]);
        assert_eq!(URL_SAFE_NO_PAD.decode(&claims.jti).unwrap().len(), 16);
        let again = signed_result_claims("i", &app, "u", "d", 1_000_500, Some("h"));
        assert_ne!(claims.jti, again.jti);
        assert_eq!(again.action_hash.as_deref(), Some("h"));
        assert!(serde_json::to_value(&claims)
            .unwrap()
            .get("action_hash")
            .is_none());
    }
}
