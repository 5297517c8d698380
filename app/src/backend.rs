//! What the reference site's server functions need from the server, as
//! interfaces (implemented by the `server` crate, provided as Leptos context):
//! its own accounts, and Latchkey through the backend interface the Flex SDKs
//! offer. The site is written like a customer's app: it meets Latchkey only here.

use std::sync::Arc;

use async_trait::async_trait;

use crate::api::PasskeyView;

/// Why something failed, for the log only: never shown to people.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// What Latchkey refused, by what the site does about it; anything else is
/// `Internal`, whose cause is logged and never sent to the browser.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The request was not acceptable; the message (Latchkey's, for people) says why.
    #[error("{0}")]
    Invalid(String),
    #[error("the nonce is unknown, expired, or already used")]
    InvalidNonce,
    /// The nonce does not approve the action it was verified for (a plain
    /// sign-in's, or another action's); it was not used up.
    #[error("the nonce does not approve this action")]
    ActionMismatch,
    #[error("no user has this external id")]
    UserNotFound,
    #[error("the user has no passkeys")]
    UserHasNoPasskeys,
    #[error("the passkey does not exist")]
    DeviceNotFound,
    #[error("the user holds the most passkeys the app allows")]
    TooManyPasskeys,
    /// Latchkey is limiting the site's calls.
    #[error("Latchkey is limiting the site's calls")]
    RateLimited,
    /// A broken store, Latchkey out of reach or misconfigured, a bug.
    #[error("the passkey backend failed")]
    Internal(#[source] Cause),
}

impl BackendError {
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }
}

/// The backend calls of Passage's Flex SDKs (`passage_flex`), plus rename and
/// step-up (`action`: the one action a sign-in approves, a JSON object).
#[async_trait]
pub trait PasskeyBackend: Send + Sync {
    async fn create_register_transaction(
        &self,
        external_id: &str,
        passkey_display_name: &str,
    ) -> Result<String, BackendError>;
    async fn create_authenticate_transaction(
        &self,
        external_id: &str,
        action: Option<&serde_json::Value>,
    ) -> Result<String, BackendError>;
    /// The external id of the nonce's user; the nonce is used up. With an
    /// `action`, only a nonce that approves exactly it (else `ActionMismatch`).
    async fn verify_nonce(
        &self,
        nonce: &str,
        action: Option<&serde_json::Value>,
    ) -> Result<String, BackendError>;
    async fn list_devices(&self, external_id: &str) -> Result<Vec<PasskeyView>, BackendError>;
    async fn rename_device(
        &self,
        external_id: &str,
        device_id: &str,
        friendly_name: &str,
    ) -> Result<(), BackendError>;
    async fn revoke_device(&self, external_id: &str, device_id: &str) -> Result<(), BackendError>;
    /// Changes the name the user's passkeys show (`passkey_display_name`).
    async fn rename_user(&self, external_id: &str, name: &str) -> Result<(), BackendError>;
    /// What the user's browser passes to the WebAuthn Signal API.
    async fn webauthn_signals(
        &self,
        external_id: &str,
    ) -> Result<crate::wire::WebauthnSignals, BackendError>;
}

/// An account of the site.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub email: String,
    /// Assigned when the account first adds a passkey (the guide's `passageExternalId`).
    pub external_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The input is not acceptable; the message says why.
    #[error("{0}")]
    Invalid(String),
    #[error("an account with this email exists already")]
    EmailTaken,
    #[error("the email or the password is wrong")]
    WrongCredentials,
    /// Too many password checks are running; try again in a moment.
    #[error("too many password checks are running")]
    Busy,
    /// A broken store, a bug: the cause is for the log only.
    #[error("the site's accounts failed")]
    Internal(#[source] Cause),
}

impl AccountError {
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }
}

/// The site's own accounts and sessions.
#[async_trait]
pub trait Accounts: Send + Sync {
    async fn sign_up(&self, email: &str, password: &str) -> Result<Account, AccountError>;
    /// The email as accounts keep it (trimmed, lower-cased), if it is one.
    fn check_email(&self, email: &str) -> Result<String, AccountError>;
    /// Changes the account's email (`EmailTaken` if another account has it).
    async fn change_email(&self, account_id: &str, email: &str) -> Result<(), AccountError>;
    async fn check_password(&self, email: &str, password: &str) -> Result<Account, AccountError>;
    async fn find_by_email(&self, email: &str) -> Result<Option<Account>, AccountError>;
    async fn find_by_external_id(&self, external_id: &str)
        -> Result<Option<Account>, AccountError>;
    /// The account's external id, assigned (a new UUID) if it has none.
    async fn ensure_external_id(&self, account_id: &str) -> Result<String, AccountError>;
    /// A new session for the account; returns the cookie's token.
    async fn start_session(&self, account_id: &str) -> Result<String, AccountError>;
    async fn session_account(&self, token: &str) -> Result<Option<Account>, AccountError>;
    async fn end_session(&self, token: &str) -> Result<(), AccountError>;
}

/// Everything the site's server functions reach, as one context value.
#[derive(Clone)]
pub struct Site {
    pub accounts: Arc<dyn Accounts>,
    pub passkeys: Arc<dyn PasskeyBackend>,
    /// The Latchkey app the site's passkeys belong to (public: the browser uses it).
    pub app_id: String,
    /// Whether the session cookie is `Secure` (off only on http://localhost).
    pub secure_cookies: bool,
}
