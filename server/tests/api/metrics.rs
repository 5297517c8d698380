//! `GET /metrics` and the request log: the counters move with real ceremonies,
//! refusals and requests; labels are route templates, never ids; the optional
//! token; every answer names its request id, and the log line does too.

use std::sync::{Arc, Mutex};

use latchkey::{
    metrics::MetricsToken,
    telemetry::{self, LogFormat},
    traffic::limits::RateLimitConfig,
};
use reqwest::Method;
use serde_json::{json, Value};
use softkey::Authenticator;
use tracing_subscriber::EnvFilter;

use crate::helpers::{assert_error, spawn_app, spawn_app_with, spawn_app_with_limits, TestApp};

/// The metrics, as a scraper reads them (the endpoint open).
async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The value of one series (name and labels exactly as written); 0 if absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
        .unwrap_or(0.0)
}

fn ceremony(kind: &str, code: Option<&str>) -> String {
    let outcome = if code.is_some() { "failure" } else { "success" };
    let code = code.unwrap_or_default();
    format!(r#"latchkey_ceremonies_total{{kind="{kind}",outcome="{outcome}",code="{code}"}}"#)
}

#[tokio::test]
async fn metrics_answer_in_the_prometheus_text_format_with_every_family() {
    let app = spawn_app().await;
    app.get("/healthz").await;

    let response = app.get("/metrics").await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(response.headers().contains_key("x-content-type-options"));
    let text = response.text().await.unwrap();
    for family in [
        "# TYPE latchkey_ceremonies_total counter",
        "# TYPE latchkey_http_request_duration_seconds histogram",
        "# TYPE latchkey_rate_limit_refusals_total counter",
        "# TYPE latchkey_db_pool_connections gauge",
    ] {
        assert!(text.contains(family), "no `{family}` in:\n{text}");
    }
    assert!(text.contains(r#"latchkey_db_pool_connections{pool=""#));
    for kind in ["register", "authenticate", "discoverable", "nonce"] {
        assert!(
            text.contains(&ceremony(kind, None)),
            "no {kind} in:\n{text}"
        );
    }
}

#[tokio::test]
async fn a_sign_in_moves_the_ceremony_counters_by_exactly_its_ceremonies() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    let before = scrape(&app).await;

    let nonce = app.add_passkey(&mut authenticator, "ada").await;
    app.flex.auth.verify_nonce(&nonce).await.unwrap();
    let nonce = app.sign_in(&mut authenticator, Some("ada")).await;
    app.flex.auth.verify_nonce(&nonce).await.unwrap();
    let nonce = app.sign_in(&mut authenticator, None).await;
    app.flex.auth.verify_nonce(&nonce).await.unwrap();

    let after = scrape(&app).await;
    for (kind, moved) in [
        ("register", 1.0),
        ("authenticate", 1.0),
        ("discoverable", 1.0),
        ("nonce", 3.0),
    ] {
        let series = ceremony(kind, None);
        assert_eq!(
            value(&after, &series) - value(&before, &series),
            moved,
            "{series}"
        );
    }
    assert!(
        !after.contains(r#"outcome="failure""#),
        "no ceremony failed:\n{after}"
    );
}

#[tokio::test]
async fn a_refused_finish_and_a_reused_nonce_count_as_failures_with_their_codes() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "ada").await;
    let (transaction, handshake, options) = app.begin_sign_in(Some("ada")).await;
    let response = authenticator.authenticate(&app.address, &options);
    let (status, body) = app
        .authenticate_finish(transaction.as_deref(), &handshake, &response)
        .await;
    assert_eq!(status, 200, "{body}");
    let nonce = body["nonce"].as_str().unwrap().to_owned();
    app.flex.auth.verify_nonce(&nonce).await.unwrap();

    // The same assertion again, and the same nonce again.
    let replayed = app
        .authenticate_finish(transaction.as_deref(), &handshake, &response)
        .await;
    assert_error(&replayed, 404, "handshake_not_found");
    assert!(app.flex.auth.verify_nonce(&nonce).await.is_err());

    let text = scrape(&app).await;
    assert_eq!(
        value(
            &text,
            &ceremony("authenticate", Some("handshake_not_found"))
        ),
        1.0
    );
    assert_eq!(value(&text, &ceremony("authenticate", None)), 1.0);
    assert_eq!(value(&text, &ceremony("nonce", Some("invalid_nonce"))), 1.0);
    assert_eq!(value(&text, &ceremony("nonce", None)), 1.0);
}

#[tokio::test]
async fn latency_histograms_are_labelled_with_route_templates_not_ids() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "ada").await;
    let user_id = app.user_id("ada").await;
    let (status, _) = app
        .manage(Method::GET, &format!("/users/{user_id}"), None)
        .await;
    assert_eq!(status, 200);
    let unmatched = app.get("/no/such/page-4f1c").await;
    assert_eq!(unmatched.status(), 404);

    let text = scrape(&app).await;

    let count = |route: &str, method: &str, status: u16| {
        value(
            &text,
            &format!(
                r#"latchkey_http_request_duration_seconds_count{{method="{method}",route="{route}",status="{status}"}}"#
            ),
        )
    };
    assert_eq!(count("/v1/apps/{app_id}/users/{user_id}", "GET", 200), 1.0);
    assert_eq!(
        count(
            "/v1/apps/{app_id}/register/transactions/webauthn/finish",
            "POST",
            200
        ),
        1.0
    );
    assert_eq!(count("other", "GET", 404), 1.0);
    for raw in [app.app_id.as_str(), user_id.as_str(), "page-4f1c"] {
        assert!(!text.contains(raw), "`{raw}` is a label value:\n{text}");
    }
}

