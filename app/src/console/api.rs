//! The console's server functions (`/console/fn/*`): each finds the signed-in
//! operator from the session cookie (refusing without one: 401), makes one
//! call through `backend::Console`, and maps the error to a status and a
//! sentence for people. Forms post to them; without JavaScript, the server
//! redirects back to the page after the post.

// A form's fields are a server function's arguments: the app form has eight.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use super::{
    ApiKeyView, AppOverview, AppView, InviteCeremony, NewKeyView, OperatorView, UserDetail,
    UsersPageView,
};
use crate::wire::events::EventPage;

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use leptos::prelude::*;

    use crate::console::{
        backend::{Console, ConsoleError},
        OperatorView,
    };

    /// How long the session cookie is kept (the session itself may end sooner:
    /// idle, revoked, signed out).
    const COOKIE_MAX_AGE_SECS: i64 = 12 * 3600;

    /// Not the site's cookie: its own name, `Path=/console`, `SameSite=Strict`.
    pub fn session_cookie(console: &Console) -> &'static str {
        if console.secure_cookies {
            "__Secure-latchkey_console"
        } else {
            "latchkey_console"
        }
    }

    pub fn console() -> Result<Console, ServerFnError> {
        use_context::<Console>()
            .ok_or_else(|| error(ConsoleError::internal("no console in the Leptos context")))
    }

    fn failed(status: http::StatusCode, message: impl Into<String>) -> ServerFnError {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(status);
        }
        ServerFnError::ServerError(message.into())
    }

    /// A refusal: its status and sentence; our own failure: 500, a fixed
    /// sentence, the cause in the log only.
    pub fn error(error: ConsoleError) -> ServerFnError {
        match error {
            ConsoleError::NotSignedIn => failed(http::StatusCode::UNAUTHORIZED, error.to_string()),
            ConsoleError::Invalid(message) => failed(http::StatusCode::BAD_REQUEST, message),
            ConsoleError::NotFound(message) => failed(http::StatusCode::NOT_FOUND, message),
            ConsoleError::Internal(_) => {
                let mut chain = error.to_string();
                let mut source = std::error::Error::source(&error);
                while let Some(next) = source {
                    chain.push_str(": ");
                    chain.push_str(&next.to_string());
                    source = next.source();
                }
                tracing::error!(error = chain, "the console failed");
                failed(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side. Try again in a moment.",
                )
            }
        }
    }

    pub async fn session_token(console: &Console) -> Option<String> {
        crate::api::server::request_cookie(session_cookie(console))
    }

    /// The signed-in operator, or `None`.
    pub async fn current(console: &Console) -> Result<Option<OperatorView>, ServerFnError> {
        let Some(token) = session_token(console).await else {
            return Ok(None);
        };
        match console.backend.operator(&token).await {
            Ok(operator) => Ok(Some(operator)),
            Err(ConsoleError::NotSignedIn) => Ok(None),
            Err(other) => Err(error(other)),
        }
    }

    /// The signed-in operator; 401 without one.
    pub async fn operator() -> Result<(Console, OperatorView), ServerFnError> {
        let console = console()?;
        let operator = current(&console)
            .await?
            .ok_or_else(|| error(ConsoleError::NotSignedIn))?;
        Ok((console, operator))
    }

    pub fn set_cookie(console: &Console, value: &str, max_age: i64) {
        let secure = if console.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
            session_cookie(console)
        );
        if let (Some(response), Ok(cookie)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::HeaderValue::from_str(&cookie),
        ) {
            response.append_header(http::header::SET_COOKIE, cookie);
        }
    }

    /// Replaces the browser's session (if any) with a new one.
    pub async fn begin(console: &Console, token: &str) {
        if let Some(old) = session_token(console).await {
            let _ = console.backend.sign_out(&old).await;
        }
        set_cookie(console, token, COOKIE_MAX_AGE_SECS);
    }

    /// An optional number as typed in a form: blank is `None`.
    pub fn page_number(text: &str) -> Result<i64, ServerFnError> {
        match text.trim() {
            "" => Ok(1),
            text => text.parse().map_err(|_| {
                error(ConsoleError::Invalid(format!(
                    "page must be a number, not `{text}`"
                )))
            }),
        }
    }
}

/// The signed-in operator, if any.
#[server(prefix = "/console/fn", endpoint = "operator")]
pub async fn current_operator() -> Result<Option<OperatorView>, ServerFnError> {
    let console = server::console()?;
    server::current(&console).await
}

