//! Browser security for every answer, and same-site server functions.

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};

use crate::state::AppState;

/// Headers every answer carries (the site's pages add their CSP, with the nonce
/// of their hydration script, in `app`). API answers, errors included, are not
/// kept by any cache unless the route says otherwise (the provider icons do).
pub async fn headers(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/v1/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if api {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// The site's and the console's server functions (`/site/*`, `/console/fn/*`)
/// answer only this origin: a browser request from another origin (its
/// `Origin`, or `Sec-Fetch-Site: cross-site`) is refused.
pub async fn same_site_server_fns(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/site/") || path.starts_with("/console/fn/") {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let allowed = match header("origin") {
            Some(origin) => origin == state.public_url.origin(),
            None => header("sec-fetch-site") != Some("cross-site"),
        };
        if !allowed {
            tracing::debug!("cross-site server function call refused");
            let body = serde_json::json!({
                "code": "cross_site_request",
                "error": "This request came from another site and was refused.",
            });
            return (StatusCode::FORBIDDEN, Json(body)).into_response();
        }
    }
    next.run(request).await
}
