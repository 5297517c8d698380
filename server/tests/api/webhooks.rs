//! Webhooks: delivered to a real local HTTP receiver, signed as the Standard
//! Webhooks specification says (verified here by its algorithm, written
//! again), durable across a receiver that is down, a rotation, a kill -9 of
//! the server, and two instances on one database; refused for private
//! addresses (SSRF) and for bad input, which changes nothing.

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{
        atomic::{AtomicU16, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, Mac};
use latchkey::{
    flex::{apps::NewApp, clock::Clock, Flex},
    startup::Application,
    traffic::limits::RateLimitConfig,
};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::Connection as _;

use crate::helpers::{
    assert_error, issued, spawn_app_with, test_config_with_limits, TestApp, TestDatabase,
};

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Delivery {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Default)]
struct Seen {
    deliveries: Vec<Delivery>,
    /// Deliveries in flight now, per message id and per path (endpoint).
    in_flight: HashMap<String, usize>,
    endpoint_in_flight: HashMap<String, usize>,
    /// The most in flight at once, for one message and for one endpoint.
    most_per_message: usize,
    most_per_endpoint: usize,
}

/// A local HTTP receiver: answers `status` (after `delay`) and notes every
/// request, and how many were in flight at once.
#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Seen>>,
    status: Arc<AtomicU16>,
    delay: Duration,
}

impl Receiver {
    fn new(delay: Duration) -> Self {
        Self {
            seen: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            delay,
        }
    }

