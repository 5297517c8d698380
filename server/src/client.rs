//! A Rust backend client for Latchkey's management API, shaped like Passage's
//! `passage_flex` crate: `flex.auth.*` for transactions and nonces,
//! `flex.user.*` for users and their passkeys (by external id).
//!
//! ```no_run
//! # async fn demo() -> Result<(), latchkey::client::ClientError> {
//! let flex = latchkey::client::LatchkeyFlex::new("https://auth.example.com", "APP_ID", "lk_…");
//! let transaction_id = flex.auth.create_register_transaction("user-42", "ada@example.com").await?;
//! # Ok(()) }
//! ```

pub use app::wire::events::{EventPage, EventQuery};
pub use app::wire::webhooks::{
    CreateWebhookRequest, Webhook, WebhookAttempt, WebhookList, WebhookMessage, WebhookMessageList,
    WebhookWithSecret,
};
/// What `well_known_webauthn` returns: the related origins document.
pub use app::wire::WellKnownWebauthn;
use app::wire::{
    CreateAuthenticateTransactionRequest, CreateRegisterTransactionRequest, DeviceResponse,
    DevicesResponse, ErrorBody, RenameDeviceRequest, RenameUserRequest, TransactionResponse,
    UserListQuery, UserListResponse, UserResponse, VerifyNonceRequest, VerifyNonceResponse,
    WebauthnSignals,
};
/// What `user.get` and `user.list_devices` return: the API's own JSON.
pub use app::wire::{Device, Icons, UserInfo};
/// What `jwks` returns: an app's public signing keys.
pub use app::wire::{Jwk, Jwks};
use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Latchkey answered with an error: its status, stable code and message.
    #[error("{status} {code}: {message}")]
    Api {
        status: StatusCode,
        code: String,
        message: String,
    },
    #[error("no user has this external id")]
    UserNotFound,
    /// An id that cannot be one path segment (empty, `.` or `..`): refused
    /// before anything is sent.
    #[error("not an id: {0:?}")]
    InvalidId(String),
    #[error("could not reach Latchkey")]
    Transport(#[from] reqwest::Error),
}

impl ClientError {
    /// The API's error code, if Latchkey answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            Self::UserNotFound => Some("user_not_found"),
            Self::InvalidId(_) => Some("invalid_id"),
            Self::Transport(_) => None,
        }
    }
}

/// One path segment: every byte but the unreserved ones percent-encoded, so
/// an id can never add, leave or climb out of a segment (`/`, `?`, `#`, `%`);
/// `.` and `..`, which URL parsing would resolve away, are refused.
fn segment(id: &str) -> Result<String, ClientError> {
    if matches!(id, "" | "." | "..") {
        return Err(ClientError::InvalidId(id.to_owned()));
    }
    Ok(id
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect())
}

/// No request body (`call`'s body type, when there is none).
const NO_BODY: Option<&()> = None;
const NO_QUERY: Option<&()> = None;

#[derive(Clone)]
struct Connection {
    http: reqwest::Client,
    /// Where Latchkey is served, without a trailing `/`.
    base_url: String,
    app_id: String,
    api_key: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("api_key", &"(redacted)")
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Calls `{base_url}/v1/apps/{app_id}/{segments…}?{query}`: the one place
    /// a URL is built, every segment (the app id too) through [`segment`].
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<&impl Serialize>,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let mut url = format!("{}/v1/apps/{}", self.base_url, segment(&self.app_id)?);
        for part in segments {
            url.push('/');
            url.push_str(&segment(part)?);
        }
        let mut request = self.http.request(method, url).bearer_auth(&self.api_key);
        if let Some(query) = query {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        if status.is_success() {
            let bytes = response.bytes().await?;
            let text = if bytes.is_empty() {
                b"null".as_slice()
            } else {
                &bytes
            };
            return serde_json::from_slice(text).map_err(|e| ClientError::Api {
                status,
                code: "unexpected_response".into(),
                message: e.to_string(),
            });
        }
        Err(api_error(status, response).await)
    }
}

/// The client: `auth` and `user`, like `passage_flex::PassageFlex`, and
/// Latchkey's `events` (the audit log).
#[derive(Clone, Debug)]
pub struct LatchkeyFlex {
    pub auth: Auth,
    pub user: User,
    pub events: Events,
    pub webhooks: Webhooks,
}

