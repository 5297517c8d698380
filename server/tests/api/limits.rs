//! Abuse limits: 429 `rate_limited` with Retry-After, per client IP, per app and
//! per API key, bounded and pruned, and per forwarded client behind a trusted
//! proxy; slower password sign-ins after repeated failures.

use std::time::{Duration, Instant};

use futures::StreamExt;
use latchkey::traffic::{client_ip::TrustedProxies, limits::RateLimitConfig};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, spawn_app_with, spawn_app_with_limits, TestApp};

const START: &str = "/authenticate/transactions/webauthn/start";

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
    let app_id = latchkey::flex::ids::AppId::parse(&app.app_id).unwrap();
    let second = app.core.create_api_key(&app_id).await.unwrap();

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
    // A timeout on the socket is real time: a short one, so the test waits little.
    let timeout = Duration::from_millis(500);
    let app = spawn_app_with(|config| config.request_timeout = timeout).await;
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

    // The rest of the body never comes.
    let started = Instant::now();
    let mut answer = vec![0; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer)).await;
    let answer =
        String::from_utf8_lossy(&answer[..read.expect("the server answers").unwrap()]).into_owned();

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() >= timeout * 4 / 5,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_management_api_is_limited_per_client_ip_before_the_key_is_looked_up() {
    let app = spawn_app_with_limits(RateLimitConfig {
        per_management_ip: 2,
        ..RateLimitConfig::off()
    })
    .await;
    let body = json!({ "external_id": "user-1", "passkey_display_name": "Ada" });
    let guess = |key: &'static str| {
        app.manage_as(
            &app.app_id,
            Some(key),
            Method::POST,
            "/transactions/register",
            Some(&body),
        )
    };

    assert_error(&guess("lk_wrong").await, 401, "invalid_access_token");
    assert_error(&guess("lk_wrong_again").await, 401, "invalid_access_token");
    let limited = app
        .manage(Method::POST, "/transactions/register", Some(&body))
        .await;

    assert_error(&limited, 429, "rate_limited");
    // The client API from the same address has its own budget.
    assert_eq!(app.client_post(START, &json!({})).await.0, 200);
}

/// 100,000 requests (about 40 s in a debug build); `LATCHKEY_TEST_FLOOD` sets
/// another count (at least 1,000).
#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_random_app_ids_and_bearers_is_refused_and_leaves_the_limiters_small() {
    let requests: usize = std::env::var("LATCHKEY_TEST_FLOOD")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let app = spawn_app_with_limits(RateLimitConfig {
        per_ip: 100,
        per_management_ip: 100,
        ..RateLimitConfig::default()
    })
    .await;
    let body = json!({ "external_id": "user-1", "passkey_display_name": "Ada" });
    // One real request each: the app's and the key's buckets hold one key each.
    assert_eq!(app.client_post(START, &json!({})).await.0, 200);
    let real = app
        .manage(Method::POST, "/transactions/register", Some(&body))
        .await;
    assert_eq!(real.0, 200, "{}", real.1);

    let random = || uuid::Uuid::new_v4().simple().to_string();
    let statuses: Vec<u16> = futures::stream::iter(0..requests)
        .map(|i| {
            let request = match i % 3 {
                0 => app
                    .http
                    .post(app.url(&format!("/v1/apps/{}{START}", random())))
                    .json(&json!({})),
                1 => app
                    .http
                    .post(app.url(&format!("/v1/apps/{}/transactions/register", app.app_id)))
                    .bearer_auth(format!("lk_{}{}", random(), random()))
                    .json(&body),
                _ => app
                    .http
                    .get(app.url(&format!("/v1/apps/{}/users/{}", random(), random())))
                    .bearer_auth(random()),
            };
            async move { request.send().await.unwrap().status().as_u16() }
        })
        .buffer_unordered(32)
        .collect()
        .await;

    let count = |status: u16| statuses.iter().filter(|s| **s == status).count();
    let seen = [401, 404, 429].map(|status| (status, count(status)));
    // Each per-IP budget had 99 requests left; everything beyond is refused.
    assert_eq!(count(429), requests - 2 * 99, "{seen:?}");
    assert_eq!(count(401) + count(404), 2 * 99, "{seen:?}");
    // Two client IPs (client and management API), one app, one key: nothing
    // a made-up id or bearer could add.
    assert_eq!(app.limits.key_count(), 4);

    // Once every budget is full again, pruning forgets every key.
    app.clock.advance(Duration::from_secs(2));
    app.limits.prune();
    assert_eq!(app.limits.key_count(), 0);
    assert_eq!(app.client_post(START, &json!({})).await.0, 200);
}

async fn start_forwarded_for(app: &TestApp, forwarded_for: &str) -> u16 {
    app.http
        .post(app.url(&format!("/v1/apps/{}{START}", app.app_id)))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let app = spawn_app_with(|config| {
        config.rate_limits = RateLimitConfig {
            per_ip: 2,
            ..RateLimitConfig::off()
        };
        config.trusted_proxies = TrustedProxies::parse(&["127.0.0.1/32"]).unwrap();
    })
    .await;

    for expected in [200, 200, 429] {
        assert_eq!(start_forwarded_for(&app, "203.0.113.1").await, expected);
    }
    assert_eq!(start_forwarded_for(&app, "203.0.113.2").await, 200);
    // What a client writes left of what the proxy appended is not believed.
    assert_eq!(
        start_forwarded_for(&app, "203.0.113.2, 203.0.113.1").await,
        429
    );
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_headers_are_ignored() {
    let app = spawn_app_with_limits(RateLimitConfig {
        per_ip: 2,
        ..RateLimitConfig::off()
    })
    .await;

    assert_eq!(start_forwarded_for(&app, "203.0.113.1").await, 200);
    assert_eq!(start_forwarded_for(&app, "203.0.113.2").await, 200);
    assert_eq!(start_forwarded_for(&app, "203.0.113.3").await, 429);
}
