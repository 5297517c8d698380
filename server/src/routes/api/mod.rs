//! The REST API under `/v1`: Passage's Flex management and client APIs, the
//! provider icons, and the OpenAPI document generated from the handlers.

mod client;
mod error;
mod json;
mod management;
mod reference;
mod webhooks;
mod wire;

use std::sync::LazyLock;

use axum::{
    extract::{DefaultBodyLimit, Path},
    http::{header, StatusCode},
    middleware,
    response::IntoResponse,
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
    info(title = "Latchkey", description = "Passkey Flex, self-hosted: Passage's Flex API, and Latchkey's additions."),
    modifiers(&ApiKeyAuth),
    components(schemas(wire::ErrorBody)),
    tags((name = "management", description = "Server to server, with an API key (`Authorization: Bearer …`)"),
         (name = "client", description = "Browser to Latchkey: no secret, the app id is in the path; CORS for the app's origins"),
         (name = "meta", description = "This document and the passkey providers' icons: no secret"))
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
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some("An API key of the app (`latchkey keys create`)."))
                        .build(),
                ),
            );
    }
}

/// Every route under `/v1`, each with its OpenAPI operation: the client API
/// apart, as it runs behind its own middleware.
fn routes() -> (OpenApiRouter<AppState>, OpenApiRouter<AppState>) {
    let rest = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(management::create_register_transaction))
        .routes(routes!(management::create_authenticate_transaction))
        .routes(routes!(management::verify_nonce))
        .routes(routes!(management::list_users))
        .routes(routes!(management::get_user, management::rename_user))
        .routes(routes!(management::list_devices))
        .routes(routes!(management::user_signals))
        .routes(routes!(
            management::revoke_device,
            management::rename_device
        ))
        .routes(routes!(management::list_events))
        .routes(routes!(management::export_app))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(webhooks::remove_webhook))
        .routes(routes!(webhooks::rotate_webhook_secret))
        .routes(routes!(webhooks::list_webhook_messages))
        .routes(routes!(openapi_document))
        .routes(routes!(provider_icon));
    let client = OpenApiRouter::new()
        .routes(routes!(client::register_start))
        .routes(routes!(client::register_finish))
        .routes(routes!(client::authenticate_start))
        .routes(routes!(client::authenticate_finish))
        .routes(routes!(client::jwks))
        .routes(routes!(client::well_known_webauthn));
    (rest, client)
}

/// The OpenAPI document of every route under `/v1` (`GET /v1/openapi.json`,
/// `latchkey openapi`, the reference at `/docs/api`).
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
        let (rest, client) = routes();
        let mut document = rest.merge(client).into_openapi();
        reference::complete(&mut document);
        document
    });
    &DOCUMENT
}

pub fn router(state: AppState) -> Router<AppState> {
    let (rest, client) = routes();
    let (rest, _) = rest.split_for_parts();
    let (client, _) = client.split_for_parts();
    rest.merge(client.route_layer(middleware::from_fn_with_state(state, client::app_and_cors)))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// `/.well-known/webauthn` of the built-in site, whose RP ID is the public
/// URL's host: its app's document, as `GET /v1/apps/{app_id}/well-known-webauthn`
/// answers it.
pub async fn site_well_known_webauthn(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    match state.flex.find_app(&state.site.app_id).await {
        Ok(app) => client::well_known_webauthn_document(&app),
        Err(error) => error::ApiError::from(error).into_response(),
    }
}

/// A path under `/v1/` that no route has: 404 `not_found`, in the API's form.
pub fn not_found() -> axum::response::Response {
    error::ApiError::NoRoute.into_response()
}

/// This document: OpenAPI 3.1, every route under `/v1`.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_document() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(openapi())
}

/// The policy of a provider icon: styles of its own, nothing else, sandboxed.
const ICON_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// A passkey provider's icon: the URLs in a device's `icons` point here.
#[utoipa::path(get, path = "/v1/aaguid-icons/{file}", tag = "meta",
    params(("file" = String, Path, description = "An icon's file name, as a device's `icons` give it", example = "1password-icon-light.svg")),
    responses((status = 200, description = "The icon", content(("image/svg+xml"), ("image/png"))),
        (status = 404, description = "No provider has this icon")))]
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
