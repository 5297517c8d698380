//! Webhooks: an app's endpoints and the messages delivered to them (Standard
//! Webhooks), as the management API and the console show them. A secret is
//! shown once, when it is made (creation, rotation), and never again.

use serde::{Deserialize, Serialize};

/// An endpoint events are delivered to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Webhook {
    /// `wh_` and 32 hex digits.
    pub id: String,
    pub url: String,
    /// The event types delivered (the audit log's vocabulary); empty: every type.
    pub event_types: Vec<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Until when the secret before the last rotation still signs too (RFC 3339), if it does.
    pub previous_secret_expires_at: Option<String>,
}

/// `POST /v1/apps/{app_id}/webhooks`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreateWebhookRequest {
    /// `https://…` (or `http://…`); a private or loopback address is refused
    /// unless the server runs with `--webhook-allow-private`.
    pub url: String,
    /// Event types to deliver; none or empty: every type.
    #[serde(default)]
    pub event_types: Vec<String>,
}

/// An endpoint just made (or its secret just rotated), with its secret: shown only now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    /// `whsec_` and base64 of 32 random bytes: verify `webhook-signature` with it.
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

/// One attempt to deliver a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookAttempt {
    /// 1 for the first.
    pub attempt: i64,
    /// RFC 3339, UTC.
    pub at: String,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A message: one event, for one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookMessage {
    /// `msg_` and 32 hex digits: the `webhook-id` header, the same on every attempt.
    pub id: String,
    /// The event it reports (`null` once retention swept the event).
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    /// `pending`, `delivered`, or `failed` (given up).
    pub status: String,
    /// Attempts begun (one killed half-way counts, without a record below).
    pub attempt_count: i64,
    /// When it is tried next, while pending (RFC 3339).
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    /// When it was delivered or given up.
    pub finished_at: Option<String>,
    pub attempts: Vec<WebhookAttempt>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookMessageList {
    /// Newest first.
    pub messages: Vec<WebhookMessage>,
}

/// An endpoint and its recent messages (the console's app page).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookDeliveries {
    pub webhook: Webhook,
    /// Newest first.
    pub messages: Vec<WebhookMessage>,
}
