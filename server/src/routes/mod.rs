//! HTTP adapters: parse, call one operation, map the answer.

mod api;
mod api_docs;
mod health;
mod metrics;
pub mod requests;
pub mod security;
pub mod site_fns;

use axum::{routing::get, Router};

use crate::state::AppState;

pub use api::{not_found as api_not_found, openapi};

/// The routes that are not the Leptos site: health, metrics, the REST API and its reference.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::scrape))
        .route("/docs/api", get(api_docs::page))
        .route("/.well-known/webauthn", get(api::site_well_known_webauthn))
        .merge(api::router(state))
}
