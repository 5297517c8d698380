//! The export format, `latchkey-export` version 1: JSON Lines, one object per
//! line, told apart by `type`. Documented in `docs/EXPORT-FORMAT.md`, with a
//! JSON Schema beside it (`docs/export-format.schema.json`).

use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "latchkey-export";
pub const VERSION: u32 = 1;

/// One line of an export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    Header(Header),
    User(UserLine),
    Passkey(PasskeyLine),
}

/// The first line: what the file is, and the app's settings (no secrets).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub app: AppSettings,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppSettings {
    pub id: String,
    pub name: String,
    pub rp_id: String,
    pub origins: Vec<String>,
    /// Related origins (README "Related origins"); absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_origins: Vec<String>,
    pub webauthn_timeout_ms: i64,
    pub transaction_ttl_ms: i64,
    pub nonce_ttl_ms: i64,
    pub max_passkeys_per_user: i64,
}

/// A user: the app's external id, and the WebAuthn user handle its passkeys
/// were made with (base64url; a new one is made when absent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserLine {
    pub external_id: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_handle: Option<String>,
    /// RFC 3339 (default: the time of the import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// A passkey of the user of `external_id` (whose user line comes first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PasskeyLine {
    pub external_id: String,
    /// base64url.
    pub credential_id: String,
    /// The COSE_Key (RFC 9052) of the credential, CBOR in base64url, as the
    /// authenticator gave it in the attested credential data.
    pub public_key: String,
    /// The COSE algorithm (-7 ES256, -8 EdDSA, -257 RS256, …); must be the key's.
    pub algorithm: i64,
    /// The signature counter last seen (0: the authenticator keeps none).
    pub counter: u32,
    /// Lower-case, hyphenated; all zeros when unknown.
    #[serde(default = "zero_aaguid")]
    pub aaguid: String,
    #[serde(default)]
    pub transports: Vec<String>,
    pub backup_eligible: bool,
    pub backup_state: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// The user handle the passkey was made with, when it is not its user's
    /// (base64url); `""` when the source never kept it (better-auth makes a
    /// random one per passkey): then the credential id alone names the user
    /// in a discoverable sign-in. Absent: its user's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_handle: Option<String>,
}

pub fn zero_aaguid() -> String {
    "00000000-0000-0000-0000-000000000000".to_owned()
}
