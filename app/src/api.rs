//! The site's server functions: each parses, makes one or two calls through
//! `backend::Site`, and maps the error to a status and a sentence for people:
//! refusals are 4xx with what to do; our own failures are 500 with one fixed
//! sentence, their cause logged and never sent.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in account, as pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub email: String,
}

/// A passkey of the account, as the account page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub provider: Option<String>,
    pub icon_light: Option<String>,
    pub icon_dark: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; `None` if never used.
    pub last_used_at: Option<String>,
    /// Synced (backed up) across the person's devices.
    pub synced: bool,
}

/// What a plain form post (no script) leaves for the page it returns to: the
/// email that was typed (never a password) and what went wrong.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormEcho {
    /// The path of the page whose form it was.
    pub page: String,
    pub email: String,
    pub error: String,
}

#[cfg(feature = "ssr")]
pub mod server {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use leptos::prelude::*;

    use super::{Approval, FormEcho};

    use crate::backend::{Account, AccountError, BackendError, Site};

    /// The session cookie's name: `__Host-` prefixed where the cookie can be
    /// `Secure` (bound to this host, `Path=/`, no `Domain`).
    pub fn session_cookie(site: &Site) -> &'static str {
        if site.secure_cookies {
            "__Host-latchkey_site_session"
        } else {
            "latchkey_site_session"
        }
    }

    pub fn site() -> Result<Site, ServerFnError> {
        use_context::<Site>().ok_or_else(|| {
            let missing: crate::backend::Cause = "no site in the Leptos context".into();
            internal("the site", &*missing)
        })
    }

    /// A refusal people can act on: 400, and the sentence to show them.
    pub fn refused(message: impl Into<String>) -> ServerFnError {
        failed(http::StatusCode::BAD_REQUEST, message)
    }

    fn failed(status: http::StatusCode, message: impl Into<String>) -> ServerFnError {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(status);
        }
        ServerFnError::ServerError(message.into())
    }

    /// Try again in a second: 503 or 429 with `Retry-After: 1`.
    fn come_back(status: http::StatusCode, message: &str) -> ServerFnError {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.insert_header(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
        }
        failed(status, message)
    }

    /// What the browser is told when the failure is ours: 500 and a fixed
    /// sentence. The cause, with its sources, goes to the log only.
    const SOMETHING_WENT_WRONG: &str = "Something went wrong on our side. Try again in a moment.";

    fn internal(part: &str, cause: &(dyn std::error::Error + 'static)) -> ServerFnError {
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(next) = source {
            chain.push_str(": ");
            chain.push_str(&next.to_string());
            source = next.source();
        }
        tracing::error!(error = chain, "{part} failed");
        failed(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            SOMETHING_WENT_WRONG,
        )
    }

    pub fn account_error(error: AccountError) -> ServerFnError {
        match error {
            AccountError::Invalid(message) => refused(message),
            AccountError::EmailTaken => {
                refused("An account with this email exists already. Sign in instead.")
            }
            AccountError::WrongCredentials => refused("The email or the password is wrong."),
            AccountError::Busy => come_back(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy. Try again in a moment.",
            ),
            AccountError::Internal(_) => internal("the site's accounts", &error),
        }
    }

    pub fn passkey_error(error: BackendError) -> ServerFnError {
        match error {
            BackendError::InvalidNonce => {
                refused("That passkey confirmation is no longer valid. Try again.")
            }
            BackendError::ActionMismatch => refused(
                "That passkey approval was for something else. Nothing was changed; try again.",
            ),
            BackendError::UserHasNoPasskeys | BackendError::UserNotFound => {
                refused("No passkey is registered for this email. Sign in with your password.")
            }
            BackendError::DeviceNotFound => refused("That passkey is not on your account any more."),
            BackendError::Invalid(message) => refused(message),
            BackendError::TooManyPasskeys => failed(
                http::StatusCode::CONFLICT,
                "This account has as many passkeys as it may hold. Remove one before adding another.",
            ),
            BackendError::RateLimited => come_back(
                http::StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts. Wait a moment, then try again.",
            ),
            BackendError::Internal(_) => internal("the passkey backend", &error),
        }
    }

    async fn session_token(site: &Site) -> Option<String> {
        request_cookie(session_cookie(site))
    }

    /// The value of the cookie `name` in the request the server function
    /// serves (the site's and the console's session cookies).
    pub(crate) fn request_cookie(name: &str) -> Option<String> {
        use_context::<http::request::Parts>()?
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .find_map(|pair| {
                pair.trim()
                    .strip_prefix(name)?
                    .strip_prefix('=')
                    .map(str::to_owned)
            })
    }

    /// The signed-in account, if the session cookie names a live session.
    pub async fn current(site: &Site) -> Result<Option<Account>, ServerFnError> {
        match session_token(site).await {
            Some(token) => site
                .accounts
                .session_account(&token)
                .await
                .map_err(account_error),
            None => Ok(None),
        }
    }

    /// The signed-in account's external id; an account that never added a passkey has none.
    pub async fn signed_in_external_id(site: &Site) -> Result<String, ServerFnError> {
        signed_in(site)
            .await?
            .external_id
            .ok_or_else(|| refused("This account has no passkeys."))
    }

    /// An approval as the account page may ask for it: an email in the form
    /// accounts keep it (so that the approved action and the change match).
    pub fn checked(site: &Site, approval: Approval) -> Result<Approval, ServerFnError> {
        Ok(match approval {
            Approval::ChangeEmail { email } => Approval::ChangeEmail {
                email: site.accounts.check_email(&email).map_err(account_error)?,
            },
            other => other,
        })
    }

    /// The action a passkey approves, as Latchkey is given it.
    pub fn action(approval: &Approval) -> serde_json::Value {
        serde_json::to_value(approval).unwrap_or_default()
    }

    /// Takes a step-up's nonce if it approves exactly `approval` and is the
    /// account's own; returns the account's external id.
    pub async fn approved(
        site: &Site,
        account: &Account,
        nonce: &str,
        approval: &Approval,
    ) -> Result<String, ServerFnError> {
        let external_id = site
            .passkeys
            .verify_nonce(nonce, Some(&action(approval)))
            .await
            .map_err(passkey_error)?;
        if account.external_id.as_deref() != Some(external_id.as_str()) {
            return Err(refused("That passkey belongs to another account."));
        }
        Ok(external_id)
    }

    pub async fn signed_in(site: &Site) -> Result<Account, ServerFnError> {
        current(site)
            .await?
            .ok_or_else(|| refused("You are signed out. Sign in again to continue."))
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax, `Secure` where the site is.
    pub fn cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> String {
        let secure = if secure { "; Secure" } else { "" };
        format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
    }

    fn append_cookie(cookie: &str) {
        if let (Some(response), Ok(cookie)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::HeaderValue::from_str(cookie),
        ) {
            response.append_header(http::header::SET_COOKIE, cookie);
        }
    }

    fn set_cookie(site: &Site, value: &str, max_age: i64) {
        append_cookie(&cookie(
            session_cookie(site),
            value,
            "/",
            max_age,
            site.secure_cookies,
        ));
    }

    /// The cookie a plain form post's refusal leaves for its page (`FormEcho`).
    const FORM_ECHO: &str = "latchkey_form";
    /// The cookie that tells the account page the person just used their
    /// password: the moment to offer a passkey (an automatic upgrade).
    const AFTER_PASSWORD: &str = "latchkey_after_password";

    /// The page a plain HTML form post (the browser asked for HTML, not a
    /// script) goes back to: its `Referer`'s path on this site. `None` for a
    /// script's call.
    pub fn form_post_page(headers: &http::HeaderMap) -> Option<String> {
        let html = headers
            .get(http::header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        let referer = headers.get(http::header::REFERER)?.to_str().ok()?;
        let path = referer.parse::<http::Uri>().ok()?.path().to_owned();
        (html && path.starts_with('/') && !path.starts_with("//")).then_some(path)
    }

    /// The `Set-Cookie` that carries `echo` back to its page (one minute).
    pub fn form_echo_cookie(echo: &FormEcho, secure: bool) -> String {
        let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(echo).unwrap_or_default());
        cookie(FORM_ECHO, &value, "/", 60, secure)
    }

    /// Whether a response sends a plain form back with its refusal.
    pub fn is_form_refusal(headers: &http::HeaderMap) -> bool {
        let prefix = format!("{FORM_ECHO}=");
        headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|cookie| cookie.to_str().ok()?.strip_prefix(prefix.as_str()))
            .any(|rest| !rest.starts_with(';'))
    }

    /// What this page's own form left after a refused plain post, taken once.
    pub fn take_form_echo(page: &str) -> Option<FormEcho> {
        let value = request_cookie(FORM_ECHO)?;
        append_cookie(&cookie(FORM_ECHO, "", "/", 0, false));
        let echo: FormEcho = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(value).ok()?).ok()?;
        (echo.page == page).then_some(echo)
    }

    /// Whether the person just signed in (or up) with their password, asked
    /// once: the account page offers a passkey then.
    pub fn take_after_password() -> bool {
        let marked = request_cookie(AFTER_PASSWORD).is_some();
        if marked {
            append_cookie(&cookie(AFTER_PASSWORD, "", "/", 0, false));
        }
        marked
    }

    /// 303 See Other to `path`.
    fn see_other(path: &str) {
        if let (Some(response), Ok(path)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::HeaderValue::from_str(path),
        ) {
            response.set_status(http::StatusCode::SEE_OTHER);
            response.insert_header(http::header::LOCATION, path);
        }
    }

    /// A password form's answer. To a script, `result` as it is. To a plain
    /// HTML form post: a 303 to `done` on success; on a refusal a 303 back to
    /// the form's page, which shows what went wrong and keeps the email.
    pub fn form_answer(
        site: &Site,
        email: &str,
        result: Result<(), ServerFnError>,
        done: &str,
    ) -> Result<(), ServerFnError> {
        let Some(page) =
            use_context::<http::request::Parts>().and_then(|parts| form_post_page(&parts.headers))
        else {
            return result;
        };
        match result {
            Ok(()) => see_other(done),
            Err(error) => {
                let echo = FormEcho {
                    page: page.clone(),
                    email: email.to_owned(),
                    error: crate::pages::message(&error),
                };
                append_cookie(&form_echo_cookie(&echo, site.secure_cookies));
                see_other(&page);
            }
        }
        Ok(())
    }

    /// A password sign-up's or sign-in's session, and the form's answer: the
    /// account page next, which offers a passkey then (`take_after_password`).
    pub async fn password_session(
        site: &Site,
        email: &str,
        account: Result<Account, AccountError>,
    ) -> Result<(), ServerFnError> {
        let result = async {
            let account = account.map_err(account_error)?;
            begin_session(site, &account).await?;
            append_cookie(&cookie(AFTER_PASSWORD, "1", "/", 300, site.secure_cookies));
            Ok(())
        }
        .await;
        form_answer(site, email, result, "/account")
    }

    /// Starts a new session for the account (a new token, so a session id never
    /// survives a sign-in) and ends the one the browser had, if any.
    pub async fn begin_session(site: &Site, account: &Account) -> Result<(), ServerFnError> {
        if let Some(old) = session_token(site).await {
            site.accounts
                .end_session(&old)
                .await
                .map_err(account_error)?;
        }
        let token = site
            .accounts
            .start_session(&account.id)
            .await
            .map_err(account_error)?;
        set_cookie(site, &token, 7 * 24 * 3600);
        Ok(())
    }

    pub async fn end_session(site: &Site) -> Result<(), ServerFnError> {
        if let Some(token) = session_token(site).await {
            site.accounts
                .end_session(&token)
                .await
                .map_err(account_error)?;
        }
        set_cookie(site, "", 0);
        Ok(())
    }
}