#[server(prefix = "/console/fn", endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    let console = server::console()?;
    if let Some(token) = server::session_token(&console).await {
        console
            .backend
            .sign_out(&token)
            .await
            .map_err(server::error)?;
    }
    server::set_cookie(&console, "", 0);
    leptos_axum::redirect("/console/signin");
    Ok(())
}

/// The console's own app id: the browser signs in to it.
#[server(prefix = "/console/fn", endpoint = "sign-in/start")]
pub async fn sign_in_start() -> Result<String, ServerFnError> {
    let console = server::console()?;
    console
        .backend
        .console_app_id()
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "sign-in/finish")]
pub async fn sign_in_finish(nonce: String) -> Result<(), ServerFnError> {
    let console = server::console()?;
    let token = console
        .backend
        .sign_in(&nonce)
        .await
        .map_err(server::error)?;
    server::begin(&console, &token).await;
    Ok(())
}

/// The name an invite is for, if it is live.
#[server(prefix = "/console/fn", endpoint = "invite")]
pub async fn check_invite(token: String) -> Result<String, ServerFnError> {
    let console = server::console()?;
    console
        .backend
        .check_invite(&token)
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "invite/start")]
pub async fn invite_start(token: String) -> Result<InviteCeremony, ServerFnError> {
    let console = server::console()?;
    console
        .backend
        .start_invite(&token)
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "invite/finish")]
pub async fn invite_finish(token: String, nonce: String) -> Result<(), ServerFnError> {
    let console = server::console()?;
    let session = console
        .backend
        .finish_invite(&token, &nonce)
        .await
        .map_err(server::error)?;
    server::begin(&console, &session).await;
    Ok(())
}

#[server(prefix = "/console/fn", endpoint = "apps")]
pub async fn list_apps() -> Result<Vec<AppView>, ServerFnError> {
    let (console, by) = server::operator().await?;
    console.backend.list_apps(&by).await.map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "app")]
pub async fn get_app(app_id: String) -> Result<AppView, ServerFnError> {
    let (console, by) = server::operator().await?;
    console
        .backend
        .app(&by, &app_id)
        .await
        .map_err(server::error)
}

/// Creates an app and its first API key (shown once).
#[server(prefix = "/console/fn", endpoint = "apps/create")]
pub async fn create_app(
    name: String,
    origins: String,
    #[server(default)] related_origins: String,
    rp_id: String,
    webauthn_timeout: String,
    transaction_ttl: String,
    nonce_ttl: String,
    max_passkeys: String,
) -> Result<NewKeyView, ServerFnError> {
    let (console, by) = server::operator().await?;
    let form = super::AppForm {
        name,
        origins,
        related_origins,
        rp_id,
        webauthn_timeout,
        transaction_ttl,
        nonce_ttl,
        max_passkeys,
    };
    console
        .backend
        .create_app(&by, &form)
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "apps/update")]
pub async fn update_app(
    app_id: String,
    name: String,
    origins: String,
    #[server(default)] related_origins: String,
    rp_id: String,
    webauthn_timeout: String,
    transaction_ttl: String,
    nonce_ttl: String,
    max_passkeys: String,
) -> Result<(), ServerFnError> {
    let (console, by) = server::operator().await?;
    let form = super::AppForm {
        name,
        origins,
        related_origins,
        rp_id,
        webauthn_timeout,
        transaction_ttl,
        nonce_ttl,
        max_passkeys,
    };
    console
        .backend
        .update_app(&by, &app_id, &form)
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "keys")]
pub async fn list_keys(app_id: String) -> Result<Vec<ApiKeyView>, ServerFnError> {
    let (console, by) = server::operator().await?;
    console
        .backend
        .list_keys(&by, &app_id)
        .await
        .map_err(server::error)
}

/// An app's webhook endpoints and their recent deliveries.
#[server(prefix = "/console/fn", endpoint = "webhooks")]
pub async fn list_webhooks(
    app_id: String,
) -> Result<Vec<crate::wire::webhooks::WebhookDeliveries>, ServerFnError> {
    let (console, by) = server::operator().await?;
    console
        .backend
        .webhooks(&by, &app_id)
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "keys/create")]
pub async fn create_key(app_id: String) -> Result<NewKeyView, ServerFnError> {
    let (console, by) = server::operator().await?;
    console
        .backend
        .create_key(&by, &app_id)
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "keys/revoke")]
pub async fn revoke_key(app_id: String, key_id: String) -> Result<(), ServerFnError> {
    let (console, by) = server::operator().await?;
    console
        .backend
        .revoke_key(&by, &app_id, &key_id)
        .await
        .map_err(server::error)
}

