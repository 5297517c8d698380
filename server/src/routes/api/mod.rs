//! The REST API under `/v1`: Passage's Flex management and client APIs, the
//! provider icons, and the OpenAPI document generated from the handlers.

mod client;
mod error;
mod json;
mod management;
mod wire;

use axum::{
    extract::{DefaultBodyLimit, Path},
    http::{header, StatusCode},
    middleware,
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{flex::aaguid, state::AppState};

/// Request bodies larger than this are refused with 413 `payload_too_large`.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Latchkey", description = "Passkey Flex, self-hosted: Passage's Flex API."),
    modifiers(&ApiKeyAuth),
    tags((name = "management", description = "Server to server, with an API key"),
         (name = "client", description = "Browser to Latchkey, no secret"))
)]
struct ApiDoc;

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "api_key",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

pub fn router(state: AppState) -> Router<AppState> {
    let management = OpenApiRouter::new()
        .routes(routes!(management::create_register_transaction))
        .routes(routes!(management::create_authenticate_transaction))
        .routes(routes!(management::verify_nonce))
        .routes(routes!(management::list_users))
        .routes(routes!(management::get_user))
        .routes(routes!(management::list_devices))
        .routes(routes!(
            management::revoke_device,
            management::rename_device
        ));
    let client = OpenApiRouter::new()
        .routes(routes!(client::register_start))
        .routes(routes!(client::register_finish))
        .routes(routes!(client::authenticate_start))
        .routes(routes!(client::authenticate_finish))
        .route_layer(middleware::from_fn_with_state(state, client::app_and_cors));
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(management)
        .merge(client)
        .split_for_parts();
    api.route(
        "/v1/openapi.json",
        get(move || async move { Json(openapi) }),
    )
    .route("/v1/aaguid-icons/{file}", get(provider_icon))
    .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// The policy of a provider icon: styles of its own, nothing else, sandboxed.
const ICON_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

async fn provider_icon(Path(file): Path<String>) -> impl IntoResponse {
    match aaguid::icon(&file) {
        Some((bytes, media_type)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, media_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                // An SVG opened on its own runs no script and reaches nothing.
                (header::CONTENT_SECURITY_POLICY, ICON_CSP),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
