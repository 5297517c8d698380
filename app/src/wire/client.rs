//! The client API: browser to Latchkey, `/v1/apps/{app_id}/…`, no secret.

use serde::{Deserialize, Serialize};
use serde_json::Value;

// `POST /register/transactions/webauthn/start`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RegisterStartRequest {
    pub transaction_id: String,
    /// `platform`, `cross-platform` or `any` (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<String>,
    /// Latchkey's addition: `conditional` when the browser will be asked with
    /// `mediation: "conditional"` (an automatic passkey upgrade, no dialog).
    /// Absent: a modal registration, as Passage's SDKs start it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub mediation: Option<String>,
}

// `POST /authenticate/transactions/webauthn/start`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuthenticateStartRequest {
    /// Absent for a discoverable (one-click or autofill) sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

// The answer to both starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HandshakeResponse {
    pub handshake: HandshakeBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HandshakeBody {
    pub id: String,
    pub challenge: Challenge,
}

/// What `navigator.credentials.create()` or `.get()` is asked, as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Challenge {
    /// `PublicKeyCredentialCreationOptions` or `PublicKeyCredentialRequestOptions`,
    /// binary fields base64url.
    #[serde(rename = "publicKey")]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub public_key: Value,
}

// `POST /register/transactions/webauthn/finish`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RegisterFinishRequest {
    pub transaction_id: String,
    pub handshake_id: String,
    /// The `RegistrationResponseJSON` of `navigator.credentials.create()`.
    pub handshake_response: Value,
}

// `POST /authenticate/transactions/webauthn/finish`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuthenticateFinishRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    pub handshake_id: String,
    /// The `AuthenticationResponseJSON` of `navigator.credentials.get()`.
    pub handshake_response: Value,
}

// The answer to both finishes: the nonce the app's backend verifies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NonceResponse {
    pub nonce: String,
    /// Latchkey's addition, only for an app with signed results on: a JWT
    /// (ES256) that the app's backend may verify offline against the app's
    /// JWKS instead of verifying the nonce. Claims: `iss`
    /// (`{public URL}/v1/apps/{app_id}`), `sub` (the external id), `aud` (the
    /// app id), `iat`, `exp` (2 minutes later), `jti`, `amr` (`["webauthn"]`),
    /// `device_id` (the passkey), and for a step-up `action_hash` (the
    /// approved action's digest). Passage's SDKs ignore it; the nonce works as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_result: Option<String>,
    /// Latchkey's addition, only on a sign-in's finish: what the browser
    /// passes to `PublicKeyCredential.signalAllAcceptedCredentials` and
    /// `signalCurrentUserDetails`, so that the password manager forgets this
    /// user's removed passkeys and shows their current name. Only the browser
    /// that just proved possession of one of the user's passkeys receives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = WebauthnSignals))]
    pub signals: Option<WebauthnSignals>,
}

/// A user's passkeys and names, as the WebAuthn Signal API takes them
/// (WebAuthn Level 3 §5.1.10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebauthnSignals {
    /// The app's RP ID.
    pub rp_id: String,
    /// The user handle the passkeys were made with (base64url).
    pub user_id: String,
    /// Every credential id (base64url) the user still has in this app.
    pub all_accepted_credential_ids: Vec<String>,
    /// The user's name as their passkeys show it (the registration's
    /// `passkey_display_name`).
    pub name: String,
    pub display_name: String,
}
