//! HTTP adapters: parse, call one operation, map the answer.

mod api;
mod health;
pub mod security;
pub mod site_fns;

use axum::{routing::get, Router};

use crate::state::AppState;

pub use api::openapi;

/// The routes that are not the Leptos site: health and the REST API.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
        .merge(api::router(state))
}
