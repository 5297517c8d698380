//! One error type for the REST API: every `FlexError` becomes a status and a
//! stable code (Passage's where Passage had one) in one `match`.

use app::wire::ErrorBody;
use axum::{
    extract::rejection::JsonRejection,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

use crate::flex::FlexError;

#[derive(Debug)]
pub enum ApiError {
    Flex(FlexError),
    PayloadTooLarge,
    /// No route has the path (the documented routes are in `/v1/openapi.json`).
    NoRoute,
    /// Too many requests: wait this long.
    RateLimited(std::time::Duration),
}

impl From<FlexError> for ApiError {
    fn from(error: FlexError) -> Self {
        Self::Flex(error)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::PayloadTooLarge;
        }
        Self::Flex(FlexError::invalid(rejection.body_text()))
    }
}

impl ApiError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use FlexError as E;
        let error = match self {
            Self::Flex(error) => error,
            Self::PayloadTooLarge => return (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::NoRoute => return (StatusCode::NOT_FOUND, "not_found"),
            Self::RateLimited(_) => return (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        };
        let status = match error {
            E::InvalidRequest(_) | E::RegistrationFailed(_) => StatusCode::BAD_REQUEST,
            E::InvalidAccessToken
            | E::InvalidNonce
            | E::LoginFailed(_)
            | E::DiscoverableLoginFailed(_)
            | E::CredentialNotFound(_) => StatusCode::UNAUTHORIZED,
            E::AppNotFound
            | E::UserNotFound
            | E::DeviceNotFound
            | E::TransactionNotFound
            | E::HandshakeNotFound
            | E::WebhookNotFound => StatusCode::NOT_FOUND,
            E::ActionMismatch | E::AuthenticatorNotAllowed(_) => StatusCode::FORBIDDEN,
            E::UserHasNoPasskeys | E::CredentialAlreadyRegistered | E::TooManyPasskeys(_) => {
                StatusCode::CONFLICT
            }
            E::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, error.code())
    }
}

impl ApiError {
    /// The body callers get: the code and a sentence for people (never an
    /// internal cause: that goes to the log).
    pub fn body(&self) -> ErrorBody {
        let error = match self {
            Self::Flex(FlexError::Internal(_)) => {
                "Something went wrong on our side. Try again; if it keeps failing, tell the operator.".to_owned()
            }
            Self::Flex(other) => other.to_string(),
            Self::PayloadTooLarge => "The request body is too large.".to_owned(),
            Self::NoRoute => {
                "No such API route: the routes are in /v1/openapi.json.".to_owned()
            }
            Self::RateLimited(wait) => {
                format!("Too many requests: try again in {} s.", wait.as_secs() + 1)
            }
        };
        let credential_id = match self {
            Self::Flex(FlexError::CredentialNotFound(id)) => Some(id.clone()),
            _ => None,
        };
        ErrorBody {
            code: self.status_and_code().1.to_owned(),
            error,
            credential_id,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Flex(FlexError::Internal(cause)) = &self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        // The request span carries the request id the answer's `x-request-id` names.
        match &self {
            Self::Flex(error) if error.cause().is_some() => {
                tracing::info!(
                    status = status.as_u16(),
                    code,
                    cause = error.cause(),
                    "ceremony refused"
                );
            }
            _ => tracing::debug!(status = status.as_u16(), code, "request refused"),
        }
        let mut response = (status, Json(self.body())).into_response();
        if let Self::RateLimited(wait) = self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, (wait.as_secs() + 1).into());
        }
        response
    }
}
