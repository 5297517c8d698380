//! A sign-in finish writes only what still holds when it commits: the passkey
//! must still exist, and its counter only moves forward.

use latchkey::store::Engine;
use reqwest::Method;
use softkey::Authenticator;
use sqlx::Row;

use crate::{
    helpers::{assert_error, spawn_app, TestApp},
    races::rounds,
};

async fn stored_counter(app: &TestApp) -> i64 {
    sqlx::query("SELECT counter FROM passkeys")
        .fetch_one(&app.db)
        .await
        .unwrap()
        .try_get("counter")
        .unwrap()
}

/// Runs `body` (statements on `OLD`/`NEW`) after each `event` on `table`, inside
/// the statement's own transaction, on either engine.
async fn create_trigger(app: &TestApp, name: &str, event: &str, table: &str, body: &str) {
    let statements = match app.store.engine() {
        Engine::Sqlite => vec![format!(
            "CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN {body}; END"
        )],
        Engine::Postgres => vec![
            format!(
                "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN {body}; RETURN NULL; END $$"
            ),
            format!(
                "CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
            ),
        ],
    };
    for statement in statements {
        sqlx::query(&statement).execute(&app.db).await.unwrap();
    }
}

#[tokio::test]
async fn a_sign_in_finished_after_a_newer_one_cannot_move_the_counter_back() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    // Two sign-ins started together; the authenticator signs the first with 5, the second with 6.
    let (older_t, older_h, older_o) = app.begin_sign_in(Some("user-1")).await;
    let (newer_t, newer_h, newer_o) = app.begin_sign_in(Some("user-1")).await;
    authenticator.credentials[0].counter = 4;
    let older = authenticator.authenticate(&app.address, &older_o);
    let newer = authenticator.authenticate(&app.address, &newer_o);

    let (status, body) = app
        .authenticate_finish(newer_t.as_deref(), &newer_h, &newer)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stored_counter(&app).await, 6);

    let before = app.fingerprint().await;
    let answer = app
        .authenticate_finish(older_t.as_deref(), &older_h, &older)
        .await;
    assert_error(&answer, 401, "webauthn_login_failed");
    assert!(answer.1.get("nonce").is_none());
    assert_eq!(stored_counter(&app).await, 6);
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn round_after_round_concurrent_sign_ins_never_move_the_counter_back() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;

    for round in 0..rounds() {
        let external_id = (round % 2 == 0).then_some("user-1");
        let (older_t, older_h, older_o) = app.begin_sign_in(external_id).await;
        let (newer_t, newer_h, newer_o) = app.begin_sign_in(external_id).await;
        let older = authenticator.authenticate(&app.address, &older_o);
        let newer = authenticator.authenticate(&app.address, &newer_o);
        let newest = i64::from(authenticator.credentials[0].counter);

        let (old_answer, new_answer) = tokio::join!(
            app.authenticate_finish(older_t.as_deref(), &older_h, &older),
            app.authenticate_finish(newer_t.as_deref(), &newer_h, &newer),
        );
        // The newer assertion always wins; the older one only if it committed first.
        assert_eq!(new_answer.0, 200, "round {round}: {new_answer:?}");
        assert!(
            old_answer.0 == 200 || old_answer.0 == 401,
            "round {round}: {old_answer:?}"
        );
        assert_eq!(
            stored_counter(&app).await,
            newest,
            "round {round}: the counter went back ({old_answer:?})"
        );
    }
}

#[tokio::test]
async fn a_passkey_deleted_between_verification_and_commit_yields_no_nonce() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    // The passkey goes the moment the finish consumes its handshake: after the
    // assertion was verified against it, before the finish commits.
    create_trigger(
        &app,
        "revoke_on_consume",
        "DELETE",
        "handshakes",
        "DELETE FROM passkeys",
    )
    .await;

    for external_id in [Some("user-1"), None] {
        let (transaction, handshake, options) = app.begin_sign_in(external_id).await;
        let response = authenticator.authenticate(&app.address, &options);
        let before = app.fingerprint().await;
        let answer = app
            .authenticate_finish(transaction.as_deref(), &handshake, &response)
            .await;
        let code = match external_id {
            Some(_) => "webauthn_login_failed",
            None => "discoverable_login_failed",
        };
        assert_error(&answer, 401, code);
        assert_eq!(app.fingerprint().await, before, "{external_id:?}");
    }
}

#[tokio::test]
async fn round_after_round_a_revoke_racing_a_finish_never_leaves_a_nonce_for_a_deleted_passkey() {
    let app = spawn_app().await;
    // A witness of the order in which passkeys went and nonces came, as the
    // database executed them (each statement inside its own transaction).
    let witness = match app.store.engine() {
        Engine::Sqlite => {
            "CREATE TABLE witness (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL, user_id TEXT NOT NULL)"
        }
        Engine::Postgres => {
            "CREATE TABLE witness (seq BIGSERIAL PRIMARY KEY, event TEXT NOT NULL, user_id TEXT NOT NULL)"
        }
    };
    sqlx::query(witness).execute(&app.db).await.unwrap();
    create_trigger(
        &app,
        "witness_revoke",
        "DELETE",
        "passkeys",
        "INSERT INTO witness (event, user_id) VALUES ('revoke', OLD.user_id)",
    )
    .await;
    create_trigger(
        &app,
        "witness_nonce",
        "INSERT",
        "nonces",
        "INSERT INTO witness (event, user_id) VALUES ('nonce', NEW.user_id)",
    )
    .await;

    let mut finished = 0;
    for round in 0..rounds() {
        let external_id = format!("user-{round}");
        let mut authenticator = Authenticator::new();
        app.add_passkey(&mut authenticator, &external_id).await;
        let row = sqlx::query("SELECT id, user_id FROM passkeys WHERE user_id = (SELECT id FROM users WHERE external_id = $1)")
            .bind(&external_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
        let (device_id, user_id): (String, String) =
            (row.try_get("id").unwrap(), row.try_get("user_id").unwrap());
        let (transaction, handshake, options) = app
            .begin_sign_in((round % 2 == 0).then_some(external_id.as_str()))
            .await;
        let response = authenticator.authenticate(&app.address, &options);
        let device = format!("/users/{user_id}/devices/{device_id}");

        let (finish, revoke) = tokio::join!(
            app.authenticate_finish(transaction.as_deref(), &handshake, &response),
            app.manage(Method::DELETE, &device, None),
        );
        assert!(revoke.0.is_success(), "round {round}: {revoke:?}");
        match finish.0.as_u16() {
            200 => finished += 1,
            401 => {}
            _ => panic!("round {round}: {finish:?}"),
        }
    }
    let late_nonces: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM witness nonce JOIN witness revoke \
         ON nonce.user_id = revoke.user_id AND nonce.seq > revoke.seq \
         WHERE nonce.event = 'nonce' AND revoke.event = 'revoke'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
    .try_get("n")
    .unwrap();
    assert_eq!(
        late_nonces,
        0,
        "{late_nonces} nonces were issued after their passkey was revoked ({finished} of {} finishes succeeded)",
        rounds()
    );
}
