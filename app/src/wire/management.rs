//! The management API: server to server, `/v1/apps/{app_id}/…` with
//! `Authorization: Bearer {api_key}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

// `POST /transactions/register`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreateRegisterTransactionRequest {
    pub external_id: String,
    pub passkey_display_name: String,
}

// `POST /transactions/authenticate`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreateAuthenticateTransactionRequest {
    pub external_id: String,
    /// Step-up: the one action this sign-in approves (a JSON object, at most
    /// 4 KB as canonical JSON). The WebAuthn challenge commits to it, and the
    /// nonce's verification returns it. Absent: a plain sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Object, example = json!({"type": "transfer", "amount": "120.00", "to": "DE89 3704 0044 0532 0130 00"})))]
    pub action: Option<Value>,
}

// The answer to both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TransactionResponse {
    pub transaction_id: String,
}

// `POST /authenticate/verify`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VerifyNonceRequest {
    pub nonce: String,
    /// Step-up: the action the nonce must approve. A nonce of a plain sign-in
    /// or of another action is refused with 403 `action_mismatch` and is not
    /// used up. Absent: any nonce of the app is taken (as Passage did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub action: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VerifyNonceResponse {
    pub external_id: String,
    /// The action the sign-in approved, in canonical JSON's key order; absent
    /// for a plain sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub action: Option<Value>,
}

// The query of `GET /users`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct UserListQuery {
    /// Only the user with this external id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// 1-based page number, at most 1,000,000 (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<i64>,
    /// Users per page, 1 to 100 (default 20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Link {
    pub href: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PaginatedLinks {
    pub first: Link,
    pub last: Link,
    pub next: Link,
    pub previous: Link,
    #[serde(rename = "self")]
    pub this: Link,
}

// The answer to `GET /users`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserListItem {
    pub id: String,
    pub external_id: String,
    pub status: String,
    pub email: String,
    pub email_verified: bool,
    pub phone: String,
    pub phone_verified: bool,
    pub login_count: i64,
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: String,
    /// Always `null`: Latchkey keeps no metadata (Passage's field).
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>, required = true))]
    pub user_metadata: Option<Value>,
}

// The answer to `GET /users/{user_id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserResponse {
    pub user: UserInfo,
}

// A user with their passkeys: every field of `passage_flex`'s `UserInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserInfo {
    #[serde(flatten)]
    pub listed: UserListItem,
    pub recent_events: Vec<Value>,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub social_connections: Value,
    pub webauthn: bool,
    pub webauthn_devices: Vec<Device>,
    pub webauthn_types: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Icons {
    /// The provider's icon for light backgrounds, when known.
    #[cfg_attr(feature = "ssr", schema(required = true))]
    pub light: Option<String>,
    /// For dark backgrounds, when known.
    #[cfg_attr(feature = "ssr", schema(required = true))]
    pub dark: Option<String>,
}

/// A passkey, as Passage's "device", with what Latchkey adds (provider, sync state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: String,
    /// The credential id, base64url.
    pub cred_id: String,
    pub friendly_name: String,
    /// `passkey` (synced), `platform` or `security_key`.
    #[serde(rename = "type")]
    pub kind: String,
    pub usage_count: i64,
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: String,
    pub icons: Icons,
    /// The provider's name from the AAGUID, when known.
    #[cfg_attr(feature = "ssr", schema(required = true))]
    pub provider_name: Option<String>,
    pub aaguid: String,
    pub backup_eligible: bool,
    /// Whether the passkey is synced (backed up) now.
    pub backup_state: bool,
    pub transports: Vec<String>,
}

// The answer to `GET /users/{user_id}/devices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DevicesResponse {
    pub devices: Vec<Device>,
}

// `PATCH /users/{user_id}` (Latchkey's addition).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RenameUserRequest {
    /// The name the user's passkeys show (their `name` and `displayName`, as
    /// `passkey_display_name` sets it), e.g. after the user changed their email.
    pub passkey_display_name: String,
}

// `PATCH /users/{user_id}/devices/{device_id}` (Latchkey's: Passage had no rename).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RenameDeviceRequest {
    pub friendly_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeviceResponse {
    pub device: Device,
}
