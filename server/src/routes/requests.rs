//! One log line and one latency sample per request.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};

use crate::metrics::Metrics;

/// The header that names a request: set by the proxy or made up on arrival
/// (`tower_http::request_id`), and returned on every answer.
pub const REQUEST_ID: &str = "x-request-id";

/// Answers the request, then logs it, once, at INFO: `method`, `route` (the
/// matched route's template, `other` when none matched: never the raw path,
/// which can name ids), `status`, `latency_ms` and `request_id`, the same
/// fields as text or JSON; and records its latency in
/// `latchkey_http_request_duration_seconds`. The line is written outside the
/// request's span, so its fields are not repeated by the span; everything
/// logged while the request is handled is inside that span, with the same
/// `request_id`. The latency is until the answer's head is ready.
pub async fn observe(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics.request(&method, route.as_deref(), status, elapsed.as_secs_f64());
    tracing::info!(
        method = %method,
        route = route.as_deref().unwrap_or("other"),
        status,
        latency_ms = elapsed.as_micros() as f64 / 1000.0,
        request_id,
        "request"
    );
    response
}
