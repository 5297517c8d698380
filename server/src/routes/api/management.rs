//! The management API: server to server, `Authorization: Bearer {api_key}`.

use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::{FromRequestParts, Query, State},
    http::{header::AUTHORIZATION, request::Parts},
};

use serde::Deserialize;

use super::{
    error::ApiError,
    json::{ApiJson, ApiPath},
    wire::{self, *},
};
use futures::StreamExt as _;

use crate::{
    flex::{
        apps::App,
        ceremonies::Action,
        events::{EventFilter, EventPage, EventQuery, Scope},
        ids::{AppId, DeviceId, DisplayName, ExternalId, Nonce},
        transfer::ExportCursor,
        users::User,
        FlexError,
    },
    state::AppState,
    traffic::client_ip::ClientIp,
};

/// The app a management request acts for, once its API key is checked.
pub struct ManagedApp(pub Arc<App>);

impl FromRequestParts<AppState> for ManagedApp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = *parts.extensions.get::<ClientIp>().ok_or_else(|| {
            FlexError::Internal(anyhow::anyhow!("the client IP middleware did not run"))
        })?;
        let limits = &state.limits;
        limits
            .management_ip(ip)
            .await
            .map_err(ApiError::RateLimited)?;
        let ApiPath(params) =
            ApiPath::<HashMap<String, String>>::from_request_parts(parts, state).await?;
        let app_id = params.get("app_id").ok_or(FlexError::AppNotFound)?;
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let app_id = AppId::parse(app_id).ok_or(FlexError::AppNotFound)?;
        let (app, key_id) = state.flex.authorize(&app_id, bearer).await?;
        limits.key(&key_id).await.map_err(ApiError::RateLimited)?;
        Ok(Self(app))
    }
}

#[derive(Deserialize)]
pub struct UserPath {
    #[allow(dead_code)]
    app_id: String,
    user_id: String,
}

#[derive(Deserialize)]
pub struct DevicePath {
    #[allow(dead_code)]
    app_id: String,
    user_id: String,
    device_id: String,
}

/// A user id of the path: a UUID, or no user at all.
fn user_id(text: &str) -> Result<uuid::Uuid, FlexError> {
    uuid::Uuid::try_parse(text).map_err(|_| FlexError::UserNotFound)
}

fn device_id(text: &str) -> Result<DeviceId, FlexError> {
    DeviceId::parse(text).ok_or(FlexError::DeviceNotFound)
}

/// Create a register transaction for a user (created on their first one).
#[utoipa::path(post, path = "/v1/apps/{app_id}/transactions/register", tag = "management",
    params(("app_id" = String, Path)), request_body = CreateRegisterTransactionRequest,
    security(("api_key" = [])),
    responses((status = 200, body = TransactionResponse)))]
pub async fn create_register_transaction(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiJson(body): ApiJson<CreateRegisterTransactionRequest>,
) -> Result<ApiJson<TransactionResponse>, ApiError> {
    let external_id = ExternalId::parse(&body.external_id)?;
    let display_name = DisplayName::parse("passkey_display_name", &body.passkey_display_name)?;
    let id = state
        .flex
        .create_register_transaction(&app, &external_id, &display_name)
        .await?;
    Ok(ApiJson(TransactionResponse {
        transaction_id: id.as_str().to_owned(),
    }))
}

/// Create an authenticate transaction (identifier-first sign-in) for a user;
/// with `action`, a step-up that approves exactly that action.
#[utoipa::path(post, path = "/v1/apps/{app_id}/transactions/authenticate", tag = "management",
    params(("app_id" = String, Path)), request_body = CreateAuthenticateTransactionRequest,
    security(("api_key" = [])),
    responses((status = 200, body = TransactionResponse)))]
pub async fn create_authenticate_transaction(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiJson(body): ApiJson<CreateAuthenticateTransactionRequest>,
) -> Result<ApiJson<TransactionResponse>, ApiError> {
    let external_id = ExternalId::parse(&body.external_id)?;
    let action = body.action.as_ref().map(Action::parse).transpose()?;
    let id = state
        .flex
        .create_authenticate_transaction(&app, &external_id, action.as_ref())
        .await?;
    Ok(ApiJson(TransactionResponse {
        transaction_id: id.as_str().to_owned(),
    }))
}

/// Trade a nonce, once, for the user's external id (and, for a step-up, the
/// action it approved).
#[utoipa::path(post, path = "/v1/apps/{app_id}/authenticate/verify", tag = "management",
    params(("app_id" = String, Path)), request_body = VerifyNonceRequest, security(("api_key" = [])),
    responses((status = 200, body = VerifyNonceResponse)))]