/// The Latchkey app id of the site's passkeys (the browser client needs it).
#[server(prefix = "/site", endpoint = "passkey-app")]
pub async fn passkey_app_id() -> Result<String, ServerFnError> {
    Ok(server::site()?.app_id)
}

#[server(prefix = "/site", endpoint = "account")]
pub async fn current_account() -> Result<Option<AccountView>, ServerFnError> {
    let site = server::site()?;
    Ok(server::current(&site).await?.map(|account| AccountView {
        email: account.email,
    }))
}

/// Makes an account and signs it in. The sign-up page posts here as a plain
/// form: a 303 to the account page, or back with what went wrong.
#[server(prefix = "/site", endpoint = "sign-up")]
pub async fn sign_up(email: String, password: String) -> Result<(), ServerFnError> {
    let site = server::site()?;
    let account = site.accounts.sign_up(&email, &password).await;
    server::password_session(&site, &email, account).await
}

/// Signs in with the password. The sign-in page posts here as a plain form: a
/// 303 to the account page, or back with what went wrong.
#[server(prefix = "/site", endpoint = "sign-in")]
pub async fn sign_in(email: String, password: String) -> Result<(), ServerFnError> {
    let site = server::site()?;
    let account = site.accounts.check_password(&email, &password).await;
    server::password_session(&site, &email, account).await
}

