//! The backend interface to Latchkey, in process: the same core operations the
//! management API calls, for the built-in app.

use app::{
    api::PasskeyView,
    backend::{BackendError, PasskeyBackend},
    wire::WebauthnSignals,
};
use async_trait::async_trait;
use serde_json::Value;

use crate::{
    client::{ClientError, Device, LatchkeyFlex},
    flex::{
        aaguid,
        apps::App,
        ceremonies::Action,
        clock::rfc3339,
        ids::{DeviceId, DisplayName, ExternalId, Nonce},
        users::{PasskeyRecord, User},
        Flex, FlexError,
    },
};

pub struct InProcess {
    flex: Flex,
    app: App,
}

impl InProcess {
    pub fn new(flex: Flex, app: App) -> Self {
        Self { flex, app }
    }

    async fn user(&self, external_id: &str) -> Result<User, FlexError> {
        let external_id = ExternalId::parse(external_id)?;
        self.flex
            .find_user_by_external_id(&self.app, &external_id)
            .await?
            .ok_or(FlexError::UserNotFound)
    }
}

/// The core's refusals the site tells apart; anything else (a broken store, a
/// ceremony failure with webauthn-rs's words in it) is `Internal`, whose
/// cause goes to the log only.
impl From<FlexError> for BackendError {
    fn from(error: FlexError) -> Self {
        match error {
            FlexError::InvalidRequest(message) => Self::Invalid(message),
            FlexError::InvalidNonce => Self::InvalidNonce,
            FlexError::ActionMismatch => Self::ActionMismatch,
            FlexError::UserNotFound => Self::UserNotFound,
            FlexError::UserHasNoPasskeys => Self::UserHasNoPasskeys,
            FlexError::DeviceNotFound => Self::DeviceNotFound,
            FlexError::TooManyPasskeys(_) => Self::TooManyPasskeys,
            other => Self::internal(Unexpected(other)),
        }
    }
}

/// A core error the site has no answer for, with the ceremony's cause (if
/// any) in its text, for the log.
#[derive(Debug)]
struct Unexpected(FlexError);

