//! The audit log: one vocabulary of event types, shared by the events API
//! (`GET /v1/apps/{app_id}/events`), the console, the metrics and (later)
//! webhooks. An event never carries a secret: no nonce, transaction or
//! handshake id, API key or challenge.

use serde::{Deserialize, Serialize};

/// What happened. Ceremony steps record both outcomes; changes record success.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum EventType {
    /// The app's backend created a register or authenticate transaction.
    #[serde(rename = "transaction.created")]
    TransactionCreated,
    /// The browser started a ceremony (a handshake): register, authenticate or discoverable.
    #[serde(rename = "handshake.started")]
    HandshakeStarted,
    /// A registration finished: a passkey was added (or refused, with its code).
    #[serde(rename = "registration.finished")]
    RegistrationFinished,
    /// A sign-in finished: a passkey signed (or was refused, with its code).
    #[serde(rename = "authentication.finished")]
    AuthenticationFinished,
    /// The app's backend traded a nonce for its user (or the nonce was refused).
    #[serde(rename = "nonce.verified")]
    NonceVerified,
    #[serde(rename = "passkey.renamed")]
    PasskeyRenamed,
    /// A user's passkey display name changed (`PATCH …/users/{user_id}`).
    #[serde(rename = "user.renamed")]
    UserRenamed,
    #[serde(rename = "passkey.revoked")]
    PasskeyRevoked,
    /// `latchkey import` added users and passkeys (a batch: their counts in the detail).
    #[serde(rename = "passkeys.imported")]
    PasskeysImported,
    #[serde(rename = "api_key.created")]
    ApiKeyCreated,
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked,
    #[serde(rename = "app.created")]
    AppCreated,
    /// An app's settings changed (signed results turned on or off among them).
    #[serde(rename = "app.updated")]
    AppUpdated,
    /// An app's signing key was replaced (its old public key stays in the JWKS
    /// until the tokens it signed have expired): both key ids in the detail.
    #[serde(rename = "signing_key.rotated")]
    SigningKeyRotated,
    #[serde(rename = "operator.invited")]
    OperatorInvited,
    #[serde(rename = "operator.registered")]
    OperatorRegistered,
    #[serde(rename = "operator.signed_in")]
    OperatorSignedIn,
    #[serde(rename = "operator.revoked")]
    OperatorRevoked,
    /// A webhook endpoint was added to the app (its URL and event types in the detail).
    #[serde(rename = "webhook.created")]
    WebhookCreated,
    #[serde(rename = "webhook.removed")]
    WebhookRemoved,
    /// A webhook endpoint's secret was replaced (the old one signs on for a grace period).
    #[serde(rename = "webhook.secret_rotated")]
    WebhookSecretRotated,
}

impl EventType {
    /// Every type, in the order people read them.
    pub const ALL: [Self; 21] = [
        Self::TransactionCreated,
        Self::HandshakeStarted,
        Self::RegistrationFinished,
        Self::AuthenticationFinished,
        Self::NonceVerified,
        Self::PasskeyRenamed,
        Self::UserRenamed,
        Self::PasskeyRevoked,
        Self::PasskeysImported,
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
        Self::AppCreated,
        Self::AppUpdated,
        Self::SigningKeyRotated,
        Self::OperatorInvited,
        Self::OperatorRegistered,
        Self::OperatorSignedIn,
        Self::OperatorRevoked,
        Self::WebhookCreated,
        Self::WebhookRemoved,
        Self::WebhookSecretRotated,
    ];

    /// The dotted name, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransactionCreated => "transaction.created",
            Self::HandshakeStarted => "handshake.started",
            Self::RegistrationFinished => "registration.finished",
            Self::AuthenticationFinished => "authentication.finished",
            Self::NonceVerified => "nonce.verified",
            Self::PasskeyRenamed => "passkey.renamed",
            Self::UserRenamed => "user.renamed",
            Self::PasskeyRevoked => "passkey.revoked",
            Self::PasskeysImported => "passkeys.imported",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::AppCreated => "app.created",
            Self::AppUpdated => "app.updated",
            Self::SigningKeyRotated => "signing_key.rotated",
            Self::OperatorInvited => "operator.invited",
            Self::OperatorRegistered => "operator.registered",
            Self::OperatorSignedIn => "operator.signed_in",
            Self::OperatorRevoked => "operator.revoked",
            Self::WebhookCreated => "webhook.created",
            Self::WebhookRemoved => "webhook.removed",
            Self::WebhookSecretRotated => "webhook.secret_rotated",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// How it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Success, Self::Failure]
            .into_iter()
            .find(|o| o.as_str() == text)
    }
}

/// One event of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Event {
    /// Random, `evt_` and 32 hex digits.
    pub id: String,
    /// `null` for the console's own events (operators).
    pub app_id: Option<String>,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub outcome: Outcome,
    /// The error code of a failure (as the API answered it), else `null`.
    pub code: Option<String>,
    /// The user's external id, when the event concerns one user.
    pub external_id: Option<String>,
    /// The passkey ("device") concerned, if any.
    pub device_id: Option<String>,
    /// Who acted for the app: `api_key:{key id}`, `operator:{id}`, `cli`; `null`
    /// for a browser's own ceremony steps.
    pub actor: Option<String>,
    /// The client's address (behind a trusted proxy, the address it reported).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// What else the event says (a ceremony's kind, an app's changed fields…).
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

/// The query of `GET /events`: every filter narrows; newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct EventQuery {
    /// Only events of this type (e.g. `authentication.finished`).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// `success` or `failure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Only events of the user with this external id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Only events from this client address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Only events at or after this time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The `next_cursor` of the page before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Events per page, 1 to 200 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// A page of events, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass as `cursor` for the next (older) page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Finished ceremonies of one kind over a period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub succeeded: i64,
    pub failed: i64,
}

impl Tally {
    /// Succeeded out of all, in percent; `None` when there were none.
    pub fn success_rate(&self) -> Option<f64> {
        let all = self.succeeded + self.failed;
        (all > 0).then(|| 100.0 * self.succeeded as f64 / all as f64)
    }
}

/// An app's registrations and sign-ins over a period, and why the failed ones failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSummary {
    pub registrations: Tally,
    pub sign_ins: Tally,
    /// Failure codes of both, most frequent first: (code, count).
    pub top_failures: Vec<(String, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_reads_back_and_serializes_as_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(EventType::parse("nonce"), None);
        assert_eq!(Outcome::parse("failure"), Some(Outcome::Failure));
        assert_eq!(serde_json::to_value(Outcome::Success).unwrap(), "success");
    }
}