/// Ends the session; a plain form post then goes to the home page.
#[server(prefix = "/site", endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    let site = server::site()?;
    let result = server::end_session(&site).await;
    server::form_answer(&site, "", result, "/")
}

/// The guide's `/passkey/add`: a register transaction for the signed-in account.
#[server(prefix = "/site", endpoint = "passkey/add")]
pub async fn add_passkey() -> Result<String, ServerFnError> {
    let site = server::site()?;
    let account = server::signed_in(&site).await?;
    let external_id = site
        .accounts
        .ensure_external_id(&account.id)
        .await
        .map_err(server::account_error)?;
    site.passkeys
        .create_register_transaction(&external_id, &account.email)
        .await
        .map_err(server::passkey_error)
}

/// Confirms that a new passkey's nonce belongs to the signed-in account.
#[server(prefix = "/site", endpoint = "passkey/added")]
pub async fn passkey_added(nonce: String) -> Result<(), ServerFnError> {
    let site = server::site()?;
    let account = server::signed_in(&site).await?;
    let external_id = site
        .passkeys
        .verify_nonce(&nonce, None)
        .await
        .map_err(server::passkey_error)?;
    if account.external_id.as_deref() != Some(external_id.as_str()) {
        return Err(server::refused("That passkey belongs to another account."));
    }
    Ok(())
}

