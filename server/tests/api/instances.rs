//! Two instances on one database: a ceremony started on one finishes on the
//! other, and a nonce issued by one verifies on the other, once.

use latchkey::{
    flex::{apps::NewApp, clock::Clock, Flex},
    startup::Application,
    traffic::limits::RateLimitConfig,
};
use serde_json::json;
use softkey::Authenticator;

use crate::helpers::{test_config_with_limits, TestDatabase};

const ORIGIN: &str = "http://localhost:3000";

async fn instance(url: &str) -> (String, Flex) {
    instance_with(url, Clock::system(), RateLimitConfig::off()).await
}

async fn instance_with(url: &str, clock: Clock, limits: RateLimitConfig) -> (String, Flex) {
    let app = Application::build(test_config_with_limits(url, clock, limits))
        .await
        .unwrap();
    let address = format!("http://localhost:{}", app.port());
    let core = app.flex();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    (address, core)
}

#[tokio::test]
async fn a_ceremony_and_its_nonce_cross_instances_and_still_complete_once() {
    let database = TestDatabase::fresh().await;
    let (one, core) = instance(&database.url).await;
    let (two, _) = instance(&database.url).await;
    let (app, key) = core
        .create_app(&NewApp::parse("Shared", &[ORIGIN.to_owned()], None).unwrap())
        .await
        .unwrap();
    let flex_one = latchkey::client::LatchkeyFlex::new(&one, app.id.as_str(), key.key.as_str());
    let flex_two = latchkey::client::LatchkeyFlex::new(&two, app.id.as_str(), key.key.as_str());
    let http = reqwest::Client::new();
    let post = |base: &str, path: &str, body: serde_json::Value| {
        let request = http
            .post(format!("{base}/v1/apps/{}{path}", app.id))
            .json(&body)
            .send();
        async move {
            let response = request.await.unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let mut authenticator = Authenticator::new();

    // Registration: transaction on one, start on two, finish on one, verify on two.
    let transaction = flex_one
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();
    let (_, start) = post(
        &two,
        "/register/transactions/webauthn/start",
        json!({ "transaction_id": transaction }),
    )
    .await;
    let response = authenticator.register(ORIGIN, &start["handshake"]["challenge"]["publicKey"]);
    let finish = json!({ "transaction_id": transaction, "handshake_id": start["handshake"]["id"], "handshake_response": response });
    let (status, body) = post(
        &one,
        "/register/transactions/webauthn/finish",
        finish.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (again, _) = post(&two, "/register/transactions/webauthn/finish", finish).await;
    assert_eq!(
        again, 404,
        "a handshake finished on one instance is gone on the other"
    );
    let nonce = body["nonce"].as_str().unwrap();
    assert_eq!(flex_two.auth.verify_nonce(nonce).await.unwrap(), "user-1");
    assert!(
        flex_one.auth.verify_nonce(nonce).await.is_err(),
        "a nonce verified on two is used up on one"
    );

    // Sign-in: start on one, finish on two at the same time as on one: exactly one wins.
    let (_, start) = post(&one, "/authenticate/transactions/webauthn/start", json!({})).await;
    let response =
        authenticator.authenticate(ORIGIN, &start["handshake"]["challenge"]["publicKey"]);
    let finish =
        json!({ "handshake_id": start["handshake"]["id"], "handshake_response": response });
    let ((a, _), (b, _)) = tokio::join!(
        post(
            &one,
            "/authenticate/transactions/webauthn/finish",
            finish.clone()
        ),
        post(&two, "/authenticate/transactions/webauthn/finish", finish),
    );
    assert_eq!([a, b].iter().filter(|s| **s == 200).count(), 1, "{a} {b}");
}

#[tokio::test]
async fn shared_rate_limits_are_not_bypassed_by_alternating_instances() {
    let database = TestDatabase::fresh().await;
    let clock = Clock::manual();
    let shared = RateLimitConfig {
        per_ip: 3,
        per_key: 2,
        shared: true,
        ..RateLimitConfig::off()
    };
    let (one, core) = instance_with(&database.url, clock.clone(), shared).await;
    let (two, _) = instance_with(&database.url, clock.clone(), shared).await;
    let (app, key) = core
        .create_app(&NewApp::parse("Shared", &[ORIGIN.to_owned()], None).unwrap())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let start = |base: &str| {
        let request = http
            .post(format!(
                "{base}/v1/apps/{}/authenticate/transactions/webauthn/start",
                app.id
            ))
            .json(&json!({}))
            .send();
        async move { request.await.unwrap().status().as_u16() }
    };

    // Client API, per IP: three in this second, alternating instances, then 429 on either.
    assert_eq!(
        [start(&one).await, start(&two).await, start(&one).await],
        [200; 3]
    );
    assert_eq!([start(&two).await, start(&one).await], [429; 2]);
    // The next second has a new budget.
    clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(start(&two).await, 200);

    // Management API, per key: two in this second across both instances.
    let flex_one = latchkey::client::LatchkeyFlex::new(&one, app.id.as_str(), key.key.as_str());
    let flex_two = latchkey::client::LatchkeyFlex::new(&two, app.id.as_str(), key.key.as_str());
    flex_one
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();
    flex_two
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();
    let limited = flex_one
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap_err();
    assert_eq!(limited.code(), Some("rate_limited"));
}

#[tokio::test]
async fn a_revoked_key_stops_at_once_where_revoked_and_within_the_cache_bound_elsewhere() {
    let database = TestDatabase::fresh().await;
    let clock = Clock::manual();
    let (one, core_one) = instance_with(&database.url, clock.clone(), RateLimitConfig::off()).await;
    let (two, _) = instance_with(&database.url, clock.clone(), RateLimitConfig::off()).await;
    let (app, _) = core_one
        .create_app(&NewApp::parse("Shared", &[ORIGIN.to_owned()], None).unwrap())
        .await
        .unwrap();
    let key = core_one.create_api_key(&app.id).await.unwrap();
    let flex =
        |base: &str| latchkey::client::LatchkeyFlex::new(base, app.id.as_str(), key.key.as_str());
    let (flex_one, flex_two) = (flex(&one), flex(&two));
    async fn works(flex: &latchkey::client::LatchkeyFlex) -> Result<(), Option<String>> {
        match flex.auth.create_register_transaction("user-1", "Ada").await {
            Ok(_) => Ok(()),
            Err(error) => Err(error.code().map(str::to_owned)),
        }
    }
    // Both instances have read (and cached) the key.
    assert_eq!(works(&flex_one).await, Ok(()));
    assert_eq!(works(&flex_two).await, Ok(()));

    core_one.revoke_api_key(&app.id, &key.id).await.unwrap();
    let refused = Err(Some("invalid_access_token".to_owned()));
    assert_eq!(works(&flex_one).await, refused, "at once where revoked");
    // Elsewhere, the cached key may be served for less than CACHE_TTL_MS, and
    // never after it.
    clock.advance(std::time::Duration::from_millis(
        latchkey::flex::CACHE_TTL_MS as u64,
    ));
    assert_eq!(
        works(&flex_two).await,
        refused,
        "within the bound elsewhere"
    );
    assert_eq!(works(&flex_one).await, refused);
    // The README promises 2 s at most.
    const { assert!(latchkey::flex::CACHE_TTL_MS <= 2_000) };
}
