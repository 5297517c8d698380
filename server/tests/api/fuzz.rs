//! Garbage in, `{code, error}` 4xx out: random mutations of real ceremony
//! responses and of API bodies never get a 5xx (nor a panic, which would be a
//! 500). `LATCHKEY_FUZZ_CASES` sets how many (`make fuzz` runs thousands).

use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRunner},
};
use reqwest::Method;
use serde_json::{json, Value};
use softkey::{b64, unb64, Authenticator};

use crate::helpers::{spawn_app, TestApp};

#[derive(Clone, Debug)]
struct Mutation {
    kind: u8,
    bytes: Vec<u8>,
    text: String,
    at: usize,
    sign_in: bool,
}

fn mutations() -> impl Strategy<Value = Mutation> {
    (
        0u8..8,
        proptest::collection::vec(any::<u8>(), 0..300),
        ".{0,64}",
        0usize..400,
        any::<bool>(),
    )
        .prop_map(|(kind, bytes, text, at, sign_in)| Mutation {
            kind,
            bytes,
            text,
            at,
            sign_in,
        })
}

fn cases() -> Vec<Mutation> {
    let count = std::env::var("LATCHKEY_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let strategy = mutations();
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

/// The binary field a mutation works on.
fn binary_field(sign_in: bool) -> &'static str {
    if sign_in {
        "authenticatorData"
    } else {
        "attestationObject"
    }
}

fn mutate(good: &Value, m: &Mutation) -> Value {
    let mut response = good.clone();
    let field = binary_field(m.sign_in);
    match m.kind {
        0 => response = Value::String(m.text.clone()),
        1 => {
            let key = ["id", "rawId", "type", "response"][m.at % 4];
            response[key] = Value::String(m.text.clone());
        }
        2 => response["response"]["clientDataJSON"] = b64(&m.bytes).into(),
        3 => response["response"][field] = b64(&m.bytes).into(),
        4 => {
            let bytes = unb64(good["response"][field].as_str().unwrap());
            response["response"][field] = b64(&bytes[..m.at.min(bytes.len())]).into();
        }
        5 => {
            let mut bytes = unb64(good["response"][field].as_str().unwrap());
            let index = m.at % bytes.len();
            bytes[index] ^= m.bytes.first().copied().unwrap_or(1) | 1;
            response["response"][field] = b64(&bytes).into();
        }
        6 => {
            let mut bytes = unb64(good["response"]["clientDataJSON"].as_str().unwrap());
            bytes.extend_from_slice(&m.bytes);
            response["response"]["clientDataJSON"] = b64(&bytes).into();
        }
        _ => response["response"]["signature"] = b64(&m.bytes).into(),
    }
    response
}

#[track_caller]
fn assert_clean_refusal(answer: &(reqwest::StatusCode, Value), case: &Mutation) {
    assert!(
        answer.0.as_u16() < 500,
        "{case:?} got {} {}",
        answer.0,
        answer.1
    );
    if !answer.0.is_success() {
        assert!(answer.1["code"].is_string(), "{case:?} got {}", answer.1);
    }
}

async fn fresh_response(
    app: &TestApp,
    authenticator: &mut Authenticator,
    sign_in: bool,
) -> (Option<String>, String, Value) {
    if sign_in {
        let (transaction, handshake, options) = app.begin_sign_in(Some("user-1")).await;
        (
            transaction,
            handshake,
            authenticator.authenticate(&app.address, &options),
        )
    } else {
        let (transaction, handshake, options) = app.begin_registration("user-2").await;
        (
            Some(transaction),
            handshake,
            Authenticator::new().register(&app.address, &options),
        )
    }
}

#[tokio::test]
async fn mutated_ceremony_responses_never_get_a_5xx() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;

    for case in cases() {
        let (transaction, handshake, good) =
            fresh_response(&app, &mut authenticator, case.sign_in).await;
        let response = mutate(&good, &case);
        let answer = if case.sign_in {
            app.authenticate_finish(transaction.as_deref(), &handshake, &response)
                .await
        } else {
            app.register_finish(transaction.as_deref().unwrap(), &handshake, &response)
                .await
        };
        assert_clean_refusal(&answer, &case);
    }
}

#[tokio::test]
async fn random_api_bodies_never_get_a_5xx() {
    let app = spawn_app().await;
    let client_paths = [
        "/register/transactions/webauthn/start",
        "/register/transactions/webauthn/finish",
        "/authenticate/transactions/webauthn/start",
        "/authenticate/transactions/webauthn/finish",
    ];
    let management_paths = [
        "/transactions/register",
        "/transactions/authenticate",
        "/authenticate/verify",
    ];
    for case in cases() {
        let bodies = [
            String::from_utf8_lossy(&case.bytes).into_owned(),
            json!({ "transaction_id": case.text, "handshake_id": case.text, "handshake_response": case.text }).to_string(),
            json!({ "external_id": case.text, "passkey_display_name": case.text, "nonce": case.text }).to_string(),
        ];
        let body = &bodies[case.at % bodies.len()];
        let path = client_paths[case.at % client_paths.len()];
        assert_clean_refusal(
            &app.client_post_raw(&app.app_id, path, body.clone()).await,
            &case,
        );
        let path = management_paths[case.at % management_paths.len()];
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let answer = match parsed {
            Some(value) => app.manage(Method::POST, path, Some(&value)).await,
            None => app.client_post_raw(&app.app_id, path, body.clone()).await,
        };
        assert_clean_refusal(&answer, &case);
    }
}