pub async fn verify_nonce(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiJson(body): ApiJson<VerifyNonceRequest>,
) -> Result<ApiJson<VerifyNonceResponse>, ApiError> {
    let expected = body.action.as_ref().map(Action::parse).transpose()?;
    let nonce = Nonce::parse(&body.nonce).ok_or(FlexError::InvalidNonce)?;
    let verified = state
        .flex
        .verify_nonce(&app, &nonce, expected.as_ref())
        .await?;
    Ok(ApiJson(VerifyNonceResponse {
        external_id: verified.external_id,
        action: verified.action.as_ref().map(Action::to_value),
    }))
}

/// List users, newest first; `identifier` finds the one with an external id.
#[utoipa::path(get, path = "/v1/apps/{app_id}/users", tag = "management",
    params(("app_id" = String, Path), UserListQuery), security(("api_key" = [])),
    responses((status = 200, body = UserListResponse)))]
pub async fn list_users(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    query: Result<Query<UserListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<UserListResponse>, ApiError> {
    let Query(query) = query.map_err(|e| FlexError::invalid(e.body_text()))?;
    let page = query.page.unwrap_or(1);
    let limit = query.limit.unwrap_or(20);
    let identifier = query.identifier.filter(|i| !i.is_empty());
    let external_id = identifier.as_deref().map(ExternalId::parse).transpose()?;
    let (found, total) = state
        .flex
        .list_users(&app, external_id.as_ref(), page, limit)
        .await?;
    let last = ((total + limit - 1) / limit).max(1);
    let link = |page: i64| {
        let mut href = format!("/v1/apps/{}/users?page={page}&limit={limit}", app.id);
        if let Some(identifier) = &identifier {
            href.push_str(&format!(
                "&identifier={}",
                url::form_urlencoded::byte_serialize(identifier.as_bytes()).collect::<String>()
            ));
        }
        Link { href }
    };
    Ok(ApiJson(UserListResponse {
        users: found.iter().map(wire::user_list_item).collect(),
        total_users: total,
        page,
        limit,
        created_before: state.clock.now() / 1000,
        _links: PaginatedLinks {
            first: link(1),
            last: link(last),
            next: link((page + 1).min(last)),
            previous: link((page - 1).max(1)),
            this: link(page),
        },
    }))
}

/// A user, with their passkeys.
#[utoipa::path(get, path = "/v1/apps/{app_id}/users/{user_id}", tag = "management",
    params(("app_id" = String, Path), ("user_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = UserResponse)))]
pub async fn get_user(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiPath(path): ApiPath<UserPath>,
) -> Result<ApiJson<UserResponse>, ApiError> {
    let user = state.flex.find_user(&app, &user_id(&path.user_id)?).await?;
    Ok(ApiJson(user_response(&state, &app, user).await?))
}

/// Change the name a user's passkeys show (`passkey_display_name`): the name
/// the Signal API passes from now on, for instance after the user changed
/// their email. Latchkey's addition.
#[utoipa::path(patch, path = "/v1/apps/{app_id}/users/{user_id}", tag = "management",
    params(("app_id" = String, Path), ("user_id" = String, Path)),
    request_body = RenameUserRequest, security(("api_key" = [])),
    responses((status = 200, body = UserResponse)))]
pub async fn rename_user(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiPath(path): ApiPath<UserPath>,
    ApiJson(body): ApiJson<RenameUserRequest>,
) -> Result<ApiJson<UserResponse>, ApiError> {
    let name = DisplayName::parse("passkey_display_name", &body.passkey_display_name)?;
    let user = state.flex.find_user(&app, &user_id(&path.user_id)?).await?;
    let user = state.flex.rename_user(&app, &user, &name).await?;
    Ok(ApiJson(user_response(&state, &app, user).await?))
}

/// A user with their passkeys, as Passage answered it.
async fn user_response(state: &AppState, app: &App, user: User) -> Result<UserResponse, ApiError> {
    let devices: Vec<Device> = state
        .flex
        .list_passkeys(app, &user)
        .await?
        .iter()
        .map(|record| wire::device(record, &state.public_url.origin()))
        .collect();
    let mut types: Vec<String> = devices.iter().map(|d| d.kind.clone()).collect();
    types.sort_unstable();
    types.dedup();
    Ok(UserResponse {
        user: UserInfo {
            listed: wire::user_list_item(&user),
            recent_events: Vec::new(),
            social_connections: serde_json::json!({}),
            webauthn: !devices.is_empty(),
            webauthn_devices: devices,
            webauthn_types: types,
        },
    })
}

/// A user's passkeys.
#[utoipa::path(get, path = "/v1/apps/{app_id}/users/{user_id}/devices", tag = "management",
    params(("app_id" = String, Path), ("user_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = DevicesResponse)))]
pub async fn list_devices(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiPath(path): ApiPath<UserPath>,
) -> Result<ApiJson<DevicesResponse>, ApiError> {
    let user = state.flex.find_user(&app, &user_id(&path.user_id)?).await?;
    let devices = state
        .flex
        .list_passkeys(&app, &user)
        .await?
        .iter()
        .map(|record| wire::device(record, &state.public_url.origin()))
        .collect();
    Ok(ApiJson(DevicesResponse { devices }))
}

/// What the browser of this user (signed in to the app) passes to the
/// WebAuthn Signal API (`signalAllAcceptedCredentials`,
/// `signalCurrentUserDetails`), for instance after the app removed one of
/// their passkeys: their RP ID, user handle, names and every credential id
/// they still have. Hand it only to that user. Latchkey's addition.
#[utoipa::path(get, path = "/v1/apps/{app_id}/users/{user_id}/signals", tag = "management",
    params(("app_id" = String, Path), ("user_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = WebauthnSignals)))]
pub async fn user_signals(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiPath(path): ApiPath<UserPath>,
) -> Result<ApiJson<WebauthnSignals>, ApiError> {
    let user = user_id(&path.user_id)?.to_string();
    let signals = state
        .flex
        .webauthn_signals(&app, &user, None)
        .await?
        .ok_or(FlexError::UserNotFound)?;
    Ok(ApiJson(signals))
}

/// Remove a passkey.
#[utoipa::path(delete, path = "/v1/apps/{app_id}/users/{user_id}/devices/{device_id}", tag = "management",
    params(("app_id" = String, Path), ("user_id" = String, Path), ("device_id" = String, Path)),
    security(("api_key" = [])),
    responses((status = 200, description = "removed")))]
pub async fn revoke_device(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiPath(path): ApiPath<DevicePath>,
) -> Result<(), ApiError> {
    let user = state.flex.find_user(&app, &user_id(&path.user_id)?).await?;
    state
        .flex
        .revoke_passkey(&app, &user, &device_id(&path.device_id)?)
        .await?;
    Ok(())
}

/// Rename a passkey (Latchkey's addition: Passage had no rename).
#[utoipa::path(patch, path = "/v1/apps/{app_id}/users/{user_id}/devices/{device_id}", tag = "management",
    params(("app_id" = String, Path), ("user_id" = String, Path), ("device_id" = String, Path)),
    request_body = RenameDeviceRequest, security(("api_key" = [])),
    responses((status = 200, body = DeviceResponse)))]
pub async fn rename_device(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiPath(path): ApiPath<DevicePath>,
    ApiJson(body): ApiJson<RenameDeviceRequest>,
) -> Result<ApiJson<DeviceResponse>, ApiError> {
    let name = DisplayName::parse("friendly_name", &body.friendly_name)?;
    let user = state.flex.find_user(&app, &user_id(&path.user_id)?).await?;
    let device = device_id(&path.device_id)?;
    let record = state
        .flex
        .rename_passkey(&app, &user, &device, &name)
        .await?;
    Ok(ApiJson(DeviceResponse {
        device: wire::device(&record, &state.public_url.origin()),
    }))
}

/// The app's audit log, newest first: every ceremony step and outcome (with
/// its error code when refused) and every change, never a secret. Every filter
/// narrows; page with `next_cursor`.
#[utoipa::path(get, path = "/v1/apps/{app_id}/events", tag = "management",
    params(("app_id" = String, Path), EventQuery), security(("api_key" = [])),
    responses((status = 200, body = EventPage)))]
