//! HTTP adapters: parse, call one operation, map the answer.

mod health;

use axum::{routing::get, Router};

use crate::state::AppState;

/// The routes that are not the Leptos site.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
}