impl std::fmt::Display for Unexpected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.0.code(), self.0)?;
        match self.0.cause() {
            Some(cause) => write!(f, ": {cause}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Unexpected {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

fn view(record: &PasskeyRecord) -> PasskeyView {
    let provider = aaguid::provider(&record.aaguid);
    let icon = |file: Option<&String>| file.map(|f| format!("/v1/aaguid-icons/{f}"));
    PasskeyView {
        id: record.id.as_str().to_owned(),
        name: record.friendly_name.clone(),
        provider: provider.map(|p| p.name.clone()),
        icon_light: icon(provider.and_then(|p| p.light.as_ref())),
        icon_dark: icon(provider.and_then(|p| p.dark.as_ref())),
        created_at: rfc3339(Some(record.created_at)),
        last_used_at: record.last_used_at.map(|at| rfc3339(Some(at))),
        synced: record.backup_state,
    }
}

#[async_trait]
impl PasskeyBackend for InProcess {
    async fn create_register_transaction(
        &self,
        external_id: &str,
        passkey_display_name: &str,
    ) -> Result<String, BackendError> {
        let external_id = ExternalId::parse(external_id).map_err(BackendError::from)?;
        let name = DisplayName::parse("passkey_display_name", passkey_display_name)
            .map_err(BackendError::from)?;
        self.flex
            .create_register_transaction(&self.app, &external_id, &name)
            .await
            .map(|id| id.as_str().to_owned())
            .map_err(BackendError::from)
    }

    async fn create_authenticate_transaction(
        &self,
        external_id: &str,
        action: Option<&Value>,
    ) -> Result<String, BackendError> {
        let external_id = ExternalId::parse(external_id).map_err(BackendError::from)?;
        let action = action
            .map(Action::parse)
            .transpose()
            .map_err(BackendError::from)?;
        self.flex
            .create_authenticate_transaction(&self.app, &external_id, action.as_ref())
            .await
            .map(|id| id.as_str().to_owned())
            .map_err(BackendError::from)
    }

    async fn verify_nonce(
        &self,
        nonce: &str,
        action: Option<&Value>,
    ) -> Result<String, BackendError> {
        let action = action
            .map(Action::parse)
            .transpose()
            .map_err(BackendError::from)?;
        let nonce = Nonce::parse(nonce).ok_or(BackendError::InvalidNonce)?;
        self.flex
            .verify_nonce(&self.app, &nonce, action.as_ref())
            .await
            .map(|verified| verified.external_id)
            .map_err(BackendError::from)
    }

    async fn list_devices(&self, external_id: &str) -> Result<Vec<PasskeyView>, BackendError> {
        let user = self.user(external_id).await.map_err(BackendError::from)?;
        let records = self
            .flex
            .list_passkeys(&self.app, &user)
            .await
            .map_err(BackendError::from)?;
        Ok(records.iter().map(view).collect())
    }

    async fn rename_device(
        &self,
        external_id: &str,
        device_id: &str,
        friendly_name: &str,
    ) -> Result<(), BackendError> {
        let user = self.user(external_id).await.map_err(BackendError::from)?;
        let device = DeviceId::parse(device_id).ok_or(BackendError::DeviceNotFound)?;
        let name =
            DisplayName::parse("friendly_name", friendly_name).map_err(BackendError::from)?;
        self.flex
            .rename_passkey(&self.app, &user, &device, &name)
            .await
            .map(drop)
            .map_err(BackendError::from)
    }

    async fn revoke_device(&self, external_id: &str, device_id: &str) -> Result<(), BackendError> {
        let user = self.user(external_id).await.map_err(BackendError::from)?;
        let device = DeviceId::parse(device_id).ok_or(BackendError::DeviceNotFound)?;
        self.flex
            .revoke_passkey(&self.app, &user, &device)
            .await
            .map_err(BackendError::from)
    }

    async fn rename_user(&self, external_id: &str, name: &str) -> Result<(), BackendError> {
        let user = self.user(external_id).await.map_err(BackendError::from)?;
        let name = DisplayName::parse("passkey_display_name", name).map_err(BackendError::from)?;
        self.flex
            .rename_user(&self.app, &user, &name)
            .await
            .map(drop)
            .map_err(BackendError::from)
    }

    async fn webauthn_signals(&self, external_id: &str) -> Result<WebauthnSignals, BackendError> {
        let user = self.user(external_id).await.map_err(BackendError::from)?;
        self.flex
            .webauthn_signals(&self.app, &user.id, None)
            .await
            .map_err(BackendError::from)?
            .ok_or(BackendError::UserNotFound)
    }
}

/// The same interface over HTTP, for a site whose Latchkey runs elsewhere.
#[async_trait]
impl PasskeyBackend for LatchkeyFlex {
    async fn create_register_transaction(
        &self,
        external_id: &str,
        passkey_display_name: &str,
    ) -> Result<String, BackendError> {
        self.auth
            .create_register_transaction(external_id, passkey_display_name)
            .await
            .map_err(remote)
    }

    async fn create_authenticate_transaction(
        &self,
        external_id: &str,
        action: Option<&Value>,
    ) -> Result<String, BackendError> {
        match action {
            Some(action) => {
                self.auth
                    .create_step_up_transaction(external_id, action)
                    .await
            }
            None => self.auth.create_authenticate_transaction(external_id).await,
        }
        .map_err(remote)
    }

    async fn verify_nonce(
        &self,
        nonce: &str,
        action: Option<&Value>,
    ) -> Result<String, BackendError> {
        match action {
            Some(action) => self.auth.verify_step_up(nonce, action).await,
            None => self.auth.verify_nonce(nonce).await,
        }
        .map_err(remote)
    }

    async fn list_devices(&self, external_id: &str) -> Result<Vec<PasskeyView>, BackendError> {
        let devices = self.user.list_devices(external_id).await.map_err(remote)?;
        Ok(devices.iter().map(remote_view).collect())
    }

    async fn rename_device(
        &self,
        external_id: &str,
        device_id: &str,
        friendly_name: &str,
    ) -> Result<(), BackendError> {
        self.user
            .rename_device(external_id, device_id, friendly_name)
            .await
            .map(drop)
            .map_err(remote)
    }

    async fn revoke_device(&self, external_id: &str, device_id: &str) -> Result<(), BackendError> {
        self.user
            .revoke_device(external_id, device_id)
            .await
            .map_err(remote)
    }

    async fn rename_user(&self, external_id: &str, name: &str) -> Result<(), BackendError> {
        self.user
            .rename(external_id, name)
            .await
            .map(drop)
            .map_err(remote)
    }

    async fn webauthn_signals(&self, external_id: &str) -> Result<WebauthnSignals, BackendError> {
        self.user
            .webauthn_signals(external_id)
            .await
            .map_err(remote)
    }
}

/// Latchkey's answer over HTTP, by its stable code; an unexpected code or no
/// answer at all is `Internal`.
fn remote(error: ClientError) -> BackendError {
    let known = match &error {
        ClientError::Api { code, message, .. } => match code.as_str() {
            "invalid_request" => Some(BackendError::Invalid(message.clone())),
            "invalid_nonce" => Some(BackendError::InvalidNonce),
            "action_mismatch" => Some(BackendError::ActionMismatch),
            "user_not_found" => Some(BackendError::UserNotFound),
            "user_has_no_passkeys" => Some(BackendError::UserHasNoPasskeys),
            "device_not_found" => Some(BackendError::DeviceNotFound),
            "too_many_passkeys" => Some(BackendError::TooManyPasskeys),
            "rate_limited" => Some(BackendError::RateLimited),
            _ => None,
        },
        ClientError::UserNotFound => Some(BackendError::UserNotFound),
        // An id that cannot be a path segment names no passkey.
        ClientError::InvalidId(_) => Some(BackendError::DeviceNotFound),
        ClientError::Transport(_) => None,
    };
    known.unwrap_or_else(|| BackendError::internal(error))
}

fn remote_view(device: &Device) -> PasskeyView {
    let never = "0001-01-01T00:00:00Z";
    PasskeyView {
        id: device.id.clone(),
        name: device.friendly_name.clone(),
        provider: device.provider_name.clone(),
        icon_light: device.icons.light.clone(),
        icon_dark: device.icons.dark.clone(),
        created_at: device.created_at.clone(),
        last_used_at: (device.last_login_at != never).then(|| device.last_login_at.clone()),
        synced: device.backup_state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusals_the_site_tells_apart_keep_their_kind_and_the_rest_are_internal() {
        let kept = [
            (FlexError::InvalidNonce, "InvalidNonce"),
            (FlexError::ActionMismatch, "ActionMismatch"),
            (FlexError::UserNotFound, "UserNotFound"),
            (FlexError::UserHasNoPasskeys, "UserHasNoPasskeys"),
            (FlexError::DeviceNotFound, "DeviceNotFound"),
            (FlexError::TooManyPasskeys(20), "TooManyPasskeys"),
            (FlexError::invalid("friendly_name is too long"), "Invalid"),
        ];
        for (error, kind) in kept {
            let mapped = format!("{:?}", BackendError::from(error));
            assert!(mapped.starts_with(kind), "{mapped}");
        }
        let webauthn_says = "The clients relying party id hash does not match";
        let failed = BackendError::from(FlexError::RegistrationFailed(webauthn_says.into()));
        let BackendError::Internal(cause) = &failed else {
            panic!("{failed:?}")
        };
        assert!(!failed.to_string().contains(webauthn_says), "{failed}");
        assert!(cause.to_string().contains(webauthn_says), "for the log");
    }

    #[test]
    fn latchkeys_answers_over_http_map_by_code() {
        let api = |code: &str| ClientError::Api {
            status: reqwest::StatusCode::BAD_REQUEST,
            code: code.into(),
            message: "Latchkey's sentence".into(),
        };
        assert!(matches!(
            remote(api("invalid_request")),
            BackendError::Invalid(message) if message == "Latchkey's sentence"
        ));
        assert!(matches!(
            remote(api("invalid_nonce")),
            BackendError::InvalidNonce
        ));
        assert!(matches!(
            remote(api("rate_limited")),
            BackendError::RateLimited
        ));
        assert!(matches!(
            remote(ClientError::InvalidId("..".into())),
            BackendError::DeviceNotFound
        ));
        for unexpected in [
            "invalid_access_token",
            "app_not_found",
            "internal_server_error",
        ] {
            assert!(matches!(remote(api(unexpected)), BackendError::Internal(_)));
        }
    }
}
