//! The management API's webhooks: an app's endpoints, their secrets (shown
//! when made, never again), and their messages with every delivery attempt.

use axum::{
    extract::{Query, State},
    http::StatusCode,
};
use serde::Deserialize;

use super::{
    error::ApiError,
    json::{ApiJson, ApiPath},
    management::ManagedApp,
};
use crate::{
    flex::{
        webhooks::{CreateWebhookRequest, WebhookList, WebhookMessageList, WebhookWithSecret},
        FlexError,
    },
    state::AppState,
};

#[derive(Deserialize)]
pub struct WebhookPath {
    #[allow(dead_code)]
    app_id: String,
    webhook_id: String,
}

/// `GET …/messages`: how many (newest first).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// 1 to 200, default 50.
    limit: Option<i64>,
}

/// List the app's webhook endpoints (never their secrets).
#[utoipa::path(get, path = "/v1/apps/{app_id}/webhooks", tag = "management",
    params(("app_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = WebhookList)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
) -> Result<ApiJson<WebhookList>, ApiError> {
    let webhooks = state.flex.list_webhooks(&app.id).await?;
    Ok(ApiJson(WebhookList { webhooks }))
}

/// Add a webhook endpoint: the app's events (of the types given, or all) are
/// delivered to it per Standard Webhooks. Its secret is in this answer only.
#[utoipa::path(post, path = "/v1/apps/{app_id}/webhooks", tag = "management",
    params(("app_id" = String, Path)), request_body = CreateWebhookRequest,
    security(("api_key" = [])),
    responses((status = 201, body = WebhookWithSecret)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiJson(body): ApiJson<CreateWebhookRequest>,
) -> Result<(StatusCode, ApiJson<WebhookWithSecret>), ApiError> {
    let created = state
        .flex
        .create_webhook(&app.id, &body.url, &body.event_types)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(created)))
}

/// Remove a webhook endpoint, and its undelivered messages with it.
#[utoipa::path(delete, path = "/v1/apps/{app_id}/webhooks/{webhook_id}", tag = "management",
    params(("app_id" = String, Path), ("webhook_id" = String, Path)),
    security(("api_key" = [])),
    responses((status = 204, description = "removed")))]
pub async fn remove_webhook(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiPath(path): ApiPath<WebhookPath>,
) -> Result<StatusCode, ApiError> {
    state.flex.remove_webhook(&app.id, &path.webhook_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give a webhook endpoint a new secret (in this answer only); the old one
/// keeps signing too, a second signature, for 24 hours.
#[utoipa::path(post, path = "/v1/apps/{app_id}/webhooks/{webhook_id}/rotate-secret", tag = "management",
    params(("app_id" = String, Path), ("webhook_id" = String, Path)),
    security(("api_key" = [])),
    responses((status = 200, body = WebhookWithSecret)))]
pub async fn rotate_webhook_secret(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiPath(path): ApiPath<WebhookPath>,
) -> Result<ApiJson<WebhookWithSecret>, ApiError> {
    let rotated = state
        .flex
        .rotate_webhook_secret(&app.id, &path.webhook_id)
        .await?;
    Ok(ApiJson(rotated))
}

/// A webhook endpoint's messages, newest first, each with its delivery
/// attempts (status code, error, duration) and its next attempt.
#[utoipa::path(get, path = "/v1/apps/{app_id}/webhooks/{webhook_id}/messages", tag = "management",
    params(("app_id" = String, Path), ("webhook_id" = String, Path), MessagesQuery),
    security(("api_key" = [])),
    responses((status = 200, body = WebhookMessageList)))]
pub async fn list_webhook_messages(
    State(state): State<AppState>,
    ManagedApp(app): ManagedApp,
    ApiPath(path): ApiPath<WebhookPath>,
    query: Result<Query<MessagesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<WebhookMessageList>, ApiError> {
    let Query(query) = query.map_err(|e| FlexError::invalid(e.body_text()))?;
    let messages = state
        .flex
        .webhook_messages(&app.id, &path.webhook_id, query.limit)
        .await?;
    Ok(ApiJson(WebhookMessageList { messages }))
}
