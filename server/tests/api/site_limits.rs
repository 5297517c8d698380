//! The site's password sign-in under attack, its body limit, its session
//! cookie's name and the sweeping of its expired sessions.

use std::{net::IpAddr, time::Duration};

use futures::future::join_all;
use latchkey::{config::PublicUrl, flex::clock::Clock, startup::Application};
use reqwest::StatusCode;
use sqlx::Row;

use crate::{
    cli::serve,
    helpers::{spawn_app, test_config_with_limits, TestApp, TestDatabase},
};

const SITE_ORIGIN: &str = "http://localhost:3000";
const PASSWORD: &str = "correct horse battery";

/// A browser at `from`, posting server functions to `base` as the site's forms do.
fn browser(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    http.post(format!("{base}/site/{endpoint}"))
        .header("origin", SITE_ORIGIN)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> (StatusCode, String) {
    let response = call(
        &app.http,
        &app.address,
        "sign-in",
        &[("email", email), ("password", password)],
    )
    .await;
    let retry_after = response.headers().get("retry-after").cloned();
    let status = response.status();
    let body = response.text().await.unwrap();
    if status == StatusCode::TOO_MANY_REQUESTS {
        assert!(retry_after.is_some(), "a 429 says when to come back");
    }
    (status, body)
}

fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_wrong_sign_ins_stay_small_and_the_victim_still_signs_in() {
    let started = std::time::Instant::now();
    let database = TestDatabase::fresh().await;
    let (mut server, address, _log) = serve(&database.url, &[]);
    let victim = browser("127.0.0.2");
    let signed_up = call(
        &victim,
        &address,
        "sign-up",
        &[("email", "victim@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(signed_up.status(), 200);

    let attacker = browser("127.0.0.1");
    let guesses = (0..1000).map(|n| {
        let (attacker, address) = (&attacker, &address);
        async move {
            let email = if n % 2 == 0 {
                "victim@example.com".to_owned()
            } else {
                format!("nobody{n}@example.com")
            };
            let password = format!("guess {n}");
            let response = call(
                attacker,
                address,
                "sign-in",
                &[("email", &email), ("password", &password)],
            )
            .await;
            (
                response.status(),
                response.headers().contains_key("retry-after"),
            )
        }
    });
    let flood_started = std::time::Instant::now();
    let answers = join_all(guesses).await;
    let flood = flood_started.elapsed();

    let peak_kb = peak_rss_kb(server.id());
    let count = |status: StatusCode| answers.iter().filter(|(s, _)| *s == status).count();
    let (wrong, limited, busy) = (
        count(StatusCode::BAD_REQUEST),
        count(StatusCode::TOO_MANY_REQUESTS),
        count(StatusCode::SERVICE_UNAVAILABLE),
    );
    eprintln!(
        "peak RSS {} MB; {wrong} wrong, {limited} limited, {busy} busy in {flood:?}",
        peak_kb / 1024
    );
    assert_eq!(wrong + limited + busy, 1000, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(status, retry_after)| *status == 400 || *retry_after),
        "every refusal says when to come back"
    );
    assert!(limited >= 950, "{limited} of 1000 limited");
    assert!(wrong <= 30, "{wrong} guesses were checked");
    assert!(peak_kb < 256 * 1024, "peak RSS {peak_kb} kB");
    assert!(flood < Duration::from_secs(15), "the flood took {flood:?}");

    let signed_in = call(
        &victim,
        &address,
        "sign-in",
        &[("email", "victim@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(
        signed_in.status(),
        200,
        "{}",
        signed_in.text().await.unwrap()
    );
    server.kill().ok();
    server.wait().ok();
    eprintln!("the whole test took {:?}", started.elapsed());
}

#[tokio::test]
async fn calls_for_one_account_are_refused_beyond_five_and_allowed_again_after_a_minute() {
    let app = spawn_app().await;
    let signed_up = call(
        &app.http,
        &app.address,
        "sign-up",
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(signed_up.status(), 200);

    // Five calls naming the account from this address: the sign-up and four guesses.
    for _ in 0..4 {
        let (status, body) = sign_in(&app, "Ada@example.com ", "wrong password").await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("is wrong"), "{body}");
    }
    let (status, body) = sign_in(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(status, 429, "even the right password waits: {body}");
    assert!(body.contains("Too many attempts"), "{body}");

    app.clock.advance(Duration::from_secs(60));
    let (status, body) = sign_in(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    // A success starts the address afresh.
    for _ in 0..4 {
        assert_eq!(sign_in(&app, "ada@example.com", "wrong").await.0, 400);
    }
}

#[tokio::test]
async fn a_ten_megabyte_server_function_call_is_refused_with_413() {
    let app = spawn_app().await;
    let huge = "a".repeat(10 * 1024 * 1024);
    let response = call(
        &app.http,
        &app.address,
        "sign-in",
        &[("email", "ada@example.com"), ("password", &huge)],
    )
    .await;
    assert_eq!(response.status(), 413);
    let fits = "a".repeat(60 * 1024);
    let (status, _) = sign_in(&app, "ada@example.com", &fits).await;
    assert_eq!(status, 400, "under 64 KB the call is answered");
}

#[tokio::test]
async fn an_internal_failure_answers_500_with_a_generic_sentence() {
    let app = spawn_app().await;
    sqlx::query("DROP TABLE site_sessions")
        .execute(&app.db)
        .await
        .unwrap();
    let response = call(
        &app.http,
        &app.address,
        "sign-up",
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(response.status(), 500);
    let body = response.text().await.unwrap();
    assert!(body.contains("Something went wrong on our side"), "{body}");
    assert!(!body.contains("site_sessions"), "no cause: {body}");
}

#[tokio::test]
async fn the_session_cookie_is_host_prefixed_over_https() {
    let database = TestDatabase::fresh().await;
    let mut config = test_config_with_limits(
        &database.url,
        Clock::manual(),
        latchkey::traffic::limits::RateLimitConfig::off(),
    );
    config.public_url = PublicUrl::parse("https://login.example.com").unwrap();
    let app = Application::build(config).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let http = reqwest::Client::new();

    let response = http
        .post(format!("{address}/site/sign-up"))
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("__Host-latchkey_site_session="),
        "{cookie}"
    );
    assert!(
        cookie.contains("; Secure") && cookie.contains("; Path=/") && !cookie.contains("Domain"),
        "{cookie}"
    );

    let pair = cookie.split(';').next().unwrap();
    let account = http
        .post(format!("{address}/site/account"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert!(account.text().await.unwrap().contains("ada@example.com"));
}

async fn sign_up(app: &TestApp, email: &str) -> StatusCode {
    let form = [("email", email), ("password", PASSWORD)];
    call(&app.http, &app.address, "sign-up", &form)
        .await
        .status()
}

async fn session_count(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM site_sessions")
        .fetch_one(&app.db)
        .await
        .unwrap()
        .get::<i64, _>("n")
}

#[tokio::test]
async fn expired_site_sessions_are_swept() {
    let app = spawn_app().await;
    assert_eq!(sign_up(&app, "ada@example.com").await, 200);
    app.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(sign_up(&app, "bob@example.com").await, 200);
    assert_eq!(session_count(&app).await, 2);

    app.clock.advance(Duration::from_secs(6 * 24 * 3600));
    let sweep = |now| app.store.sweep_expired_sessions(now);
    assert_eq!(sweep(app.clock.now()).await.unwrap(), 1);
    assert_eq!(session_count(&app).await, 1, "bob's session has a day left");
    app.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(sweep(app.clock.now()).await.unwrap(), 1);
    assert_eq!(session_count(&app).await, 0);
}
