//! Abuse limits: 429 `rate_limited` with Retry-After, per client IP, per app and
//! per API key; slower password sign-ins after repeated failures.

use std::time::{Duration, Instant};

use latchkey::routes::limits::RateLimitConfig;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, spawn_app, spawn_app_with_limits};

#[tokio::test]
async fn the_client_api_is_limited_per_client_ip() {
    let app = spawn_app_with_limits(RateLimitConfig {
        per_ip: 3,
        ..RateLimitConfig::off()
    })
    .await;
    let path = "/authenticate/transactions/webauthn/start";

    for _ in 0..3 {
        assert_eq!(app.client_post(path, &json!({})).await.0, 200);
    }
    let (other_app, _) = app.other_app().await;
    let limited = app.client_post_raw(&other_app, path, "{}".into()).await;

    assert_error(&limited, 429, "rate_limited");
}

#[tokio::test]
async fn the_client_api_is_limited_per_app_and_says_when_to_retry() {
    let app = spawn_app_with_limits(RateLimitConfig {
        per_app: 2,
        ..RateLimitConfig::off()
    })
    .await;
    let path = "/authenticate/transactions/webauthn/start";
    let url = app.url(&format!("/v1/apps/{}{path}", app.app_id));

    for _ in 0..2 {
        assert_eq!(app.client_post(path, &json!({})).await.0, 200);
    }
    let limited = app.http.post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // Another app is not limited by this one's traffic.
    let (other_app, _) = app.other_app().await;
    assert_eq!(
        app.client_post_raw(&other_app, path, "{}".into()).await.0,
        200
    );
}

#[tokio::test]
async fn the_management_api_is_limited_per_api_key() {
    let app = spawn_app_with_limits(RateLimitConfig {
        per_key: 2,
        ..RateLimitConfig::off()
    })
    .await;
    let body = json!({ "external_id": "user-1", "passkey_display_name": "Ada" });
    let second = latchkey::flex::apps::create_api_key(&app.store, &app.app_id, app.clock.now())
        .await
        .unwrap();

    for _ in 0..2 {
        assert_eq!(
            app.manage(Method::POST, "/transactions/register", Some(&body))
                .await
                .0,
            200
        );
    }
    let limited = app
        .manage(Method::POST, "/transactions/register", Some(&body))
        .await;
    assert_error(&limited, 429, "rate_limited");
    let other_key = app
        .manage_as(
            &app.app_id,
            Some(second.key.as_str()),
            Method::POST,
            "/transactions/register",
            Some(&body),
        )
        .await;
    assert_eq!(other_key.0, 200, "{}", other_key.1);
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_times_out_with_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let port = app.address.rsplit(':').next().unwrap();
    let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let path = format!(
        "/v1/apps/{}/authenticate/transactions/webauthn/start",
        app.app_id
    );
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"trans"
    );
    stream.write_all(head.as_bytes()).await.unwrap();

    // The test server's timeout is 5 s; the rest of the body never comes.
    let started = Instant::now();
    let mut answer = vec![0; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer)).await;
    let answer =
        String::from_utf8_lossy(&answer[..read.expect("the server answers").unwrap()]).into_owned();

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}