pub async fn list_events(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    query: Result<Query<EventQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<EventPage>, ApiError> {
    let Query(query) = query.map_err(|e| FlexError::invalid(e.body_text()))?;
    let filter = EventFilter::parse(&query)?;
    let page = state.flex.list_events(Scope::App(&app.id), &filter).await?;
    Ok(ApiJson(page))
}

/// Export the app: its settings (no secrets), users and passkeys, public keys
/// and all, as JSON Lines in Latchkey's export format (`docs/EXPORT-FORMAT.md`),
/// streamed a page of users at a time.
#[utoipa::path(get, path = "/v1/apps/{app_id}/export", tag = "management",
    params(("app_id" = String, Path)),
    security(("api_key" = [])),
    responses((status = 200, description = "JSON Lines: a header, then each user followed by its passkeys", content_type = "application/x-ndjson")))]
pub async fn export_app(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let flex = state.flex.clone();
    let mut cursor = ExportCursor::default();
    // The first chunk before the answer starts, so a failure there is a 500
    // in the API's form; a later one ends the stream early (the client sees
    // a broken body, never a short export that looks whole).
    let first = flex.export_chunk(&app, &mut cursor).await?;
    let rest = futures::stream::unfold(Some((flex, app, cursor)), |state| async move {
        let (flex, app, mut cursor) = state?;
        match flex.export_chunk(&app, &mut cursor).await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some((flex, app, cursor)))),
            Ok(None) => None,
            Err(error) => {
                tracing::error!(error = %anyhow::Error::new(error), "the export stopped");
                Some((Err(std::io::Error::other("the export stopped")), None))
            }
        }
    });
    let body = futures::stream::iter(first.map(Ok)).chain(rest);
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}
