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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn optional_ids_are_left_out_as_passage_flex_js_leaves_them_out() {
        let discoverable = AuthenticateStartRequest::default();
        let unasked = RegisterStartRequest {
            transaction_id: "t".into(),
            authenticator_attachment: None,
            mediation: None,
        };
        let finish = AuthenticateFinishRequest {
            transaction_id: None,
            handshake_id: "h".into(),
            handshake_response: json!({}),
        };

        assert_eq!(serde_json::to_value(discoverable).unwrap(), json!({}));
        assert_eq!(
            serde_json::to_value(unasked).unwrap(),
            json!({ "transaction_id": "t" })
        );
        assert_eq!(
            serde_json::to_value(finish).unwrap(),
            json!({ "handshake_id": "h", "handshake_response": {} })
        );
    }

    #[test]
    fn a_handshake_answers_with_the_options_under_public_key() {
        let options = json!({ "publicKey": { "challenge": "abc", "timeout": 60000 } });

        let answer = serde_json::to_value(handshake_response("h1", options.clone())).unwrap();

        assert_eq!(
            answer,
            json!({ "handshake": { "id": "h1", "challenge": options } })
        );
        let read: HandshakeResponse = serde_json::from_value(answer).unwrap();
        assert_eq!(read.handshake.challenge.public_key["challenge"], "abc");
    }

    #[test]
    fn passage_names_are_kept_where_rust_cannot_use_them() {
        let link = |href: &str| Link { href: href.into() };
        let links = PaginatedLinks {
            first: link("f"),
            last: link("l"),
            next: link("n"),
            previous: link("p"),
            this: link("s"),
        };

        let links = serde_json::to_value(links).unwrap();

        assert_eq!(links["self"]["href"], "s");
        assert!(links.get("this").is_none());
    }
}
