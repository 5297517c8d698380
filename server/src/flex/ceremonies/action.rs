//! Step-up: a sign-in that approves one action.
//!
//! The app's backend names the action when it creates the authenticate
//! transaction (`{"type":"transfer","amount":"120.00",…}`). The WebAuthn
//! challenge then commits to it: 32 random bytes (webauthn-rs's own) followed by
//! SHA-256 of the transaction id, a `.`, and the action in canonical JSON. The
//! authenticator signs the challenge in `clientDataJSON`, webauthn-rs checks it
//! against the one stored for the handshake, and the finish checks that this
//! challenge still ends with the digest of the action the handshake approves. The
//! nonce carries the action; verifying it with an `action` answers
//! `action_mismatch` unless it is exactly that action, so a nonce of a plain
//! sign-in never stands for an action, nor one action's for another's.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::Value;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{PasskeyAuthentication, RequestChallengeResponse};

use crate::flex::{ids::TransactionId, FlexError};

/// The most an action may hold, in canonical JSON.
pub const MAX_ACTION_BYTES: usize = 4096;

/// An action to approve, in canonical JSON: an object, keys sorted at every
/// level, no insignificant whitespace (serde_json's number and string forms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action(String);

impl Action {
    /// Checks an action as an API request carries it.
    pub fn parse(value: &Value) -> Result<Self, FlexError> {
        if !value.is_object() {
            return Err(FlexError::invalid(
                "action must be a JSON object, like {\"type\":\"transfer\",\"amount\":\"120.00\"}",
            ));
        }
        let mut canonical = String::new();
        write_canonical(value, &mut canonical);
        if canonical.len() > MAX_ACTION_BYTES {
            return Err(FlexError::invalid(format!(
                "action is {} bytes as canonical JSON; at most {MAX_ACTION_BYTES} are allowed",
                canonical.len()
            )));
        }
        Ok(Self(canonical))
    }

    /// An action as stored (written by `parse`).
    pub(crate) fn stored(canonical: String) -> Self {
        Self(canonical)
    }

    pub fn canonical(&self) -> &str {
        &self.0
    }

    /// The action as JSON, for answers.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// SHA-256 of `{transaction id}.{canonical action}`: what the challenge ends with.
    pub fn digest(&self, transaction: &TransactionId) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(transaction.as_str().as_bytes());
        hasher.update(b".");
        hasher.update(self.0.as_bytes());
        hasher.finalize().into()
    }

    /// The digest in base64url, as the audit log and signed results name it.
    pub fn digest_text(&self, transaction: &TransactionId) -> String {
        URL_SAFE_NO_PAD.encode(self.digest(transaction))
    }
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Makes a started sign-in's challenge commit to `digest`: webauthn-rs's 32
/// random bytes, then the digest, in both the options for the browser and the
/// state webauthn-rs verifies the answer against. webauthn-rs has no way to be
/// handed a challenge; its state is serialisable (`danger-allow-state-serialisation`,
/// which the store relies on already), so the challenge is set there.
pub fn bind_challenge(
    options: &mut RequestChallengeResponse,
    state: &PasskeyAuthentication,
    digest: &[u8; 32],
) -> Result<PasskeyAuthentication, FlexError> {
    let random: &[u8] = options.public_key.challenge.as_ref();
    let mut challenge = random.to_vec();
    challenge.extend_from_slice(digest);
    let mut value = serde_json::to_value(state)?;
    let stored = value
        .pointer_mut("/ast/challenge")
        .ok_or_else(|| anyhow::anyhow!("webauthn-rs's sign-in state has no /ast/challenge"))?;
    *stored = Value::String(URL_SAFE_NO_PAD.encode(&challenge));
    let state = serde_json::from_value(value)?;
    options.public_key.challenge = challenge;
    Ok(state)
}

/// Whether a sign-in state's challenge ends with `digest` (and has its 32
/// random bytes before it).
pub fn challenge_commits_to(state: &PasskeyAuthentication, digest: &[u8; 32]) -> bool {
    let Ok(value) = serde_json::to_value(state) else {
        return false;
    };
    value
        .pointer("/ast/challenge")
        .and_then(Value::as_str)
        .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
        .is_some_and(|challenge| challenge.len() == 64 && challenge[32..] == digest[..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_action_is_canonical_whatever_the_order_and_spacing() {
        let a = Action::parse(
            &json!({"type": "transfer", "to": {"iban": "X", "bank": "B"}, "amount": "1"}),
        )
        .unwrap();
        let b: Value = serde_json::from_str(
            r#"{ "amount":"1", "to":{"bank":"B","iban":"X"}, "type":"transfer" }"#,
        )
        .unwrap();
        assert_eq!(a, Action::parse(&b).unwrap());
        assert_eq!(
            a.canonical(),
            r#"{"amount":"1","to":{"bank":"B","iban":"X"},"type":"transfer"}"#
        );
        assert_eq!(a.to_value(), b);
    }

    #[test]
    fn an_action_is_an_object_of_at_most_4_kb() {
        assert!(Action::parse(&json!("transfer")).is_err());
        assert!(Action::parse(&json!([1])).is_err());
        assert!(Action::parse(&json!({"note": "x".repeat(4100)})).is_err());
        assert!(Action::parse(&json!({"note": "x".repeat(4000)})).is_ok());
    }

    #[test]
    fn the_digest_depends_on_the_transaction_and_the_action() {
        let one = TransactionId::generate();
        let two = TransactionId::generate();
        let pay = Action::parse(&json!({"type": "pay", "amount": "1"})).unwrap();
        let more = Action::parse(&json!({"type": "pay", "amount": "10"})).unwrap();
        assert_ne!(pay.digest(&one), pay.digest(&two));
        assert_ne!(pay.digest(&one), more.digest(&one));
        assert_eq!(pay.digest(&one), pay.digest(&one));
    }
}
