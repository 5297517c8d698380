//! The backend interface to Latchkey, in process: the same core operations the
//! management API calls, for the built-in app.

use app::{
    api::PasskeyView,
    backend::{BackendError, PasskeyBackend},
};
use async_trait::async_trait;

use crate::{
    client::{ClientError, Device, LatchkeyFlex},
    flex::{
        aaguid,
        apps::App,
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

fn refused(error: FlexError) -> BackendError {
    if let FlexError::Internal(cause) = &error {
        tracing::error!(error = format!("{cause:#}"), "passkey backend");
    }
    BackendError {
        code: error.code().to_owned(),
        message: error.to_string(),
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
        let external_id = ExternalId::parse(external_id).map_err(refused)?;
        let name =
            DisplayName::parse("passkey_display_name", passkey_display_name).map_err(refused)?;
        self.flex
            .create_register_transaction(&self.app, &external_id, &name)
            .await
        .map(|id| id.as_str().to_owned())
        .map_err(refused)
    }

    async fn create_authenticate_transaction(
        &self,
        external_id: &str,
    ) -> Result<String, BackendError> {
        let external_id = ExternalId::parse(external_id).map_err(refused)?;
        self.flex
            .create_authenticate_transaction(&self.app, &external_id)
            .await
        .map(|id| id.as_str().to_owned())
        .map_err(refused)
    }

    async fn verify_nonce(&self, nonce: &str) -> Result<String, BackendError> {
        let nonce = Nonce::parse(nonce).ok_or(FlexError::InvalidNonce).map_err(refused)?;
        self.flex
            .verify_nonce(&self.app, &nonce)
            .await
            .map_err(refused)
    }

    async fn list_devices(&self, external_id: &str) -> Result<Vec<PasskeyView>, BackendError> {
        let user = self.user(external_id).await.map_err(refused)?;
        let records = self
            .flex
            .list_passkeys(&self.app, &user)
            .await
            .map_err(refused)?;
        Ok(records.iter().map(view).collect())
    }

    async fn rename_device(
        &self,
        external_id: &str,
        device_id: &str,
        friendly_name: &str,
    ) -> Result<(), BackendError> {
        let user = self.user(external_id).await.map_err(refused)?;
        let device = DeviceId::parse(device_id).ok_or(FlexError::DeviceNotFound).map_err(refused)?;
        let name = DisplayName::parse("friendly_name", friendly_name).map_err(refused)?;
        self.flex
            .rename_passkey(&self.app, &user, &device, &name)
            .await
        .map(drop)
        .map_err(refused)
    }

    async fn revoke_device(&self, external_id: &str, device_id: &str) -> Result<(), BackendError> {
        let user = self.user(external_id).await.map_err(refused)?;
        let device = DeviceId::parse(device_id).ok_or(FlexError::DeviceNotFound).map_err(refused)?;
        self.flex
            .revoke_passkey(&self.app, &user, &device)
            .await
            .map_err(refused)
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
    ) -> Result<String, BackendError> {
        self.auth
            .create_authenticate_transaction(external_id)
            .await
            .map_err(remote)
    }

    async fn verify_nonce(&self, nonce: &str) -> Result<String, BackendError> {
        self.auth.verify_nonce(nonce).await.map_err(remote)
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
}

fn remote(error: ClientError) -> BackendError {
    BackendError {
        code: error.code().unwrap_or("unavailable").to_owned(),
        message: error.to_string(),
    }
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