/// Identifier-first sign-in: an authenticate transaction for the account with this email.
#[server(prefix = "/site", endpoint = "passkey/sign-in/start")]
pub async fn passkey_sign_in_start(email: String) -> Result<String, ServerFnError> {
    let site = server::site()?;
    let no_passkey =
        || server::refused("No passkey is registered for this email. Sign in with your password.");
    let account = site
        .accounts
        .find_by_email(&email)
        .await
        .map_err(server::account_error)?
        .ok_or_else(no_passkey)?;
    let external_id = account.external_id.ok_or_else(no_passkey)?;
    site.passkeys
        .create_authenticate_transaction(&external_id, None)
        .await
        .map_err(server::passkey_error)
}

/// Trades a sign-in nonce for a session.
#[server(prefix = "/site", endpoint = "passkey/sign-in/finish")]
pub async fn passkey_sign_in_finish(nonce: String) -> Result<(), ServerFnError> {
    let site = server::site()?;
    let external_id = site
        .passkeys
        .verify_nonce(&nonce, None)
        .await
        .map_err(server::passkey_error)?;
    let account = site
        .accounts
        .find_by_external_id(&external_id)
        .await
        .map_err(server::account_error)?
        .ok_or_else(|| server::refused("That passkey's account no longer exists."))?;
    server::begin_session(&site, &account).await
}

#[server(prefix = "/site", endpoint = "passkeys")]
pub async fn list_passkeys() -> Result<Vec<PasskeyView>, ServerFnError> {
    let site = server::site()?;
    let account = server::signed_in(&site).await?;
    match account.external_id {
        Some(external_id) => site
            .passkeys
            .list_devices(&external_id)
            .await
            .map_err(server::passkey_error),
        None => Ok(Vec::new()),
    }
}

