//! The JSON of both APIs is `app::wire`, shared with the Rust and browser
//! clients; here, what only the server does with it: building the answers
//! from the core's records.

pub use app::wire::*;
use serde_json::Value;

use crate::flex::{
    aaguid,
    clock::rfc3339,
    users::{PasskeyRecord, User},
};

/// A user as listed, from the core's record.
pub fn user_list_item(user: &User) -> UserListItem {
    UserListItem {
        id: user.id.clone(),
        external_id: user.external_id.clone(),
        status: "active".to_owned(),
        email: String::new(),
        email_verified: false,
        phone: String::new(),
        phone_verified: false,
        login_count: user.login_count,
        created_at: rfc3339(Some(user.created_at)),
        updated_at: rfc3339(Some(user.updated_at)),
        last_login_at: rfc3339(user.last_login_at),
        user_metadata: None,
    }
}

/// A passkey as a device, its provider's icons served from `public_origin`.
pub fn device(record: &PasskeyRecord, public_origin: &str) -> Device {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let provider = aaguid::provider(&record.aaguid);
    let icon = |file: &str| format!("{public_origin}/v1/aaguid-icons/{file}");
    Device {
        id: record.id.as_str().to_owned(),
        cred_id: URL_SAFE_NO_PAD.encode(&record.cred_id),
        friendly_name: record.friendly_name.clone(),
        kind: record.kind.as_str().to_owned(),
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

/// A handshake's answer, from the core's id and its `{"publicKey": …}` options.
pub fn handshake_response(id: &str, mut challenge: Value) -> HandshakeResponse {
    let public_key = challenge
        .get_mut("publicKey")
        .map(Value::take)
        .unwrap_or_default();
    HandshakeResponse {
        handshake: HandshakeBody {
            id: id.to_owned(),
            challenge: Challenge { public_key },
        },
    }
}
