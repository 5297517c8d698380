//! Signed results: the public keys an app's tokens verify against
//! (`GET /v1/apps/{app_id}/.well-known/jwks.json`, RFC 7517).

use serde::{Deserialize, Serialize};

/// A JSON Web Key Set: the app's current public key, and any retired key whose
/// tokens may still be live.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// One public key: ECDSA P-256 (`ES256`), for verifying signatures only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Jwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// The x coordinate, base64url.
    pub x: String,
    /// The y coordinate, base64url.
    pub y: String,
    /// The key's id: a token's header names it in `kid`.
    pub kid: String,
    /// `ES256`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}