impl LatchkeyFlex {
    /// `base_url` is where Latchkey is served (for example `https://auth.example.com`).
    pub fn new(base_url: &str, app_id: &str, api_key: &str) -> Self {
        Self::with_client(reqwest::Client::new(), base_url, app_id, api_key)
    }

    pub fn with_client(http: reqwest::Client, base_url: &str, app_id: &str, api_key: &str) -> Self {
        let connection = Connection {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            app_id: app_id.to_owned(),
            api_key: api_key.to_owned(),
        };
        Self {
            auth: Auth(connection.clone()),
            user: User(connection.clone()),
            events: Events(connection.clone()),
            webhooks: Webhooks(connection),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Auth(Connection);

impl Auth {
    /// A transaction for adding a passkey to the user with this external id.
    pub async fn create_register_transaction(
        &self,
        external_id: &str,
        passkey_display_name: &str,
    ) -> Result<String, ClientError> {
        let body = CreateRegisterTransactionRequest {
            external_id: external_id.to_owned(),
            passkey_display_name: passkey_display_name.to_owned(),
        };
        let response: TransactionResponse = self
            .0
            .call(
                Method::POST,
                &["transactions", "register"],
                NO_QUERY,
                Some(&body),
            )
            .await?;
        Ok(response.transaction_id)
    }

    /// A transaction for signing in the user with this external id with one of
    /// their passkeys; `user_has_no_passkeys` if they have none.
    pub async fn create_authenticate_transaction(
        &self,
        external_id: &str,
    ) -> Result<String, ClientError> {
        self.authenticate_transaction(external_id, None).await
    }

    /// Step-up: a transaction whose sign-in approves exactly `action` (a JSON
    /// object, at most 4 KB); verify its nonce with [`Self::verify_step_up`].
    pub async fn create_step_up_transaction(
        &self,
        external_id: &str,
        action: &Value,
    ) -> Result<String, ClientError> {
        self.authenticate_transaction(external_id, Some(action))
            .await
    }

    async fn authenticate_transaction(
        &self,
        external_id: &str,
        action: Option<&Value>,
    ) -> Result<String, ClientError> {
        let body = CreateAuthenticateTransactionRequest {
            external_id: external_id.to_owned(),
            action: action.cloned(),
        };
        let response: TransactionResponse = self
            .0
            .call(
                Method::POST,
                &["transactions", "authenticate"],
                NO_QUERY,
                Some(&body),
            )
            .await?;
        Ok(response.transaction_id)
    }

    /// Trades a nonce from the browser, once, for the external id of its user.
    pub async fn verify_nonce(&self, nonce: &str) -> Result<String, ClientError> {
        Ok(self.verify(nonce, None).await?.external_id)
    }

    /// Trades a step-up's nonce, once, for the external id of its user, if it
    /// approves exactly `action`; else `action_mismatch` (403), and the nonce
    /// stays unused.
    pub async fn verify_step_up(&self, nonce: &str, action: &Value) -> Result<String, ClientError> {
        Ok(self.verify(nonce, Some(action)).await?.external_id)
    }

    async fn verify(
        &self,
        nonce: &str,
        action: Option<&Value>,
    ) -> Result<VerifyNonceResponse, ClientError> {
        let body = VerifyNonceRequest {
            nonce: nonce.to_owned(),
            action: action.cloned(),
        };
        self.0
            .call(
                Method::POST,
                &["authenticate", "verify"],
                NO_QUERY,
                Some(&body),
            )
            .await
    }
}

/// The app's audit log.
#[derive(Clone, Debug)]
pub struct Events(Connection);

impl Events {
    /// A page of the app's events, newest first; pass its `next_cursor` as the
    /// query's `cursor` for the next.
    pub async fn list(&self, query: &EventQuery) -> Result<EventPage, ClientError> {
        self.0
            .call(Method::GET, &["events"], Some(query), NO_BODY)
            .await
    }
}

/// The app's webhook endpoints (Standard Webhooks) and their deliveries.
#[derive(Clone, Debug)]
pub struct Webhooks(Connection);

impl Webhooks {
    /// Adds an endpoint for these event types (none: every type); the answer
    /// holds its secret, `whsec_…`, which is never shown again.
    pub async fn create(
        &self,
        url: &str,
        event_types: &[&str],
    ) -> Result<WebhookWithSecret, ClientError> {
        let body = CreateWebhookRequest {
            url: url.to_owned(),
            event_types: event_types.iter().map(|t| (*t).to_owned()).collect(),
        };
        self.0
            .call(Method::POST, &["webhooks"], NO_QUERY, Some(&body))
            .await
    }

    /// The app's endpoints (never their secrets).
    pub async fn list(&self) -> Result<Vec<Webhook>, ClientError> {
        let list: WebhookList = self
            .0
            .call(Method::GET, &["webhooks"], NO_QUERY, NO_BODY)
            .await?;
        Ok(list.webhooks)
    }

    /// Removes an endpoint, and its undelivered messages.
    pub async fn remove(&self, webhook_id: &str) -> Result<(), ClientError> {
        self.0
            .call::<serde_json::Value>(Method::DELETE, &["webhooks", webhook_id], NO_QUERY, NO_BODY)
            .await?;
        Ok(())
    }

    /// A new secret (in the answer only); the old one signs too for 24 hours.
    pub async fn rotate_secret(&self, webhook_id: &str) -> Result<WebhookWithSecret, ClientError> {
        self.0
            .call(
                Method::POST,
                &["webhooks", webhook_id, "rotate-secret"],
                NO_QUERY,
                NO_BODY,
            )
            .await
    }

    /// An endpoint's newest messages (at most `limit`, default 50), each with
    /// its delivery attempts.
    pub async fn messages(
        &self,
        webhook_id: &str,
        limit: Option<i64>,
    ) -> Result<Vec<WebhookMessage>, ClientError> {
        let query = limit.map(|limit| [("limit", limit)]);
        let list: WebhookMessageList = self
            .0
            .call(
                Method::GET,
                &["webhooks", webhook_id, "messages"],
                query.as_ref(),
                NO_BODY,
            )
            .await?;
        Ok(list.messages)
    }
}

#[derive(Clone, Debug)]
pub struct User(Connection);

impl User {
    async fn id_of(&self, external_id: &str) -> Result<String, ClientError> {
        let query = UserListQuery {
            identifier: Some(external_id.to_owned()),
            page: None,
            limit: Some(1),
        };
        let page: UserListResponse = self
            .0
            .call(Method::GET, &["users"], Some(&query), NO_BODY)
            .await?;
        page.users
            .into_iter()
            .next()
            .map(|u| u.id)
            .ok_or(ClientError::UserNotFound)
    }

    pub async fn get(&self, external_id: &str) -> Result<UserInfo, ClientError> {
        let id = self.id_of(external_id).await?;
        let wrapped: UserResponse = self
            .0
            .call(Method::GET, &["users", &id], NO_QUERY, NO_BODY)
            .await?;
        Ok(wrapped.user)
    }

    pub async fn list_devices(&self, external_id: &str) -> Result<Vec<Device>, ClientError> {
        let id = self.id_of(external_id).await?;
        let devices: DevicesResponse = self
            .0
            .call(Method::GET, &["users", &id, "devices"], NO_QUERY, NO_BODY)
            .await?;
        Ok(devices.devices)
    }

    /// Changes the name the user's passkeys show (`passkey_display_name`;
    /// Latchkey's addition), e.g. after they changed their email.
    pub async fn rename(
        &self,
        external_id: &str,
        passkey_display_name: &str,
    ) -> Result<UserInfo, ClientError> {
        let id = self.id_of(external_id).await?;
        let body = RenameUserRequest {
            passkey_display_name: passkey_display_name.to_owned(),
        };
        let wrapped: UserResponse = self
            .0
            .call(Method::PATCH, &["users", &id], NO_QUERY, Some(&body))
            .await?;
        Ok(wrapped.user)
    }

    /// What this user's browser passes to the WebAuthn Signal API (Latchkey's addition).
    pub async fn webauthn_signals(
        &self,
        external_id: &str,
    ) -> Result<WebauthnSignals, ClientError> {
        let id = self.id_of(external_id).await?;
        self.0
            .call(Method::GET, &["users", &id, "signals"], NO_QUERY, NO_BODY)
            .await
    }

    pub async fn revoke_device(
        &self,
        external_id: &str,
        device_id: &str,
    ) -> Result<(), ClientError> {
        let id = self.id_of(external_id).await?;
        self.0
            .call::<serde_json::Value>(
                Method::DELETE,
                &["users", &id, "devices", device_id],
                NO_QUERY,
                NO_BODY,
            )
            .await?;
        Ok(())
    }

    /// Renames a passkey (Passage had no rename; Latchkey does).
    pub async fn rename_device(
        &self,
        external_id: &str,
        device_id: &str,
        friendly_name: &str,
    ) -> Result<Device, ClientError> {
        let id = self.id_of(external_id).await?;
        let body = RenameDeviceRequest {
            friendly_name: friendly_name.to_owned(),
        };
        let wrapped: DeviceResponse = self
            .0
            .call(
                Method::PATCH,
                &["users", &id, "devices", device_id],
                NO_QUERY,
                Some(&body),
            )
            .await?;
        Ok(wrapped.device)
    }
}

/// A refusal's `{code, error}` as a `ClientError` (`unknown` when the body is not one).
async fn api_error(status: reqwest::StatusCode, response: reqwest::Response) -> ClientError {
    match response.json::<ErrorBody>().await {
        Ok(body) => ClientError::Api {
            status,
            code: body.code,
            message: body.error,
        },
        Err(_) => ClientError::Api {
            status,
            code: "unknown".into(),
            message: status.to_string(),
        },
    }
}

impl LatchkeyFlex {
    /// The app's users and passkeys in Latchkey's export format (JSON Lines,
    /// `docs/EXPORT-FORMAT.md`): `GET /v1/apps/{app_id}/export`.
    pub async fn export(&self) -> Result<String, ClientError> {
        let connection = &self.user.0;
        let url = format!(
            "{}/v1/apps/{}/export",
            connection.base_url,
            segment(&connection.app_id)?
        );
        let response = connection
            .http
            .get(url)
            .bearer_auth(&connection.api_key)
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response.text().await?);
        }
        Err(api_error(status, response).await)
    }
}

impl LatchkeyFlex {
    /// The app's public signing keys, which its signed results (the
    /// `signed_result` of a finish) verify against:
    /// `GET /v1/apps/{app_id}/.well-known/jwks.json`. Public; a verifier may
    /// cache it for a minute, and fetches it again on a `kid` it does not know.
    pub async fn jwks(&self) -> Result<Jwks, ClientError> {
        self.auth
            .0
            .call(
                Method::GET,
                &[".well-known", "jwks.json"],
                NO_QUERY,
                NO_BODY,
            )
            .await
    }
}

impl LatchkeyFlex {
    /// The `/.well-known/webauthn` document the app's RP ID host serves for
    /// Related Origin Requests (`{"origins": [...]}`):
    /// `GET /v1/apps/{app_id}/well-known-webauthn`. Public; cacheable for
    /// five minutes.
    pub async fn well_known_webauthn(&self) -> Result<WellKnownWebauthn, ClientError> {
        self.auth
            .0
            .call(Method::GET, &["well-known-webauthn"], NO_QUERY, NO_BODY)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_print_the_api_key() {
        let key = "lk_secret_key_that_must_not_leak";
        let flex = LatchkeyFlex::new("https://auth.example.com", "app-1", key);

        for printed in [
            format!("{flex:?}"),
            format!("{flex:#?}"),
            format!("{:?}", flex.auth),
            format!("{:?}", flex.user),
        ] {
            assert!(!printed.contains("secret"), "{printed}");
            assert!(printed.contains("(redacted)"), "{printed}");
            assert!(printed.contains("app-1"), "{printed}");
        }
    }

    #[test]
    fn an_id_is_one_path_segment() {
        assert_eq!(segment("dev_1-a.b~").unwrap(), "dev_1-a.b~");
        assert_eq!(
            segment("../../u/devices/d?x#y%").unwrap(),
            "..%2F..%2Fu%2Fdevices%2Fd%3Fx%23y%25"
        );
        assert_eq!(segment("é ").unwrap(), "%C3%A9%20");
        for dots in ["", ".", ".."] {
            assert_eq!(segment(dots).unwrap_err().code(), Some("invalid_id"));
        }
    }
}