#[tokio::test]
async fn a_429_moves_the_rate_limit_refusal_counter_of_its_limit() {
    let app = spawn_app_with_limits(RateLimitConfig {
        per_ip: 1,
        ..RateLimitConfig::off()
    })
    .await;
    let path = "/authenticate/transactions/webauthn/start";
    assert_eq!(app.client_post(path, &json!({})).await.0, 200);

    let limited = app.client_post(path, &json!({})).await;

    assert_error(&limited, 429, "rate_limited");
    let text = scrape(&app).await;
    let refusals = |limit: &str| {
        value(
            &text,
            &format!(r#"latchkey_rate_limit_refusals_total{{limit="{limit}"}}"#),
        )
    };
    assert_eq!(refusals("client_ip"), 1.0);
    assert_eq!(refusals("app"), 0.0);
}

#[tokio::test]
async fn with_a_token_the_metrics_answer_only_a_scrape_bearing_it() {
    let app = spawn_app_with(|config| {
        config.metrics_token = Some(MetricsToken::parse("scrape-secret-1").unwrap());
    })
    .await;
    let scrape_with = |bearer: Option<&str>| {
        let mut request = app.http.get(app.url("/metrics"));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        request.send()
    };

    let without = scrape_with(None).await.unwrap();
    let wrong = scrape_with(Some("scrape-secret-2")).await.unwrap();
    let right = scrape_with(Some("scrape-secret-1")).await.unwrap();

    assert_eq!(without.status(), 401);
    assert_eq!(
        without.headers()["www-authenticate"],
        "Bearer realm=\"metrics\""
    );
    let body: Value = without.json().await.unwrap();
    assert_eq!(body["code"], "invalid_metrics_token");
    assert_eq!(wrong.status(), 401);
    assert_eq!(right.status(), 200);
    assert!(right
        .text()
        .await
        .unwrap()
        .contains("latchkey_ceremonies_total"));
}

#[tokio::test]
async fn every_answer_names_its_request_id_and_keeps_the_one_sent() {
    let app = spawn_app().await;

    let api_404 = app.get("/v1/apps/no-such-app/users").await;
    let site_404 = app.get("/no/such/page").await;
    let kept = app
        .http
        .get(app.url("/v1/no-such-route"))
        .header("x-request-id", "proxy-id-42")
        .send()
        .await
        .unwrap();
    // The database gone: a 500 from the management API.
    app.store.close().await;
    let (status, error) = {
        let response = app
            .http
            .get(app.url(&format!("/v1/apps/{}/users", app.app_id)))
            .bearer_auth(&app.api_key)
            .send()
            .await
            .unwrap();
        (response.status(), response)
    };

    assert_eq!(api_404.status(), 404);
    assert_eq!(site_404.status(), 404);
    assert_eq!(status, 500);
    for response in [&api_404, &site_404, &error] {
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::try_parse(id).is_ok(), "{id}");
    }
    assert_eq!(kept.status(), 404);
    assert_eq!(kept.headers()["x-request-id"], "proxy-id-42");
}