/// What this browser passes to the WebAuthn Signal API for the signed-in
/// account (none before its first passkey): only ever its own credential ids.
#[server(prefix = "/site", endpoint = "passkey/signals")]
pub async fn passkey_signals() -> Result<Option<crate::wire::WebauthnSignals>, ServerFnError> {
    let site = server::site()?;
    let account = server::signed_in(&site).await?;
    match account.external_id {
        Some(external_id) => site
            .passkeys
            .webauthn_signals(&external_id)
            .await
            .map(Some)
            .map_err(server::passkey_error),
        None => Ok(None),
    }
}

#[server(prefix = "/site", endpoint = "passkey/rename")]
pub async fn rename_passkey(id: String, name: String) -> Result<(), ServerFnError> {
    let site = server::site()?;
    let external_id = server::signed_in_external_id(&site).await?;
    site.passkeys
        .rename_device(&external_id, &id, &name)
        .await
        .map_err(server::passkey_error)
}

/// What the account page asks a passkey to approve: a step-up's action, as
/// JSON `{"type": "remove_passkey", "passkey_id": …}` or
/// `{"type": "change_email", "email": …}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Approval {
    RemovePasskey { passkey_id: String },
    ChangeEmail { email: String },
}

/// Step-up: a transaction whose passkey sign-in approves exactly `approval`,
/// for the signed-in account's passkeys only.
#[server(prefix = "/site", endpoint = "approval/start", input = leptos::server_fn::codec::Json)]
pub async fn approval_start(approval: Approval) -> Result<String, ServerFnError> {
    let site = server::site()?;
    let external_id = server::signed_in_external_id(&site).await?;
    let approval = server::checked(&site, approval)?;
    site.passkeys
        .create_authenticate_transaction(&external_id, Some(&server::action(&approval)))
        .await
        .map_err(server::passkey_error)
}

/// Removes a passkey of the signed-in account, approved by a passkey (the
/// nonce of `approval_start` for this removal).
#[server(prefix = "/site", endpoint = "passkey/remove")]
pub async fn remove_passkey(id: String, nonce: String) -> Result<(), ServerFnError> {
    let site = server::site()?;
    let account = server::signed_in(&site).await?;
    let approval = Approval::RemovePasskey {
        passkey_id: id.clone(),
    };
    let external_id = server::approved(&site, &account, &nonce, &approval).await?;
    site.passkeys
        .revoke_device(&external_id, &id)
        .await
        .map_err(server::passkey_error)
}

/// Changes the signed-in account's email: approved by a passkey (the nonce of
/// `approval_start` for this email) when the account has one, else with its
/// password. Returns the email as kept.
#[server(prefix = "/site", endpoint = "account/email")]
pub async fn change_email(
    email: String,
    nonce: Option<String>,
    password: Option<String>,
) -> Result<String, ServerFnError> {
    let site = server::site()?;
    let account = server::signed_in(&site).await?;
    let email = site
        .accounts
        .check_email(&email)
        .map_err(server::account_error)?;
    let has_passkeys = match &account.external_id {
        Some(external_id) => !site
            .passkeys
            .list_devices(external_id)
            .await
            .map_err(server::passkey_error)?
            .is_empty(),
        None => false,
    };
    match (has_passkeys, nonce, password) {
        (true, Some(nonce), _) => {
            let approval = Approval::ChangeEmail {
                email: email.clone(),
            };
            server::approved(&site, &account, &nonce, &approval).await?;
        }
        (true, None, _) => {
            return Err(server::refused(
                "Approve the change with one of your passkeys.",
            ))
        }
        (false, _, password) => {
            site.accounts
                .check_password(&account.email, password.as_deref().unwrap_or_default())
                .await
                .map_err(|_| server::refused("The password is wrong."))?;
        }
    }
    site.accounts
        .change_email(&account.id, &email)
        .await
        .map_err(server::account_error)?;
    // The passkeys show the email as their name: the next signals carry the new one.
    if let Some(external_id) = &account.external_id {
        site.passkeys
            .rename_user(external_id, &email)
            .await
            .map_err(server::passkey_error)?;
    }
    Ok(email)
}
