//! `GET /metrics`: the instance's metrics in the Prometheus text format, for a
//! scraper. Outside `/v1` (and the OpenAPI document): it is the operator's, not
//! the API's. With `--metrics-token`, only a scrape bearing it is answered.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use crate::{metrics, state::AppState};

pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        if !token.admits(headers.get(header::AUTHORIZATION)) {
            tracing::debug!("a metrics scrape without the metrics token was refused");
            let body = serde_json::json!({
                "code": "invalid_metrics_token",
                "error": "The metrics need the metrics token: Authorization: Bearer <token>.",
            });
            let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
            return response;
        }
    }
    (
        [
            (header::CONTENT_TYPE, metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        state.flex.metrics().encode(),
    )
        .into_response()
}
