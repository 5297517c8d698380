//! The site's server functions (`/site/*`) pass here first: the body limit of
//! the API, then the site's limits (`site::limits`), counted before the work.

use std::net::{IpAddr, Ipv4Addr};

use app::api::{
    server::{form_echo_cookie, form_post_page, is_form_refusal},
    FormEcho,
};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use leptos::{prelude::ServerFnError, server_fn::error::FromServerFnError};

use crate::{
    routes::api::BODY_LIMIT, site::limits::Call, state::AppState, traffic::client_ip::ClientIp,
};

/// The address limits are counted for: the client's (`traffic::client_ip`,
/// which believes forwarding headers only from `--trusted-proxy` peers).
fn client_ip(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ClientIp>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ClientIp(ip)| *ip)
}

/// A refusal in the server functions' own error encoding, so the page shows
/// the sentence.
fn refused(status: StatusCode, path: &str, message: &str) -> Response {
    let error: ServerFnError = ServerFnError::ServerError(message.to_owned());
    let body = error.ser();
    let mut response = (status, body).into_response();
    if let Ok(path) = HeaderValue::from_str(path) {
        response.headers_mut().insert("serverfnerror", path);
    }
    response
}

/// 303 back to a plain form's page, with what went wrong and the email typed.
fn back_to_form(page: &str, email: Option<&str>, message: &str, secure: bool) -> Response {
    let echo = FormEcho {
        page: page.to_owned(),
        email: email.unwrap_or_default().to_owned(),
        error: message.to_owned(),
    };
    let mut response = Redirect::to(page).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&form_echo_cookie(&echo, secure)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

pub async fn limit_server_fns(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/console/fn/") {
        // The console's server functions: the body limit only (operators are
        // signed in; their sign-in runs through the rate-limited client API).
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                &path,
                "That request is too large.",
            );
        };
        return next.run(Request::from_parts(parts, Body::from(body))).await;
    }
    if !path.starts_with("/site/") {
        return next.run(request).await;
    }
    let ip = client_ip(&request);
    let (parts, body) = request.into_parts();
    // A plain HTML form's post is refused the way its server function refuses
    // it: back to its page, which shows why and keeps the email.
    let form_page = form_post_page(&parts.headers);
    let secure = state.site.secure_cookies;
    let refused = |status, path: &str, message: &str, email: Option<&str>| match &form_page {
        Some(page) => back_to_form(page, email, message, secure),
        None => refused(status, path, message),
    };
    // A declared length beyond the limit is refused before reading.
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            &path,
            "That request is too large.",
            None,
        );
    };
    // The server functions take their arguments as a URL-encoded form; a
    // password among them means an Argon2 run (sign-in, sign-up).
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut emails = form.iter().filter(|(name, _)| name == "email");
    let email = emails.next().map(|(_, value)| value.as_str());
    if emails.next().is_some() {
        return refused(
            StatusCode::BAD_REQUEST,
            &path,
            "Give one email address.",
            None,
        );
    }
    let call = Call {
        ip,
        email,
        password: form.iter().any(|(name, _)| name == "password"),
    };
    if let Err(wait) = state.site_limits.admit(&call) {
        tracing::debug!(%ip, path, "site call refused: rate limit");
        state.flex.metrics().rate_limit_refused("site");
        let mut response = refused(
            StatusCode::TOO_MANY_REQUESTS,
            &path,
            "Too many attempts. Wait a moment, then try again.",
            email,
        );
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    // A plain form's sign-in answers 303 either way; a refusal carries its echo.
    let signed_in = response.status().is_success()
        || (response.status() == StatusCode::SEE_OTHER && !is_form_refusal(response.headers()));
    if let (true, Some(email)) = (path == "/site/sign-in" && signed_in, email) {
        state.site_limits.signed_in(ip, email);
    }
    response
}
