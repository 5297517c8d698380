//! What can go wrong in the Flex core, one variant per thing a caller can act on.

#[derive(Debug, thiserror::Error)]
pub enum FlexError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("The API key is missing, revoked, or not a key of this app.")]
    InvalidAccessToken,
    #[error("The nonce is unknown, expired, or already used.")]
    InvalidNonce,
    #[error("The nonce does not approve this action: it is of a plain sign-in or of another action. It was not used up.")]
    ActionMismatch,
    #[error("The app does not exist.")]
    AppNotFound,
    #[error("The user does not exist.")]
    UserNotFound,
    #[error("The passkey does not exist.")]
    DeviceNotFound,
    #[error("The transaction is unknown, expired, or already used.")]
    TransactionNotFound,
    #[error("The handshake is unknown, expired, or already finished.")]
    HandshakeNotFound,
    #[error("The webhook does not exist.")]
    WebhookNotFound,
    #[error("The user has no passkeys.")]
    UserHasNoPasskeys,
    /// The cause is for the log only: callers get the fixed sentence.
    #[error("The passkey could not be registered.")]
    RegistrationFailed(String),
    /// The app's authenticator policy refuses this authenticator (its AAGUID,
    /// or an attestation that is missing or not trusted); the cause is for the log.
    #[error("This app does not accept passkeys from this authenticator.")]
    AuthenticatorNotAllowed(String),
    #[error("This passkey is already registered.")]
    CredentialAlreadyRegistered,
    #[error(
        "The user already has {0} passkeys, the most this app allows: remove one before adding another."
    )]
    TooManyPasskeys(i64),
    #[error("The sign-in with a passkey failed.")]
    LoginFailed(String),
    #[error("The sign-in with a discoverable passkey failed.")]
    DiscoverableLoginFailed(String),
    /// A discoverable sign-in with a credential this app does not know (its
    /// id, base64url): it was removed here, or never registered.
    #[error(
        "This passkey is not registered here (it may have been removed): sign in another way."
    )]
    CredentialNotFound(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl FlexError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }

    /// Why a ceremony was refused, for the log: webauthn-rs's words, which
    /// callers do not see (they get the code and a fixed sentence).
    pub fn cause(&self) -> Option<&str> {
        match self {
            Self::RegistrationFailed(cause)
            | Self::AuthenticatorNotAllowed(cause)
            | Self::LoginFailed(cause)
            | Self::DiscoverableLoginFailed(cause) => Some(cause),
            _ => None,
        }
    }

    /// The stable code callers branch on (Passage's, where Passage had one).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::RegistrationFailed(_) => "webauthn_registration_failed",
            Self::InvalidAccessToken => "invalid_access_token",
            Self::InvalidNonce => "invalid_nonce",
            Self::ActionMismatch => "action_mismatch",
            Self::LoginFailed(_) => "webauthn_login_failed",
            Self::DiscoverableLoginFailed(_) => "discoverable_login_failed",
            Self::CredentialNotFound(_) => "credential_not_found",
            Self::AppNotFound => "app_not_found",
            Self::UserNotFound => "user_not_found",
            Self::DeviceNotFound => "device_not_found",
            Self::TransactionNotFound => "transaction_not_found",
            Self::HandshakeNotFound => "handshake_not_found",
            Self::UserHasNoPasskeys => "user_has_no_passkeys",
            Self::WebhookNotFound => "webhook_not_found",
            Self::CredentialAlreadyRegistered => "credential_already_registered",
            Self::AuthenticatorNotAllowed(_) => "authenticator_not_allowed",
            Self::TooManyPasskeys(_) => "too_many_passkeys",
            Self::Internal(_) => "internal_server_error",
        }
    }
}

impl From<sqlx::Error> for FlexError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(anyhow::Error::new(error).context("database"))
    }
}

impl From<serde_json::Error> for FlexError {
    fn from(error: serde_json::Error) -> Self {
        Self::Internal(anyhow::Error::new(error).context("stored JSON"))
    }
}
