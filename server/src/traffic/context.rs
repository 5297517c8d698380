//! The audit log's view of a request: who it comes from (the [`ClientIp`]),
//! its user agent and its request id, set as the events [`Context`] for
//! everything the request does.

use axum::{extract::Request, http::header, middleware::Next, response::Response};

use super::client_ip::ClientIp;
use crate::flex::events::Context;

/// Runs the request with its events context. After the client-IP middleware
/// and the request id.
pub async fn middleware(request: Request, next: Next) -> Response {
    let context = context_of(&request);
    context.scope(next.run(request)).await
}

fn context_of(request: &Request) -> Context {
    let header_text = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    Context {
        ip: request
            .extensions()
            .get::<ClientIp>()
            .map(|ip| ip.0.to_string()),
        user_agent: header_text(header::USER_AGENT.as_str()).map(Context::user_agent_of),
        request_id: header_text("x-request-id").map(str::to_owned),
        actor: None,
    }
}
