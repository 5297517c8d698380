//! Liveness and readiness, for load balancers and orchestrators.

use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

use crate::state::AppState;

/// `GET /healthz`: the process is up and serving.
pub async fn alive() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.flex.store().ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(error = %error, "readiness check: the database did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "code": "not_ready", "error": "The database does not answer." })),
            )
        }
    }
}
