//! The JSON of Latchkey's REST API, exactly as Passage's Flex SDKs send and
//! expect it: declared once, used by the REST handlers, the Rust backend
//! client (`latchkey::client`), the browser client (`crate::passkey`) and the
//! tests.
//!
//! Plain serde types; with `ssr` they also derive `utoipa::ToSchema` for the
//! server's OpenAPI document (the WASM build carries no utoipa). WebAuthn
//! options and credentials stay `serde_json::Value`: webauthn-rs reads them on
//! the server, the browser's own JSON on the other side.
//!
//! - [`client`]: browser to Latchkey (register and authenticate, start and finish).
//! - [`management`]: server to server (transactions, nonces, users, devices).
//! - [`events`]: the audit log's vocabulary and its API.
//! - [`signing`]: signed results' public keys (JWKS).
//! - [`origins`]: the `/.well-known/webauthn` document of related origins.
//!
//! The types' doc comments are the OpenAPI document's descriptions; notes
//! meant only for readers of this code are plain comments.

pub mod client;
pub mod events;
pub mod management;
pub mod origins;
pub mod signing;
pub mod webhooks;

pub use client::*;
pub use management::*;
pub use origins::*;
pub use signing::*;

use serde::{Deserialize, Serialize};

/// The body of every error: `{"code": "...", "error": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A stable code to branch on.
    pub code: String,
    /// What went wrong, for people.
    pub error: String,
    /// Latchkey's addition, only with `credential_not_found`: the credential
    /// id (base64url) the browser answered with, which this app does not know.
    /// The browser passes it to `PublicKeyCredential.signalUnknownCredential`
    /// so that the password manager drops the dead passkey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub credential_id: Option<String>,
}
