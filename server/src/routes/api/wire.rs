//! The JSON of both APIs, exactly as Passage's Flex SDKs send and expect it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::flex::{
    aaguid,
    clock::rfc3339,
    users::{PasskeyRecord, User},
};

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRegisterTransactionRequest {
    pub external_id: String,
    pub passkey_display_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAuthenticateTransactionRequest {
    pub external_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionResponse {
    pub transaction_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyNonceRequest {
    pub nonce: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyNonceResponse {
    pub external_id: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UserListQuery {
    /// Only the user with this external id.
    pub identifier: Option<String>,
    /// 1-based page number, at most 1,000,000 (default 1).
    pub page: Option<i64>,
    /// Users per page, 1 to 100 (default 20).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Link {
    pub href: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaginatedLinks {
    pub first: Link,
    pub last: Link,
    pub next: Link,
    pub previous: Link,
    #[serde(rename = "self")]
    pub this: Link,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserListResponse {
    pub users: Vec<UserListItem>,
    pub total_users: i64,
    pub page: i64,
    pub limit: i64,
    /// Unix seconds: users created before this time were counted.
    pub created_before: i64,
    pub _links: PaginatedLinks,
}

/// A user as listed. Fields Latchkey has no use for (email, phone) are present and empty.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserListItem {
    pub id: String,
    pub external_id: String,
    pub status: &'static str,
    pub email: &'static str,
    pub email_verified: bool,
    pub phone: &'static str,
    pub phone_verified: bool,
    pub login_count: i64,
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: String,
    pub user_metadata: Option<Value>,
}

impl From<&User> for UserListItem {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            external_id: user.external_id.clone(),
            status: "active",
            email: "",
            email_verified: false,
            phone: "",
            phone_verified: false,
            login_count: user.login_count,
            created_at: rfc3339(Some(user.created_at)),
            updated_at: rfc3339(Some(user.updated_at)),
            last_login_at: rfc3339(user.last_login_at),
            user_metadata: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub user: UserInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserInfo {
    #[serde(flatten)]
    pub listed: UserListItem,
    pub recent_events: Vec<Value>,
    pub social_connections: Value,
    pub webauthn: bool,
    pub webauthn_devices: Vec<Device>,
    pub webauthn_types: Vec<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Icons {
    pub light: Option<String>,
    pub dark: Option<String>,
}

/// A passkey, as Passage's "device", with what Latchkey adds (provider, sync state).
#[derive(Debug, Serialize, ToSchema)]
pub struct Device {
    pub id: String,
    /// The credential id, base64url.
    pub cred_id: String,
    pub friendly_name: String,
    /// `passkey` (synced), `platform` or `security_key`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub usage_count: i64,
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: String,
    pub icons: Icons,
    /// The provider's name from the AAGUID, when known.
    pub provider_name: Option<String>,
    pub aaguid: String,
    pub backup_eligible: bool,
    /// Whether the passkey is synced (backed up) now.
    pub backup_state: bool,
    pub transports: Vec<String>,
}

impl Device {
    pub fn new(record: &PasskeyRecord, public_origin: &str) -> Self {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
        let provider = aaguid::provider(&record.aaguid);
        let icon = |file: &str| format!("{public_origin}/v1/aaguid-icons/{file}");
        Self {
            id: record.id.as_str().to_owned(),
            cred_id: URL_SAFE_NO_PAD.encode(&record.cred_id),
            friendly_name: record.friendly_name.clone(),
            kind: record.kind.as_str(),
            usage_count: record.usage_count,
            created_at: rfc3339(Some(record.created_at)),
            updated_at: rfc3339(Some(record.updated_at)),
            last_login_at: rfc3339(record.last_used_at),
            icons: Icons {
                light: provider.and_then(|p| p.light.as_deref()).map(icon),
                dark: provider.and_then(|p| p.dark.as_deref()).map(icon),
            },
            provider_name: provider.map(|p| p.name.clone()),
            aaguid: record.aaguid.clone(),
            backup_eligible: record.backup_eligible,
            backup_state: record.backup_state,
            transports: record.transports.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DevicesResponse {
    pub devices: Vec<Device>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameDeviceRequest {
    pub friendly_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceResponse {
    pub device: Device,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterStartRequest {
    pub transaction_id: String,
    /// `platform`, `cross-platform` or `any` (default).
    pub authenticator_attachment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AuthenticateStartRequest {
    /// Absent for a discoverable (one-click or autofill) sign-in.
    pub transaction_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HandshakeResponse {
    pub handshake: HandshakeBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HandshakeBody {
    pub id: String,
    /// `{"publicKey": PublicKeyCredentialCreationOptions or RequestOptions}`, binary fields base64url.
    pub challenge: Value,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterFinishRequest {
    pub transaction_id: String,
    pub handshake_id: String,
    /// The `RegistrationResponseJSON` of `navigator.credentials.create()`.
    pub handshake_response: Value,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AuthenticateFinishRequest {
    pub transaction_id: Option<String>,
    pub handshake_id: String,
    /// The `AuthenticationResponseJSON` of `navigator.credentials.get()`.
    pub handshake_response: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NonceResponse {
    pub nonce: String,
}
