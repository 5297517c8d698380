//! What the console's server functions need from the server, as one
//! interface (implemented by `server::console`, provided as Leptos context).
//! Every call that reads or changes something names the operator acting.

use std::sync::Arc;

use async_trait::async_trait;

use super::{AppOverview, EventsFilter};
use crate::wire::{events::EventPage, webhooks::WebhookDeliveries};

use super::{
    ApiKeyView, AppForm, AppView, InviteCeremony, NewKeyView, OperatorView, UserDetail,
    UsersPageView,
};

/// Why something failed, for the log only.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session (none, expired, ended, or its operator revoked).
    #[error("You are not signed in to the console, or your session ended. Sign in again.")]
    NotSignedIn,
    /// Refused input or state; the message says what to do.
    #[error("{0}")]
    Invalid(String),
    /// What was asked for does not exist; the message says what.
    #[error("{0}")]
    NotFound(String),
    #[error("the console's backend failed")]
    Internal(#[source] Cause),
}

impl ConsoleError {
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }
}

#[async_trait]
pub trait ConsoleBackend: Send + Sync {
    /// The operator of a live session token.
    async fn operator(&self, session: &str) -> Result<OperatorView, ConsoleError>;
    async fn sign_out(&self, session: &str) -> Result<(), ConsoleError>;
    /// The console's own app (the browser signs in against it).
    async fn console_app_id(&self) -> Result<String, ConsoleError>;
    /// The name of a live invite.
    async fn check_invite(&self, token: &str) -> Result<String, ConsoleError>;
    async fn start_invite(&self, token: &str) -> Result<InviteCeremony, ConsoleError>;
    /// Uses up the invite; returns the new operator's session token.
    async fn finish_invite(&self, token: &str, nonce: &str) -> Result<String, ConsoleError>;
    /// Signs in with a nonce of the console's app; returns a session token.
    async fn sign_in(&self, nonce: &str) -> Result<String, ConsoleError>;

    async fn list_apps(&self, by: &OperatorView) -> Result<Vec<AppView>, ConsoleError>;
    async fn app(&self, by: &OperatorView, app_id: &str) -> Result<AppView, ConsoleError>;
    async fn create_app(
        &self,
        by: &OperatorView,
        form: &AppForm,
    ) -> Result<NewKeyView, ConsoleError>;
    async fn update_app(
        &self,
        by: &OperatorView,
        app_id: &str,
        form: &AppForm,
    ) -> Result<(), ConsoleError>;
    async fn list_keys(
        &self,
        by: &OperatorView,
        app_id: &str,
    ) -> Result<Vec<ApiKeyView>, ConsoleError>;
    async fn create_key(&self, by: &OperatorView, app_id: &str)
        -> Result<NewKeyView, ConsoleError>;
    async fn revoke_key(
        &self,
        by: &OperatorView,
        app_id: &str,
        key_id: &str,
    ) -> Result<(), ConsoleError>;
    /// Turns an app's signed results on or off.
    async fn set_signed_results(
        &self,
        by: &OperatorView,
        app_id: &str,
        on: bool,
    ) -> Result<(), ConsoleError>;
    /// Sets an app's authenticator policy: `mode` none, allow or deny, the
    /// AAGUIDs one a line (or comma-separated), and attested only.
    async fn set_authenticator_policy(
        &self,
        by: &OperatorView,
        app_id: &str,
        mode: &str,
        aaguids: &str,
        attested_only: bool,
    ) -> Result<(), ConsoleError>;
    /// Rotates an app's signing key; returns the new key's id.
    async fn rotate_signing_key(
        &self,
        by: &OperatorView,
        app_id: &str,
    ) -> Result<String, ConsoleError>;
    async fn users(
        &self,
        by: &OperatorView,
        app_id: &str,
        prefix: &str,
        page: i64,
    ) -> Result<UsersPageView, ConsoleError>;
    async fn user(
        &self,
        by: &OperatorView,
        app_id: &str,
        user_id: &str,
    ) -> Result<UserDetail, ConsoleError>;
    async fn rename_passkey(
        &self,
        by: &OperatorView,
        app_id: &str,
        user_id: &str,
        device_id: &str,
        name: &str,
    ) -> Result<(), ConsoleError>;
    async fn revoke_passkey(
        &self,
        by: &OperatorView,
        app_id: &str,
        user_id: &str,
        device_id: &str,
    ) -> Result<(), ConsoleError>;
    /// The audit log, newest first, a page at a time.
    async fn events(
        &self,
        by: &OperatorView,
        filter: &EventsFilter,
    ) -> Result<EventPage, ConsoleError>;
    /// An app's webhook endpoints, each with its recent messages and their attempts.
    async fn webhooks(
        &self,
        by: &OperatorView,
        app_id: &str,
    ) -> Result<Vec<WebhookDeliveries>, ConsoleError>;
    /// Every app's registrations and sign-ins in the last 24 hours.
    async fn overview(&self, by: &OperatorView) -> Result<Vec<AppOverview>, ConsoleError>;
    /// Returns how many passkeys went.
    async fn revoke_all_passkeys(
        &self,
        by: &OperatorView,
        app_id: &str,
        user_id: &str,
    ) -> Result<u64, ConsoleError>;
}

/// The console's context value.
#[derive(Clone)]
pub struct Console {
    pub backend: Arc<dyn ConsoleBackend>,
    /// Whether the session cookie is `Secure` (off only on http://localhost).
    pub secure_cookies: bool,
}
