//! A cap on the passkeys one user may hold in an app (`apps create
//! --max-passkeys`, default 20): beyond it, a clear 409 `too_many_passkeys`
//! at every step of adding one, and nothing changes.

use std::process::Command;

use reqwest::Method;
use serde_json::json;
use softkey::Authenticator;

use crate::{
    helpers::{assert_error, spawn_app, TestApp, TestDatabase},
    races::rounds,
};

/// Caps the test app, as `apps create --max-passkeys` stores it. Written
/// behind the server's back, it reaches the server within the cache's bound.
async fn cap(app: &TestApp, max: i64) {
    sqlx::query("UPDATE apps SET max_passkeys_per_user = $1 WHERE id = $2")
        .bind(max)
        .bind(&app.app_id)
        .execute(&app.db)
        .await
        .unwrap();
    app.clock.advance(std::time::Duration::from_millis(
        latchkey::flex::CACHE_TTL_MS as u64,
    ));
}

async fn passkeys_of(app: &TestApp, external_id: &str) -> usize {
    app.flex.user.list_devices(external_id).await.unwrap().len()
}

#[tokio::test]
async fn with_a_cap_of_two_the_third_registration_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    cap(&app, 2).await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    // A transaction created while the user held one passkey.
    let late_start = app
        .flex
        .auth
        .create_register_transaction("user-1", "user-1@example.com")
        .await
        .unwrap();
    app.add_passkey(&mut authenticator, "user-1").await;
    assert_eq!(passkeys_of(&app, "user-1").await, 2);
    let before = app.fingerprint().await;

    // A new transaction.
    let answer = app
        .manage(
            Method::POST,
            "/transactions/register",
            Some(&json!({ "external_id": "user-1", "passkey_display_name": "Renamed" })),
        )
        .await;
    assert_error(&answer, 409, "too_many_passkeys");
    assert!(
        answer.1["error"].as_str().unwrap().contains("2 passkeys"),
        "{}",
        answer.1
    );
    // A start with a transaction created before the cap was reached.
    assert_error(
        &app.register_start(&late_start).await,
        409,
        "too_many_passkeys",
    );
    assert_eq!(app.fingerprint().await, before);

    // The cap is per user: another user still adds passkeys.
    app.add_passkey(&mut Authenticator::new(), "user-2").await;
}

#[tokio::test]
async fn a_finish_beyond_the_cap_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    cap(&app, 2).await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    let (first_t, first_h, first_o) = app.begin_registration("user-1").await;
    let (second_t, second_h, second_o) = app.begin_registration("user-1").await;
    let first = authenticator.register(&app.address, &first_o);
    let second = authenticator.register(&app.address, &second_o);

    let (status, body) = app.register_finish(&first_t, &first_h, &first).await;
    assert_eq!(status, 200, "{body}");
    let before = app.fingerprint().await;
    let answer = app.register_finish(&second_t, &second_h, &second).await;
    assert_error(&answer, 409, "too_many_passkeys");
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(passkeys_of(&app, "user-1").await, 2);
}

#[tokio::test]
async fn round_after_round_concurrent_finishes_never_exceed_the_cap() {
    let app = spawn_app().await;
    cap(&app, 2).await;
    for round in 0..rounds() {
        let external_id = format!("user-{round}");
        let mut authenticator = Authenticator::new();
        app.add_passkey(&mut authenticator, &external_id).await;
        let (a_t, a_h, a_o) = app.begin_registration(&external_id).await;
        let (b_t, b_h, b_o) = app.begin_registration(&external_id).await;
        let a = authenticator.register(&app.address, &a_o);
        let b = authenticator.register(&app.address, &b_o);

        let answers = tokio::join!(
            app.register_finish(&a_t, &a_h, &a),
            app.register_finish(&b_t, &b_h, &b),
        );
        let answers = [answers.0, answers.1];
        let winners = answers.iter().filter(|(status, _)| *status == 200).count();
        assert_eq!(winners, 1, "round {round}: {answers:?}");
        for answer in answers.iter().filter(|(status, _)| *status != 200) {
            assert_error(answer, 409, "too_many_passkeys");
        }
        assert_eq!(passkeys_of(&app, &external_id).await, 2, "round {round}");
    }
}

#[tokio::test]
async fn apps_create_takes_a_passkey_cap_within_bounds() {
    let database = TestDatabase::fresh().await;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .env_remove("RUST_LOG")
            .env("DATABASE_URL", &database.url)
            .args(args)
            .output()
            .unwrap()
    };
    let create = [
        "apps",
        "create",
        "--name",
        "Shop",
        "--origin",
        "https://shop.example.com",
    ];

    for bad in ["0", "101"] {
        let output = run(&[&create[..], &["--max-passkeys", bad]].concat());
        assert!(
            !output.status.success(),
            "--max-passkeys {bad} was accepted"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("must be from 1 to 100, not {bad}")),
            "{stderr}"
        );
    }
    let output = run(&[&create[..], &["--max-passkeys", "2", "--json"]].concat());
    assert!(output.status.success(), "{output:?}");
    let capped: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(run(&create).status.success());

    let listed: serde_json::Value =
        serde_json::from_slice(&run(&["apps", "list", "--json"]).stdout).unwrap();
    let caps: Vec<(bool, i64)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|app| {
            (
                app["app_id"] == capped["app_id"],
                app["max_passkeys_per_user"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(caps, vec![(true, 2), (false, 20)]);
}