/// Turns an app's signed results on (`on` = `true`) or off (`false`).
#[server(prefix = "/console/fn", endpoint = "apps/signed-results")]
pub async fn set_signed_results(app_id: String, on: String) -> Result<(), ServerFnError> {
    let (console, by) = server::operator().await?;
    let on = match on.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(server::error(super::backend::ConsoleError::Invalid(
                format!("on must be true or false, not `{other}`"),
            )))
        }
    };
    console
        .backend
        .set_signed_results(&by, &app_id, on)
        .await
        .map_err(server::error)
}

/// Sets an app's authenticator policy: `mode` none, allow or deny; `aaguids`
/// one a line; `attested_only` `true` or `false`.
#[server(prefix = "/console/fn", endpoint = "apps/authenticator-policy")]
pub async fn set_authenticator_policy(
    app_id: String,
    mode: String,
    aaguids: String,
    attested_only: String,
) -> Result<(), ServerFnError> {
    let (console, by) = server::operator().await?;
    let attested_only = match attested_only.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(server::error(super::backend::ConsoleError::Invalid(
                format!("attested_only must be true or false, not `{other}`"),
            )))
        }
    };
    console
        .backend
        .set_authenticator_policy(&by, &app_id, &mode, &aaguids, attested_only)
        .await
        .map_err(server::error)
}

/// Rotates an app's signing key: the new key's id.
#[server(prefix = "/console/fn", endpoint = "apps/rotate-signing-key")]
pub async fn rotate_signing_key(app_id: String) -> Result<String, ServerFnError> {
    let (console, by) = server::operator().await?;
    console
        .backend
        .rotate_signing_key(&by, &app_id)
        .await
        .map_err(server::error)
}

/// A page of an app's users whose external id starts with `q`.
#[server(prefix = "/console/fn", endpoint = "users")]
pub async fn list_users(
    app_id: String,
    q: String,
    page: String,
) -> Result<UsersPageView, ServerFnError> {
    let (console, by) = server::operator().await?;
    let page = server::page_number(&page)?;
    console
        .backend
        .users(&by, &app_id, &q, page)
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "user")]
pub async fn get_user(app_id: String, user_id: String) -> Result<UserDetail, ServerFnError> {
    let (console, by) = server::operator().await?;
    console
        .backend
        .user(&by, &app_id, &user_id)
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "passkeys/rename")]
pub async fn rename_passkey(
    app_id: String,
    user_id: String,
    device_id: String,
    name: String,
) -> Result<(), ServerFnError> {
    let (console, by) = server::operator().await?;
    console
        .backend
        .rename_passkey(&by, &app_id, &user_id, &device_id, &name)
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "passkeys/revoke")]
pub async fn revoke_passkey(
    app_id: String,
    user_id: String,
    device_id: String,
) -> Result<(), ServerFnError> {
    let (console, by) = server::operator().await?;
    console
        .backend
        .revoke_passkey(&by, &app_id, &user_id, &device_id)
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "passkeys/revoke-all")]
pub async fn revoke_all_passkeys(app_id: String, user_id: String) -> Result<u64, ServerFnError> {
    let (console, by) = server::operator().await?;
    console
        .backend
        .revoke_all_passkeys(&by, &app_id, &user_id)
        .await
        .map_err(server::error)
}

/// A page of the audit log (blank filters: any).
#[server(prefix = "/console/fn", endpoint = "events")]
pub async fn list_events(
    app: String,
    event_type: String,
    outcome: String,
    user: String,
    ip: String,
    since: String,
    until: String,
    cursor: String,
) -> Result<EventPage, ServerFnError> {
    let (console, by) = server::operator().await?;
    let filter = super::EventsFilter {
        app,
        event_type,
        outcome,
        user,
        ip,
        since,
        until,
        cursor,
    };
    console
        .backend
        .events(&by, &filter)
        .await
        .map_err(server::error)
}

#[server(prefix = "/console/fn", endpoint = "overview")]
pub async fn overview() -> Result<Vec<AppOverview>, ServerFnError> {
    let (console, by) = server::operator().await?;
    console.backend.overview(&by).await.map_err(server::error)
}
