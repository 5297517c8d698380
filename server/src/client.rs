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

use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::json;

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
    #[error("could not reach Latchkey")]
    Transport(#[from] reqwest::Error),
}

impl ClientError {
    /// The API's error code, if Latchkey answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            Self::UserNotFound => Some("user_not_found"),
            Self::Transport(_) => None,
        }
    }
}

#[derive(Clone, Debug)]
struct Connection {
    http: reqwest::Client,
    /// `{base}/v1/apps/{app_id}`
    base: String,
    api_key: String,
}

impl Connection {
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, ClientError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.api_key);
        if let Some(body) = body {
            request = request.json(&body);
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
        #[derive(Deserialize)]
        struct ErrorBody {
            code: String,
            error: String,
        }
        let body: Option<ErrorBody> = response.json().await.ok();
        Err(match body {
            Some(body) => ClientError::Api {
                status,
                code: body.code,
                message: body.error,
            },
            None => ClientError::Api {
                status,
                code: "unknown".into(),
                message: status.to_string(),
            },
        })
    }
}

/// The client: `auth` and `user`, like `passage_flex::PassageFlex`.
#[derive(Clone, Debug)]
pub struct LatchkeyFlex {
    pub auth: Auth,
    pub user: User,
}

impl LatchkeyFlex {
    /// `base_url` is where Latchkey is served (for example `https://auth.example.com`).
    pub fn new(base_url: &str, app_id: &str, api_key: &str) -> Self {
        Self::with_client(reqwest::Client::new(), base_url, app_id, api_key)
    }

    pub fn with_client(http: reqwest::Client, base_url: &str, app_id: &str, api_key: &str) -> Self {
        let connection = Connection {
            http,
            base: format!("{}/v1/apps/{app_id}", base_url.trim_end_matches('/')),
            api_key: api_key.to_owned(),
        };
        Self {
            auth: Auth(connection.clone()),
            user: User(connection),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Auth(Connection);

#[derive(Deserialize)]
struct TransactionResponse {
    transaction_id: String,
}

impl Auth {
    /// A transaction for adding a passkey to the user with this external id.
    pub async fn create_register_transaction(
        &self,
        external_id: &str,
        passkey_display_name: &str,
    ) -> Result<String, ClientError> {
        let body =
            json!({ "external_id": external_id, "passkey_display_name": passkey_display_name });
        let response: TransactionResponse = self
            .0
            .call(Method::POST, "/transactions/register", Some(body))
            .await?;
        Ok(response.transaction_id)
    }

    /// A transaction for signing in the user with this external id with one of
    /// their passkeys; `user_has_no_passkeys` if they have none.
    pub async fn create_authenticate_transaction(
        &self,
        external_id: &str,
    ) -> Result<String, ClientError> {
        let body = json!({ "external_id": external_id });
        let response: TransactionResponse = self
            .0
            .call(Method::POST, "/transactions/authenticate", Some(body))
            .await?;
        Ok(response.transaction_id)
    }

    /// Trades a nonce from the browser, once, for the external id of its user.
    pub async fn verify_nonce(&self, nonce: &str) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Verified {
            external_id: String,
        }
        let verified: Verified = self
            .0
            .call(
                Method::POST,
                "/authenticate/verify",
                Some(json!({ "nonce": nonce })),
            )
            .await?;
        Ok(verified.external_id)
    }
}

/// A user, as `user.get` returns it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct UserInfo {
    pub id: String,
    pub external_id: String,
    pub login_count: i64,
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: String,
    pub webauthn: bool,
    pub webauthn_devices: Vec<Device>,
}

/// A passkey.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Device {
    pub id: String,
    pub cred_id: String,
    pub friendly_name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub usage_count: i64,
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: String,
    pub icons: Icons,
    pub provider_name: Option<String>,
    pub backup_eligible: bool,
    pub backup_state: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Icons {
    pub light: Option<String>,
    pub dark: Option<String>,
}

#[derive(Clone, Debug)]
pub struct User(Connection);

impl User {
    async fn id_of(&self, external_id: &str) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Listed {
            id: String,
        }
        #[derive(Deserialize)]
        struct Page {
            users: Vec<Listed>,
        }
        let identifier: String =
            url::form_urlencoded::byte_serialize(external_id.as_bytes()).collect();
        let page: Page = self
            .0
            .call(
                Method::GET,
                &format!("/users?identifier={identifier}&limit=1"),
                None,
            )
            .await?;
        page.users
            .into_iter()
            .next()
            .map(|u| u.id)
            .ok_or(ClientError::UserNotFound)
    }

    pub async fn get(&self, external_id: &str) -> Result<UserInfo, ClientError> {
        #[derive(Deserialize)]
        struct Wrapped {
            user: UserInfo,
        }
        let id = self.id_of(external_id).await?;
        let wrapped: Wrapped = self
            .0
            .call(Method::GET, &format!("/users/{id}"), None)
            .await?;
        Ok(wrapped.user)
    }

    pub async fn list_devices(&self, external_id: &str) -> Result<Vec<Device>, ClientError> {
        #[derive(Deserialize)]
        struct Devices {
            devices: Vec<Device>,
        }
        let id = self.id_of(external_id).await?;
        let devices: Devices = self
            .0
            .call(Method::GET, &format!("/users/{id}/devices"), None)
            .await?;
        Ok(devices.devices)
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
                &format!("/users/{id}/devices/{device_id}"),
                None,
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
        #[derive(Deserialize)]
        struct Wrapped {
            device: Device,
        }
        let id = self.id_of(external_id).await?;
        let wrapped: Wrapped = self
            .0
            .call(
                Method::PATCH,
                &format!("/users/{id}/devices/{device_id}"),
                Some(json!({ "friendly_name": friendly_name })),
            )
            .await?;
        Ok(wrapped.device)
    }
}
