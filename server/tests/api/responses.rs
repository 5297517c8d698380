//! What API answers carry besides their JSON: a request id, no caching (the
//! provider icons excepted, which are sandboxed), and, when a ceremony is
//! refused, a stable code and a fixed sentence, never webauthn-rs's words.

use reqwest::{Method, Response};
use serde_json::{json, Value};
use softkey::Authenticator;

use crate::helpers::{spawn_app, TestApp};

async fn client_post(app: &TestApp, path: &str, body: &Value) -> Response {
    app.http
        .post(app.url(&format!("/v1/apps/{}{path}", app.app_id)))
        .header("origin", &app.address)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Asserts a refusal with this status, code and exactly this sentence, and
/// returns its request id.
async fn refused(response: Response, status: u16, code: &str, sentence: &str) -> String {
    assert_eq!(response.status(), status);
    let id = response
        .headers()
        .get("x-request-id")
        .expect("an x-request-id")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "code": code, "error": sentence }));
    id
}

#[tokio::test]
async fn refused_ceremonies_answer_a_fixed_sentence_and_a_request_id() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    let finish_registration = "/register/transactions/webauthn/finish";
    let finish_sign_in = "/authenticate/transactions/webauthn/finish";
    let evil = "https://evil-example.com";

    let (transaction, handshake, options) = app.begin_registration("user-2").await;
    let response = Authenticator::new().register(evil, &options);
    let body = json!({ "transaction_id": transaction, "handshake_id": handshake, "handshake_response": response });
    let first = refused(
        client_post(&app, finish_registration, &body).await,
        400,
        "webauthn_registration_failed",
        "The passkey could not be registered.",
    )
    .await;
    let body = json!({ "transaction_id": transaction, "handshake_id": handshake, "handshake_response": {"id": 1} });
    let second = refused(
        client_post(&app, finish_registration, &body).await,
        400,
        "invalid_request",
        "handshake_response is not a WebAuthn response.",
    )
    .await;
    assert_ne!(first, second, "each request has an id of its own");

    let (transaction, handshake, options) = app.begin_sign_in(Some("user-1")).await;
    let response = authenticator.authenticate(evil, &options);
    let body = json!({ "transaction_id": transaction, "handshake_id": handshake, "handshake_response": response });
    refused(
        client_post(&app, finish_sign_in, &body).await,
        401,
        "webauthn_login_failed",
        "The sign-in with a passkey failed.",
    )
    .await;

    let (_, handshake, options) = app.begin_sign_in(None).await;
    let response = authenticator.authenticate(evil, &options);
    let body = json!({ "handshake_id": handshake, "handshake_response": response });
    refused(
        client_post(&app, finish_sign_in, &body).await,
        401,
        "discoverable_login_failed",
        "The sign-in with a discoverable passkey failed.",
    )
    .await;
}

#[tokio::test]
async fn a_request_id_from_a_proxy_is_kept() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/v1/openapi.json"))
        .header("x-request-id", "proxy-1234")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "proxy-1234");
}

#[tokio::test]
async fn api_answers_errors_included_are_not_stored_by_caches() {
    let app = spawn_app().await;
    let users = format!("/v1/apps/{}/users", app.app_id);
    let start = format!(
        "/v1/apps/{}/authenticate/transactions/webauthn/start",
        app.app_id
    );
    let answers = [
        app.http
            .get(app.url(&users))
            .bearer_auth(&app.api_key)
            .send(),
        app.http.get(app.url(&users)).send(),
        app.http
            .post(app.url(&start))
            .header("origin", &app.address)
            .json(&json!({}))
            .send(),
        app.http
            .post(app.url(&start))
            .header("origin", &app.address)
            .body("{not json")
            .send(),
        app.http
            .request(Method::OPTIONS, app.url(&start))
            .header("origin", &app.address)
            .header("access-control-request-method", "POST")
            .send(),
        app.http
            .get(app.url("/v1/apps/nope/users"))
            .bearer_auth(&app.api_key)
            .send(),
        app.http.get(app.url("/v1/openapi.json")).send(),
        app.http.get(app.url("/v1/aaguid-icons/nope.svg")).send(),
    ];
    for answer in answers {
        let response = answer.await.unwrap();
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{} {}",
            response.url(),
            response.status()
        );
    }
}

#[tokio::test]
async fn provider_icons_are_cached_and_sandboxed() {
    let app = spawn_app().await;
    let google = latchkey::flex::aaguid::provider("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")
        .expect("Google Password Manager is in the list");
    for file in [&google.light, &google.dark].into_iter().flatten() {
        let response = app.get(&format!("/v1/aaguid-icons/{file}")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/svg+xml");
        assert_eq!(response.headers()["cache-control"], "public, max-age=86400");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(
            csp.contains("sandbox") && csp.contains("default-src 'none'"),
            "{csp}"
        );
    }
}