    /// Starts answering on `listener`.
    fn serve(&self, listener: tokio::net::TcpListener) {
        let router = Router::new()
            .route("/{*path}", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.seen.lock().unwrap().deliveries.clone()
    }

    /// The event type of each delivery, in order.
    fn delivered_types(&self) -> Vec<String> {
        self.deliveries()
            .iter()
            .map(|d| {
                let body: Value = serde_json::from_str(&d.body).unwrap();
                body["type"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    /// Each message id once, in the order first received, for one path.
    fn delivered_ids(&self, path: &str) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for d in self.deliveries() {
            if d.path == path && !ids.contains(&d.id) {
                ids.push(d.id);
            }
        }
        ids
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let delivery = Delivery {
        path: uri.path().to_owned(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    };
    {
        let mut seen = receiver.seen.lock().unwrap();
        let n = seen.in_flight.entry(delivery.id.clone()).or_default();
        *n += 1;
        let n = *n;
        seen.most_per_message = seen.most_per_message.max(n);
        let e = seen
            .endpoint_in_flight
            .entry(delivery.path.clone())
            .or_default();
        *e += 1;
        let e = *e;
        seen.most_per_endpoint = seen.most_per_endpoint.max(e);
    }
    tokio::time::sleep(receiver.delay).await;
    let status = receiver.status.load(Ordering::SeqCst);
    let mut seen = receiver.seen.lock().unwrap();
    *seen.in_flight.get_mut(&delivery.id).unwrap() -= 1;
    *seen.endpoint_in_flight.get_mut(&delivery.path).unwrap() -= 1;
    if status == 200 {
        seen.deliveries.push(delivery);
    }
    StatusCode::from_u16(status).unwrap()
}

/// A free port of 127.0.0.1 with nothing listening on it (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn listen_on(port: u16) -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap()
}

/// The signatures of `header` that verify with `secret`, by the
/// specification's algorithm: `v1,` base64(HMAC-SHA256(base64-decoded
/// secret, `{id}.{timestamp}.{body}`)), space-separated.
fn valid_signatures(secret: &str, delivery: &Delivery) -> usize {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", delivery.id, delivery.timestamp, delivery.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    delivery
        .signature
        .split(' ')
        .filter(|s| *s == expected)
        .count()
}

/// Waits (real time, up to 20 s) until `done` holds.
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server whose worker looks every 20 ms and may deliver to 127.0.0.1.
async fn spawn_delivering_app() -> TestApp {
    spawn_app_with(|config| {
        config.webhooks.allow_private = true;
        config.webhooks.poll_interval = Duration::from_millis(20);
    })
    .await
}

async fn add_webhook(test: &TestApp, url: &str, event_types: &[&str]) -> (String, String) {
    let (status, body) = test
        .manage(
            Method::POST,
            "/webhooks",
            Some(&json!({ "url": url, "event_types": event_types })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (body["webhook"]["id"].as_str().unwrap().to_owned(), secret)
}

async fn messages(test: &TestApp, webhook: &str) -> Vec<Value> {
    let (status, body) = test
        .manage(Method::GET, &format!("/webhooks/{webhook}/messages"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["messages"].as_array().unwrap().clone()
}

/// The ids of the app's events, oldest first (of the given types).
async fn event_ids(test: &TestApp, types: &[&str]) -> Vec<String> {
    let (_, body) = test.manage(Method::GET, "/events?limit=200", None).await;
    let mut ids: Vec<String> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| types.contains(&e["type"].as_str().unwrap()))
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    ids.reverse();
    ids
}

async fn create_transactions(test: &TestApp, n: usize) {
    for i in 0..n {
        let id = test
            .flex
            .auth
            .create_register_transaction(&format!("user-{i}"), "Ada")
            .await
            .unwrap();
        issued(&id);
    }
}

#[tokio::test]
async fn a_receiver_down_for_a_while_gets_every_message_in_order_and_signed() {
    let test = spawn_delivering_app().await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let (webhook, secret) = add_webhook(&test, &url, &[]).await;
    create_transactions(&test, 3).await;

    // Down (nothing listens): the first message is tried and fails; the others wait behind it.
    let mut first = Vec::new();
    for _ in 0..500 {
        first = messages(&test, &webhook).await;
        if first.last().unwrap()["attempts"].as_array().unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(first.len(), 4, "webhook.created and three transactions");
    let oldest = first.last().unwrap();
    assert_eq!(oldest["status"], "pending");
    assert_eq!(oldest["attempts"][0]["status_code"], Value::Null);
    assert!(oldest["attempts"][0]["error"].as_str().unwrap() != "");
    assert!(
        first[..3].iter().all(|m| m["attempt_count"] == 0),
        "{first:?}"
    );

    // Up but failing (503): tried again when the back-off (5 s, then 10 s) is over.
    let receiver = Receiver::new(Duration::ZERO);
    receiver.answer(503);
    receiver.serve(listen_on(port).await);
    test.clock.advance(Duration::from_secs(5));
    wait_for_attempts(&test, &webhook, 2).await;
    test.clock.advance(Duration::from_secs(9));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        messages(&test, &webhook).await.last().unwrap()["attempt_count"],
        2,
        "not before its back-off is over"
    );

    // Up: every message arrives, in the order of their events.
    receiver.answer(200);
    test.clock.advance(Duration::from_secs(1));
    wait_for("four deliveries", || {
        receiver.delivered_ids("/hook").len() == 4
    })
    .await;
    // The receiver notes a delivery before it answers: the worker settles it after.
    let listed = settled_messages(&test, &webhook).await;
    assert!(
        listed.iter().all(|m| m["status"] == "delivered"),
        "{listed:?}"
    );
    let oldest = listed.last().unwrap();
    let codes: Vec<_> = oldest["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, [Value::Null, json!(503), json!(200)]);
    assert_eq!(oldest["next_attempt_at"], Value::Null);

    let events = event_ids(&test, &["webhook.created", "transaction.created"]).await;
    let mut by_id = HashMap::new();
    for delivery in receiver.deliveries() {
        assert_eq!(valid_signatures(&secret, &delivery), 1, "{delivery:?}");
        assert_eq!(delivery.signature.split(' ').count(), 1);
        let body: Value = serde_json::from_str(&delivery.body).unwrap();
        assert_eq!(body["type"], body["data"]["type"]);
        assert_eq!(body["timestamp"], body["data"]["created_at"]);
        assert!(delivery.id.starts_with("msg_"));
        let at: i64 = delivery.timestamp.parse().unwrap();
        assert!(
            (at - test.clock.now() / 1000).abs() <= 20,
            "the attempt's time, in seconds"
        );
        by_id.insert(
            delivery.id.clone(),
            body["data"]["id"].as_str().unwrap().to_owned(),
        );
    }
    let delivered: Vec<String> = receiver
        .delivered_ids("/hook")
        .iter()
        .map(|id| by_id[id].clone())
        .collect();
    assert_eq!(delivered, events, "in the order of the events");
    // The data is the event as the events API shows it.
    let (_, page) = test.manage(Method::GET, "/events?limit=200", None).await;
    let last: Value = serde_json::from_str(&receiver.deliveries().last().unwrap().body).unwrap();
    assert!(page["events"].as_array().unwrap().contains(&last["data"]));
}

/// An endpoint's messages once none is pending.
async fn settled_messages(test: &TestApp, webhook: &str) -> Vec<Value> {
    for _ in 0..500 {
        let listed = messages(test, webhook).await;
        if listed.iter().all(|m| m["status"] != "pending") {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("messages still pending");
}

async fn wait_for_attempts(test: &TestApp, webhook: &str, n: i64) {
    for _ in 0..500 {
        let listed = messages(test, webhook).await;
        if listed.last().unwrap()["attempts"].as_array().unwrap().len() as i64 >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never {n} attempts");
}

#[tokio::test]
async fn only_the_types_asked_for_are_delivered_and_a_rotation_signs_twice_for_a_day() {
    let test = spawn_delivering_app().await;
    let port = free_port();
    let receiver = Receiver::new(Duration::ZERO);
    receiver.serve(listen_on(port).await);
    let url = format!("http://127.0.0.1:{port}/types");
    let (webhook, old) = add_webhook(
        &test,
        &url,
        &["transaction.created", "webhook.secret_rotated"],
    )
    .await;

    let (status, rotated) = test
        .manage(
            Method::POST,
            &format!("/webhooks/{webhook}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["webhook"]["previous_secret_expires_at"].is_string());
    create_transactions(&test, 1).await;
    wait_for("two deliveries", || receiver.deliveries().len() == 2).await;
    for delivery in receiver.deliveries() {
        assert_eq!(delivery.signature.split(' ').count(), 2, "{delivery:?}");
        assert_eq!(valid_signatures(&new, &delivery), 1);
        assert_eq!(valid_signatures(&old, &delivery), 1);
    }
    let types = receiver.delivered_types();
    assert_eq!(types, ["webhook.secret_rotated", "transaction.created"]);

    // A day later, the old secret no longer signs.
    test.clock.advance(Duration::from_secs(24 * 60 * 60 + 1));
    create_transactions(&test, 1).await;
    wait_for("a third delivery", || receiver.deliveries().len() == 3).await;
    let last = receiver.deliveries().pop().unwrap();
    assert_eq!(last.signature.split(' ').count(), 1);
    assert_eq!(valid_signatures(&new, &last), 1);
    assert_eq!(valid_signatures(&old, &last), 0);
    let (_, listed) = test.manage(Method::GET, "/webhooks", None).await;
    assert_eq!(
        listed["webhooks"][0]["previous_secret_expires_at"],
        Value::Null
    );
    assert!(
        !listed.to_string().contains("whsec_"),
        "a listing never shows a secret: {listed}"
    );
}

#[tokio::test]
async fn private_addresses_are_refused_when_added_and_when_delivered_to() {
    let test = spawn_app_with(|config| {
        config.webhooks.poll_interval = Duration::from_millis(20);
    })
    .await;
    let before = test.fingerprint().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
    ] {
        let answer = test
            .manage(Method::POST, "/webhooks", Some(&json!({ "url": url })))
            .await;
        assert_error(&answer, 400, "invalid_request");
        assert!(
            answer.1["error"]
                .as_str()
                .unwrap()
                .contains("public address"),
            "{url}: {}",
            answer.1
        );
    }
    assert_eq!(test.fingerprint().await, before);
    let (_, listed) = test.manage(Method::GET, "/webhooks", None).await;
    assert_eq!(listed["webhooks"], json!([]));

    // Added by a core that allows them, they are still refused at delivery
    // by a server that does not: an address, and a name that resolves to one.
    let port = free_port();
    let receiver = Receiver::new(Duration::ZERO);
    receiver.serve(listen_on(port).await);
    let allowing: Flex = test.core.clone().allowing_private_webhooks(true);
    let app = latchkey::flex::ids::AppId::parse(&test.app_id).unwrap();
    let mut ids = Vec::new();
    for url in [
        format!("http://127.0.0.1:{port}/literal"),
        format!("http://localhost:{port}/name"),
    ] {
        let created = allowing.create_webhook(&app, &url, &[]).await.unwrap();
        issued(&created.secret);
        ids.push(created.webhook.id);
    }
    for id in &ids {
        wait_for_attempts(&test, id, 1).await;
        let listed = messages(&test, id).await;
        let error = listed.last().unwrap()["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(error.contains("private or reserved address"), "{error}");
    }
    assert!(receiver.deliveries().is_empty());
    assert!(
        receiver.seen.lock().unwrap().in_flight.is_empty(),
        "never connected"
    );
}

#[tokio::test]
async fn bad_input_and_another_apps_endpoint_are_refused_and_change_nothing() {
    let test = spawn_delivering_app().await;
    let (webhook, _) = add_webhook(&test, "http://127.0.0.1:9/hook", &["nonce.verified"]).await;
    let (other_app, other_key) = test.other_app().await;
    let before = test.fingerprint().await;
    let webhooks = |body: &Value| body["webhooks"].clone();
    let (_, listed_before) = test.manage(Method::GET, "/webhooks", None).await;
    let (_, events_before) = test.manage(Method::GET, "/events?limit=200", None).await;

    for (body, words) in [
        (json!({ "url": "not a url" }), "url must be an absolute"),
        (
            json!({ "url": "ftp://example.com/" }),
            "must start with https://",
        ),
        (json!({ "url": "" }), "url must be"),
        (
            json!({ "url": "https://u:p@93.184.216.34/" }),
            "credentials",
        ),
        (
            json!({ "url": "https://93.184.216.34/", "event_types": ["nonce.verified", "nope"] }),
            "event_types must each be one of",
        ),
    ] {
        let answer = test.manage(Method::POST, "/webhooks", Some(&body)).await;
        assert_error(&answer, 400, "invalid_request");
        assert!(
            answer.1["error"].as_str().unwrap().contains(words),
            "{}",
            answer.1
        );
    }
    let answer = test
        .manage(
            Method::POST,
            "/webhooks",
            Some(&json!({ "event_types": [] })),
        )
        .await;
    assert_error(&answer, 400, "invalid_request");

    // Another app's key cannot see, rotate or remove this app's endpoint.
    for (method, path) in [
        (Method::DELETE, format!("/webhooks/{webhook}")),
        (Method::POST, format!("/webhooks/{webhook}/rotate-secret")),
        (Method::GET, format!("/webhooks/{webhook}/messages")),
    ] {
        let answer = test
            .manage_as(&other_app, Some(&other_key), method.clone(), &path, None)
            .await;
        assert_error(&answer, 404, "webhook_not_found");
        let answer = test
            .manage_as(&other_app, Some(&test.api_key), method.clone(), &path, None)
            .await;
        assert_error(&answer, 401, "invalid_access_token");
    }
    let (_, others) = test
        .manage_as(&other_app, Some(&other_key), Method::GET, "/webhooks", None)
        .await;
    assert_eq!(others["webhooks"], json!([]));
    for path in ["/webhooks/wh_nope", "/webhooks/nope/rotate-secret"] {
        let method = if path.ends_with("secret") {
            Method::POST
        } else {
            Method::DELETE
        };
        assert_error(
            &test.manage(method, path, None).await,
            404,
            "webhook_not_found",
        );
    }
    assert_error(
        &test
            .manage(
                Method::GET,
                &format!("/webhooks/{webhook}/messages?limit=0"),
                None,
            )
            .await,
        400,
        "invalid_request",
    );

    let (_, listed_after) = test.manage(Method::GET, "/webhooks", None).await;
    assert_eq!(webhooks(&listed_after), webhooks(&listed_before));
    let (_, events_after) = test.manage(Method::GET, "/events?limit=200", None).await;
    assert_eq!(events_after["events"], events_before["events"]);
    assert_eq!(test.fingerprint().await, before);

    // Removed: its messages go with it, and it is gone.
    let (status, _) = test
        .manage(Method::DELETE, &format!("/webhooks/{webhook}"), None)
        .await;
    assert_eq!(status, 204);
    let (_, listed) = test.manage(Method::GET, "/webhooks", None).await;
    assert_eq!(listed["webhooks"], json!([]));
    let (_, events) = test.manage(Method::GET, "/events?limit=5", None).await;
    assert_eq!(events["events"][0]["type"], "webhook.removed");
    assert_eq!(
        events["events"][0]["detail"]["webhook_id"],
        webhook.as_str()
    );
}

fn cli(database_url: &str, args: &[&str]) -> std::process::Output {
    crate::cli::latchkey()
        .args(args)
        .env("DATABASE_URL", database_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn cli_json(database_url: &str, args: &[&str]) -> Value {
    let output = cli(database_url, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn the_cli_adds_lists_rotates_and_removes_and_refuses_bad_input() {
    let database = TestDatabase::fresh().await;
    let url = database.url.clone();
    let (app, _) = crate::cli::create_local_app(&url, "Shop");
    let app = app.as_str();

    let added = cli_json(
        &url,
        &[
            "webhooks",
            "add",
            "--app",
            app,
            "--url",
            "https://93.184.216.34/hook",
            "--event",
            "nonce.verified",
            "--event",
            "passkey.revoked",
            "--json",
        ],
    );
    let id = added["id"].as_str().unwrap();
    let secret = added["secret"].as_str().unwrap();
    assert!(
        id.starts_with("wh_") && secret.starts_with("whsec_"),
        "{added}"
    );
    assert_eq!(
        added["event_types"],
        json!(["nonce.verified", "passkey.revoked"])
    );

    let listed = cli_json(&url, &["webhooks", "list", "--app", app, "--json"]);
    assert_eq!(listed[0]["id"], id);
    assert!(!listed.to_string().contains("whsec_"));

    let rotated = cli_json(
        &url,
        &["webhooks", "rotate-secret", "--app", app, id, "--json"],
    );
    assert_ne!(rotated["secret"], secret);

    let before = cli_json(&url, &["webhooks", "list", "--app", app, "--json"]);
    for (args, words) in [
        (
            vec!["webhooks", "add", "--app", app, "--url", "not a url"],
            "url must be",
        ),
        (
            vec![
                "webhooks",
                "add",
                "--app",
                app,
                "--url",
                "https://93.184.216.34/",
                "--event",
                "nope",
            ],
            "event_types must each be one of",
        ),
        (
            vec![
                "webhooks",
                "add",
                "--app",
                app,
                "--url",
                "http://127.0.0.1:9/",
            ],
            "public address",
        ),
        (
            vec![
                "webhooks",
                "add",
                "--app",
                "0000",
                "--url",
                "https://93.184.216.34/",
            ],
            "app does not exist",
        ),
        (
            vec!["webhooks", "remove", "--app", app, "wh_nope"],
            "webhook does not exist",
        ),
        (
            vec!["webhooks", "rotate-secret", "--app", app, "wh_nope"],
            "webhook does not exist",
        ),
    ] {
        let output = cli(&url, &args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(words), "{args:?}: {stderr}");
    }
    assert_eq!(
        cli_json(&url, &["webhooks", "list", "--app", app, "--json"]),
        before
    );

    // Allowed explicitly, a loopback address is accepted.
    let output = cli(
        &url,
        &[
            "webhooks",
            "add",
            "--app",
            app,
            "--url",
            "http://127.0.0.1:9/",
            "--webhook-allow-private",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("whsec_") && printed.contains("shown only now"),
        "{printed}"
    );

    let output = cli(&url, &["webhooks", "remove", "--app", app, id]);
    assert!(output.status.success());
    let listed = cli_json(&url, &["webhooks", "list", "--app", app, "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_ne!(listed[0]["id"], id);

    // No secret in any event.
    let store = latchkey::store::Store::connect(&url).await.unwrap();
    let flex = Flex::new(store, Clock::system());
    let page = flex
        .list_events(
            latchkey::flex::events::Scope::All,
            &latchkey::flex::events::EventFilter {
                limit: 200,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&page).unwrap();
    assert!(!text.contains("whsec_"), "{text}");
    assert!(text.contains("webhook.secret_rotated") && text.contains("webhook.removed"));
}

#[tokio::test]
async fn messages_written_before_a_kill_9_are_delivered_after_the_restart() {
    let database = TestDatabase::fresh().await;
    let url = database.url.clone();
    let (app, key) = crate::cli::create_local_app(&url, "Shop");
    let port = free_port();
    let receiver = Receiver::new(Duration::ZERO);
    receiver.answer(503);
    receiver.serve(listen_on(port).await);
    let hook = format!("http://127.0.0.1:{port}/killed");
    let added = cli_json(
        &url,
        &[
            "webhooks",
            "add",
            "--app",
            &app,
            "--url",
            &hook,
            "--webhook-allow-private",
            "--json",
        ],
    );
    let secret = added["secret"].as_str().unwrap().to_owned();

    let serve_args = ["--webhook-allow-private", "--webhook-poll-ms", "20"];
    let (mut child, address, _lines) = crate::cli::serve(&url, &serve_args);
    let flex = latchkey::client::LatchkeyFlex::new(&address, &app, &key);
    for i in 0..3 {
        flex.auth
            .create_register_transaction(&format!("user-{i}"), "Ada")
            .await
            .unwrap();
    }
    // The receiver refuses the first message: the rest wait in the outbox.
    // Killed once that refusal is recorded (its back-off is 5 s): killed while
    // the request is in flight, the message would wait out its lease (50 s).
    wait_for("a first attempt", || {
        !receiver.seen.lock().unwrap().in_flight.is_empty()
    })
    .await;
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_attempts")
            .fetch_one(&mut db)
            .await
            .unwrap();
        if recorded > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out: the first attempt's record"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = db.close().await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(receiver.deliveries().is_empty());

    // Written while no server runs.
    cli_json(
        &url,
        &[
            "webhooks",
            "rotate-secret",
            "--app",
            &app,
            added["id"].as_str().unwrap(),
            "--json",
        ],
    );
    receiver.answer(200);
    let (mut child, _, _lines) = crate::cli::serve(&url, &serve_args);
    wait_for("five deliveries after the restart", || {
        receiver.delivered_ids("/killed").len() == 5
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let types = receiver.delivered_types();
    assert_eq!(
        types,
        [
            "webhook.created",
            "transaction.created",
            "transaction.created",
            "transaction.created",
            "webhook.secret_rotated",
        ],
        "every message, in order"
    );
    for delivery in receiver.deliveries() {
        assert!(
            valid_signatures(&secret, &delivery) == 1,
            "the old secret signs during the grace period"
        );
    }
}

#[tokio::test]
async fn two_instances_on_one_database_never_deliver_one_message_twice_at_once() {
    let database = TestDatabase::fresh().await;
    let mut cores = Vec::new();
    for _ in 0..2 {
        let mut config =
            test_config_with_limits(&database.url, Clock::system(), RateLimitConfig::off());
        config.webhooks.allow_private = true;
        config.webhooks.poll_interval = Duration::from_millis(5);
        let app = Application::build(config).await.unwrap();
        cores.push(app.flex());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
    }
    let (app, _) = cores[0]
        .create_app(&NewApp::parse("Shared", &["http://localhost:3000".to_owned()], None).unwrap())
        .await
        .unwrap();
    let port = free_port();
    // Slow enough that both instances look while a delivery is in flight.
    let receiver = Receiver::new(Duration::from_millis(60));
    receiver.serve(listen_on(port).await);
    for path in ["a", "b", "c"] {
        cores[0]
            .create_webhook(&app.id, &format!("http://127.0.0.1:{port}/{path}"), &[])
            .await
            .unwrap();
    }
    for i in 0..8 {
        let external = latchkey::flex::ids::ExternalId::parse(&format!("user-{i}")).unwrap();
        let name = latchkey::flex::ids::DisplayName::parse("name", "Ada").unwrap();
        cores[i % 2]
            .create_register_transaction(&app, &external, &name)
            .await
            .unwrap();
    }
    // Each endpoint: its own creation, the later endpoints' creations, and 8 transactions.
    let expected = [("/a", 11), ("/b", 10), ("/c", 9)];
    wait_for("every message to every endpoint", || {
        expected
            .iter()
            .all(|(path, n)| receiver.delivered_ids(path).len() == *n)
    })
    .await;
    let seen = receiver.seen.lock().unwrap();
    assert_eq!(
        seen.most_per_message, 1,
        "a message was delivered twice at once"
    );
    assert_eq!(
        seen.most_per_endpoint, 1,
        "an endpoint had two messages in flight"
    );
    assert_eq!(
        seen.deliveries.len(),
        30,
        "each message was delivered once: {:?}",
        seen.deliveries.iter().map(|d| &d.id).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_rust_client_covers_every_webhook_endpoint() {
    let test = spawn_delivering_app().await;
    let port = free_port();
    let receiver = Receiver::new(Duration::ZERO);
    receiver.serve(listen_on(port).await);
    let hooks = &test.flex.webhooks;
    let created = hooks
        .create(
            &format!("http://127.0.0.1:{port}/client"),
            &["webhook.secret_rotated"],
        )
        .await
        .unwrap();
    issued(&created.secret);
    assert_eq!(hooks.list().await.unwrap(), vec![created.webhook.clone()]);
    let rotated = hooks.rotate_secret(&created.webhook.id).await.unwrap();
    issued(&rotated.secret);
    wait_for("the rotation's message", || {
        receiver.deliveries().len() == 1
    })
    .await;
    settled_messages(&test, &created.webhook.id).await;
    let delivered = hooks.messages(&created.webhook.id, Some(10)).await.unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].status, "delivered");
    assert_eq!(
        delivered[0].event_type.as_deref(),
        Some("webhook.secret_rotated")
    );
    assert_eq!(delivered[0].attempts[0].status_code, Some(200));
    assert_eq!(delivered[0].id, receiver.deliveries()[0].id);
    hooks.remove(&created.webhook.id).await.unwrap();
    let error = hooks.remove(&created.webhook.id).await.unwrap_err();
    assert_eq!(error.code(), Some("webhook_not_found"));
    let error = hooks.create("ftp://example.com/", &[]).await.unwrap_err();
    assert_eq!(error.code(), Some("invalid_request"));
    assert!(hooks.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn claims_racing_on_one_database_never_take_one_message_twice() {
    let database = TestDatabase::fresh().await;
    let store = latchkey::store::Store::connect(&database.url)
        .await
        .unwrap();
    let clock = Clock::manual();
    let core = Flex::new(store, clock.clone()).allowing_private_webhooks(true);
    let (app, _) = core
        .create_app(&NewApp::parse("Shop", &["http://localhost:3000".to_owned()], None).unwrap())
        .await
        .unwrap();
    // 40 endpoints, each with its creation's message at the head of its queue.
    for i in 0..40 {
        core.create_webhook(
            &app.id,
            &format!("http://127.0.0.1:9/{i}"),
            &["webhook.created".to_owned()],
        )
        .await
        .unwrap();
    }
    let now = clock.now();
    // Eight "instances", each its own pool, claiming at once, again and again.
    let mut stores = Vec::new();
    for _ in 0..8 {
        stores.push(
            latchkey::store::Store::connect(&database.url)
                .await
                .unwrap(),
        );
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(stores.len()));
    let claims = stores.into_iter().map(|store| {
        let barrier = barrier.clone();
        tokio::spawn(async move {
            barrier.wait().await;
            let mut taken = Vec::new();
            for _ in 0..10 {
                let claimed = store
                    .claim_webhook_messages(now, now + 60_000, 4)
                    .await
                    .unwrap();
                taken.extend(claimed.into_iter().map(|m| m.id));
            }
            taken
        })
    });
    let mut taken: Vec<String> = Vec::new();
    for claim in futures::future::join_all(claims).await {
        taken.extend(claim.unwrap());
    }
    let mut unique = taken.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), taken.len(), "a message was claimed twice");
    assert_eq!(taken.len(), 40, "every due message was claimed once");
}
