//! Exactly one success when many race for one handshake or one nonce.

use futures::future::join_all;
use softkey::Authenticator;

use crate::helpers::spawn_app;

const RACERS: usize = 16;

#[tokio::test]
async fn many_concurrent_finishes_of_one_registration_handshake_make_one_passkey() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    let (transaction, handshake, options) = app.begin_registration("user-1").await;
    let response = authenticator.register(&app.address, &options);

    let answers =
        join_all((0..RACERS).map(|_| app.register_finish(&transaction, &handshake, &response)))
            .await;

    let winners = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(winners, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert!(
            matches!(
                body["code"].as_str(),
                Some("handshake_not_found" | "credential_already_registered")
            ),
            "{status} {body}"
        );
    }
    assert_eq!(app.flex.user.list_devices("user-1").await.unwrap().len(), 1);
}

#[tokio::test]
async fn many_concurrent_finishes_of_one_sign_in_handshake_issue_one_nonce() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    let (transaction, handshake, options) = app.begin_sign_in(Some("user-1")).await;
    let response = authenticator.authenticate(&app.address, &options);

    let answers = join_all(
        (0..RACERS).map(|_| app.authenticate_finish(transaction.as_deref(), &handshake, &response)),
    )
    .await;

    let winners = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(winners, 1, "{answers:?}");
    assert_eq!(
        app.flex
            .user
            .get("user-1")
            .await
            .unwrap()
            .listed
            .login_count,
        1
    );
}

#[tokio::test]
async fn many_concurrent_verifies_of_one_nonce_succeed_once() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    let nonce = app.add_passkey(&mut authenticator, "user-1").await;

    let answers = join_all((0..RACERS).map(|_| app.flex.auth.verify_nonce(&nonce))).await;

    let winners: Vec<_> = answers.iter().filter_map(|a| a.as_ref().ok()).collect();
    assert_eq!(winners, vec!["user-1"]);
    for loser in answers.iter().filter_map(|a| a.as_ref().err()) {
        assert_eq!(loser.code(), Some("invalid_nonce"), "{loser}");
    }
}

/// Rounds of the race tests below; `make soak` runs 1,000.
pub fn rounds() -> usize {
    std::env::var("LATCHKEY_RACE_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50)
}

#[tokio::test]
async fn round_after_round_a_double_finish_and_a_double_verify_succeed_once() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;

    for round in 0..rounds() {
        let (transaction, handshake, options) = app
            .begin_sign_in(if round % 2 == 0 { Some("user-1") } else { None })
            .await;
        let response = authenticator.authenticate(&app.address, &options);
        let (a, b) = tokio::join!(
            app.authenticate_finish(transaction.as_deref(), &handshake, &response),
            app.authenticate_finish(transaction.as_deref(), &handshake, &response),
        );
        let nonces: Vec<_> = [&a, &b]
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, body)| body["nonce"].clone())
            .collect();
        assert_eq!(nonces.len(), 1, "round {round}: {a:?} {b:?}");
        let nonce = nonces[0].as_str().unwrap();
        let (x, y) = tokio::join!(
            app.flex.auth.verify_nonce(nonce),
            app.flex.auth.verify_nonce(nonce)
        );
        assert_eq!(
            x.is_ok() as u8 + y.is_ok() as u8,
            1,
            "round {round}: {x:?} {y:?}"
        );
    }
    assert_eq!(
        app.flex
            .user
            .get("user-1")
            .await
            .unwrap()
            .listed
            .login_count,
        rounds() as i64
    );
}
