//! Step-up: an authenticate transaction that approves one action. The challenge
//! commits to the action, the nonce carries it, and a nonce never stands for
//! another action, nor a plain sign-in's for an action.

use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use softkey::{unb64, Authenticator};

use crate::helpers::{assert_error, spawn_app, Answer, TestApp};

fn transfer(amount: &str) -> Value {
    json!({ "type": "transfer", "amount": amount, "to": { "iban": "DE89", "name": "Ada" } })
}

async fn step_up_transaction(app: &TestApp, external_id: &str, action: &Value) -> Answer {
    app.manage(
        Method::POST,
        "/transactions/authenticate",
        Some(&json!({ "external_id": external_id, "action": action })),
    )
    .await
}

async fn verify(app: &TestApp, nonce: &str, action: Option<&Value>) -> Answer {
    let mut body = json!({ "nonce": nonce });
    if let Some(action) = action {
        body["action"] = action.clone();
    }
    app.manage(Method::POST, "/authenticate/verify", Some(&body))
        .await
}

/// A step-up sign-in up to its nonce: (transaction id, the options' challenge, nonce).
async fn approve(
    app: &TestApp,
    authenticator: &mut Authenticator,
    external_id: &str,
    action: &Value,
) -> (String, Vec<u8>, String) {
    let (status, body) = step_up_transaction(app, external_id, action).await;
    assert_eq!(status, 200, "{body}");
    let transaction = body["transaction_id"].as_str().unwrap().to_owned();
    let (status, body) = app.authenticate_start(Some(&transaction)).await;
    assert_eq!(status, 200, "{body}");
    let handshake = body["handshake"]["id"].as_str().unwrap().to_owned();
    let options = &body["handshake"]["challenge"]["publicKey"];
    let challenge = unb64(options["challenge"].as_str().unwrap());
    let response = authenticator.authenticate(&app.address, options);
    let (status, body) = app
        .authenticate_finish(Some(&transaction), &handshake, &response)
        .await;
    assert_eq!(status, 200, "{body}");
    (
        transaction,
        challenge,
        body["nonce"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn the_challenge_commits_to_the_transaction_and_the_canonical_action() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    let action = transfer("120.00");

    let (transaction, challenge, nonce) =
        approve(&app, &mut authenticator, "user-1", &action).await;

    let canonical = r#"{"amount":"120.00","to":{"iban":"DE89","name":"Ada"},"type":"transfer"}"#;
    let digest = Sha256::digest(format!("{transaction}.{canonical}").as_bytes());
    assert_eq!(challenge.len(), 64, "32 random bytes, then the digest");
    assert_eq!(challenge[32..], digest[..]);

    // The same action in another key order is the same action.
    let reordered: Value = serde_json::from_str(
        r#"{"to":{"name":"Ada","iban":"DE89"},"type":"transfer","amount":"120.00"}"#,
    )
    .unwrap();
    let (status, body) = verify(&app, &nonce, Some(&reordered)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["external_id"], "user-1");
    assert_eq!(body["action"], action);

    // Used up.
    assert_error(
        &verify(&app, &nonce, Some(&action)).await,
        401,
        "invalid_nonce",
    );
}

#[tokio::test]
async fn a_nonce_never_stands_for_another_action_nor_a_plain_sign_in_for_an_action() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    let small = transfer("1.00");
    let large = transfer("9999.00");

    // One action's nonce for another: refused, and still there for its own.
    let (_, _, nonce) = approve(&app, &mut authenticator, "user-1", &small).await;
    let before = app.fingerprint().await;
    assert_error(
        &verify(&app, &nonce, Some(&large)).await,
        403,
        "action_mismatch",
    );
    assert_eq!(app.fingerprint().await, before, "the nonce was used up");
    let (status, body) = verify(&app, &nonce, Some(&small)).await;
    assert_eq!(status, 200, "{body}");

    // A plain sign-in's nonce for an action.
    let plain = app.sign_in(&mut authenticator, Some("user-1")).await;
    assert_error(
        &verify(&app, &plain, Some(&small)).await,
        403,
        "action_mismatch",
    );
    let (status, body) = verify(&app, &plain, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["external_id"], "user-1");
    assert!(body.get("action").is_none(), "{body}");

    // Verified without an action (as Passage's SDKs do), a step-up's nonce
    // says what it approved.
    let (_, _, nonce) = approve(&app, &mut authenticator, "user-1", &large).await;
    let (status, body) = verify(&app, &nonce, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["action"], large);
}

#[tokio::test]
async fn an_assertion_for_one_action_does_not_finish_a_handshake_for_another() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;

    let start = |action: Value| {
        let app = &app;
        async move {
            let (_, body) = step_up_transaction(app, "user-1", &action).await;
            let transaction = body["transaction_id"].as_str().unwrap().to_owned();
            let (_, body) = app.authenticate_start(Some(&transaction)).await;
            let handshake = body["handshake"]["id"].as_str().unwrap().to_owned();
            (
                transaction,
                handshake,
                body["handshake"]["challenge"]["publicKey"].clone(),
            )
        }
    };
    let (_, _, small_options) = start(transfer("1.00")).await;
    let (large_transaction, large_handshake, _) = start(transfer("9999.00")).await;

    // The user approved the small transfer; the answer is replayed for the large one.
    let signed_small = authenticator.authenticate(&app.address, &small_options);
    let before = app.fingerprint().await;
    let refused = app
        .authenticate_finish(Some(&large_transaction), &large_handshake, &signed_small)
        .await;
    assert_error(&refused, 401, "webauthn_login_failed");
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn a_bad_action_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    let (_, other_key) = app.other_app().await;
    let before = app.fingerprint().await;

    for action in [
        json!("transfer"),
        json!([1, 2]),
        json!(42),
        json!({ "note": "x".repeat(4100) }),
    ] {
        let answer = step_up_transaction(&app, "user-1", &action).await;
        assert_error(&answer, 400, "invalid_request");
        assert!(
            answer.1["error"].as_str().unwrap().contains("action"),
            "{}",
            answer.1
        );
    }
    assert_error(
        &verify(&app, "not-a-nonce", Some(&json!("x"))).await,
        400,
        "invalid_request",
    );
    // Another app's key cannot create one for this app.
    let answer = app
        .manage_as(
            &app.app_id,
            Some(&other_key),
            Method::POST,
            "/transactions/authenticate",
            Some(&json!({ "external_id": "user-1", "action": transfer("1.00") })),
        )
        .await;
    assert_error(&answer, 401, "invalid_access_token");
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn the_audit_log_names_the_actions_digest_not_the_action() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    let action = json!({ "type": "change_email", "email": "secret-new@example.com" });

    let (transaction, _, nonce) = approve(&app, &mut authenticator, "user-1", &action).await;
    let (status, _) = verify(&app, &nonce, Some(&action)).await;
    assert_eq!(status, 200);

    let (status, body) = app
        .manage(Method::GET, "/events?type=transaction.created", None)
        .await;
    assert_eq!(status, 200, "{body}");
    let created = &body["events"][0];
    let canonical = r#"{"email":"secret-new@example.com","type":"change_email"}"#;
    let digest = Sha256::digest(format!("{transaction}.{canonical}").as_bytes());
    assert_eq!(created["detail"]["action_hash"], softkey::b64(&digest));
    let (_, all) = app.manage(Method::GET, "/events?limit=200", None).await;
    assert!(
        !all.to_string().contains("secret-new@example.com"),
        "the action's contents are in the audit log"
    );
}