/// A `MakeWriter` that keeps what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Self;

    fn make_writer(&'w self) -> Self {
        self.clone()
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Logs of the server while `app` runs, as `--log-format` writes them: the
/// test's runtime has one thread, so the server's tasks log to this subscriber.
fn capture(format: LogFormat) -> (Captured, tracing::subscriber::DefaultGuard) {
    let logs = Captured::default();
    let subscriber = telemetry::subscriber(
        format,
        EnvFilter::new(telemetry::DEFAULT_FILTER),
        logs.clone(),
        false,
    );
    (logs, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn each_request_is_one_json_info_line_with_its_fields_and_errors_carry_its_id() {
    let (logs, _guard) = capture(LogFormat::Json);
    let app = spawn_app().await;

    let user_id = uuid::Uuid::new_v4();
    let (status, _) = app
        .manage(Method::GET, &format!("/users/{user_id}"), None)
        .await;
    assert_eq!(status, 404);
    app.store.close().await;
    let failed = app
        .http
        .get(app.url(&format!("/v1/apps/{}/users", app.app_id)))
        .bearer_auth(&app.api_key)
        .header("x-request-id", "failing-request-7")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 500);

    let lines: Vec<Value> = logs
        .lines()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|line| line["level"] == "INFO" && line["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    let found = requests[0];
    assert_eq!(found["method"], "GET");
    assert_eq!(found["route"], "/v1/apps/{app_id}/users/{user_id}");
    assert_eq!(found["status"], 404);
    assert!(found["latency_ms"].as_f64().unwrap() >= 0.0);
    let id = found["request_id"].as_str().unwrap();
    assert!(uuid::Uuid::try_parse(id).is_ok(), "{found}");
    assert!(!found.to_string().contains(&user_id.to_string()));
    // Nothing else at INFO for that request.
    let about_it = |line: &&Value| line["request_id"] == id || line["span"]["request_id"] == id;
    assert_eq!(
        lines
            .iter()
            .filter(about_it)
            .filter(|line| line["level"] == "INFO")
            .count(),
        1
    );

    let error_id = "failing-request-7";
    assert_eq!(failed.headers()["x-request-id"], error_id);
    assert_eq!(requests[1]["request_id"], error_id);
    assert_eq!(requests[1]["status"], 500);
    let errors: Vec<&Value> = lines
        .iter()
        .filter(|line| line["level"] == "ERROR")
        .collect();
    assert!(!errors.is_empty(), "the 500 logged no error");
    for error in errors {
        assert_eq!(error["span"]["request_id"], error_id, "{error}");
    }
}

#[tokio::test]
async fn text_logs_name_the_same_fields_as_json() {
    let (logs, _guard) = capture(LogFormat::Text);
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    let id = response.headers()["x-request-id"].to_str().unwrap();
    let lines: Vec<String> = logs
        .lines()
        .into_iter()
        .filter(|line| line.contains(id))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = &lines[0];
    assert!(line.contains(" INFO "), "{line}");
    for field in [
        "method=GET",
        r#"route="/healthz""#,
        "status=200",
        "latency_ms=",
        &format!(r#"request_id="{id}""#),
    ] {
        assert!(line.contains(field), "no `{field}` in {line}");
    }
}
