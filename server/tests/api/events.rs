//! The audit log: every ceremony step and change is an event, written with its
//! change; refusals are recorded with their code; `GET /v1/apps/{app_id}/events`
//! filters and pages them for the app's key only. (That no event holds a
//! secret is checked at the end of every test, by `TestApp`'s `Drop`.)

use std::time::Duration;

use latchkey::client::EventQuery;
use reqwest::Method;
use serde_json::{json, Value};
use softkey::Authenticator;

use crate::helpers::{assert_error, spawn_app, Answer, TestApp};

/// The app's events through the API, with `query` (`type=…&…`).
async fn events(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app
        .manage(Method::GET, &format!("/events?{query}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["type"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

/// A browser's request, with a user agent and a request id of its own.
async fn browser_post(app: &TestApp, path: &str, body: &Value, request_id: &str) -> Answer {
    let response = app
        .http
        .post(app.url(&format!("/v1/apps/{}{path}", app.app_id)))
        .header("origin", &app.address)
        .header("user-agent", "EventsTest/1.0 (like Chromium)")
        .header("x-request-id", request_id)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_registration_and_a_sign_in_record_every_step_with_who_and_where() {
    let app = spawn_app().await;
    let mut passkey = Authenticator::new();
    let nonce = app.add_passkey(&mut passkey, "ada").await;
    app.flex.auth.verify_nonce(&nonce).await.unwrap();
    let transaction = app
        .flex
        .auth
        .create_authenticate_transaction("ada")
        .await
        .unwrap();
    let (status, started) = browser_post(
        &app,
        "/authenticate/transactions/webauthn/start",
        &json!({ "transaction_id": transaction }),
        "req-start-1",
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let response = passkey.authenticate(
        &app.address,
        &started["handshake"]["challenge"]["publicKey"],
    );
    let (status, finished) = browser_post(
        &app,
        "/authenticate/transactions/webauthn/finish",
        &json!({
            "transaction_id": transaction,
            "handshake_id": started["handshake"]["id"],
            "handshake_response": response,
        }),
        "req-finish-1",
    )
    .await;
    assert_eq!(status, 200, "{finished}");
    app.flex
        .auth
        .verify_nonce(finished["nonce"].as_str().unwrap())
        .await
        .unwrap();

    let all = events(&app, "").await;
    assert_eq!(
        types(&all),
        [
            "nonce.verified success",
            "authentication.finished success",
            "handshake.started success",
            "transaction.created success",
            "nonce.verified success",
            "registration.finished success",
            "handshake.started success",
            "transaction.created success",
            "app.created success",
        ]
    );
    let device_id = app.flex.user.list_devices("ada").await.unwrap()[0]
        .id
        .clone();
    for event in &all[..8] {
        assert_eq!(event["external_id"], "ada", "{event}");
        assert_eq!(event["app_id"], app.app_id.as_str());
        assert!(event["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(event["ip"], "127.0.0.1", "{event}");
        assert!(
            event["request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{event}"
        );
    }
    // The finish: its passkey, its kind, the browser's user agent and request id; no actor.
    let finish = &all[1];
    assert_eq!(finish["device_id"], device_id.as_str());
    assert_eq!(finish["detail"]["kind"], "authenticate");
    assert_eq!(finish["user_agent"], "EventsTest/1.0 (like Chromium)");
    assert_eq!(finish["request_id"], "req-finish-1");
    assert_eq!(finish["actor"], Value::Null);
    assert_eq!(all[2]["request_id"], "req-start-1");
    // The backend's steps name the key that acted.
    let key_id = all[8]["detail"]["key_id"].as_str().unwrap().to_owned();
    assert_eq!(all[3]["actor"], format!("api_key:{key_id}"));
    assert_eq!(all[0]["actor"], format!("api_key:{key_id}"));
    assert_eq!(all[5]["device_id"], device_id.as_str());
    assert_eq!(all[5]["detail"]["kind"], "passkey");
    // The metrics count what was written.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for line in [
        r#"latchkey_events_written_total{type="nonce.verified",outcome="success"} 2"#,
        r#"latchkey_events_written_total{type="transaction.created",outcome="success"} 2"#,
        r#"latchkey_events_written_total{type="registration.finished",outcome="success"} 1"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in\n{metrics}"
        );
    }
}

#[tokio::test]
async fn refused_ceremonies_are_recorded_with_their_code_and_change_nothing_else() {
    let app = spawn_app().await;
    let mut passkey = Authenticator::new();
    let nonce = app.add_passkey(&mut passkey, "ada").await;
    app.flex.auth.verify_nonce(&nonce).await.unwrap();
    let mut revoked = Authenticator::new();
    app.add_passkey(&mut revoked, "grace").await;
    let device = app.flex.user.list_devices("grace").await.unwrap()[0]
        .id
        .clone();
    app.flex.user.revoke_device("grace", &device).await.unwrap();
    let (_, handshake, options) = app.begin_sign_in(None).await;
    let before = app.fingerprint().await;

    // A nonce used twice; a sign-in for a user without passkeys; a start with a
    // made-up transaction; a discoverable finish with a passkey that was revoked.
    assert!(app.flex.auth.verify_nonce(&nonce).await.is_err());
    assert!(app
        .flex
        .auth
        .create_authenticate_transaction("nobody")
        .await
        .is_err());
    let made_up = "A".repeat(43);
    assert_error(
        &app.authenticate_start(Some(&made_up)).await,
        404,
        "transaction_not_found",
    );
    let response = revoked.authenticate(&app.address, &options);
    assert_error(
        &app.authenticate_finish(None, &handshake, &response).await,
        401,
        "credential_not_found",
    );
    assert_eq!(app.fingerprint().await, before);

    let failures = events(&app, "outcome=failure").await;
    let seen: Vec<(String, String, Value)> = failures
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
                e["external_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "authentication.finished".into(),
                "credential_not_found".into(),
                Value::Null
            ),
            (
                "handshake.started".into(),
                "transaction_not_found".into(),
                Value::Null
            ),
            (
                "transaction.created".into(),
                "user_has_no_passkeys".into(),
                json!("nobody")
            ),
            ("nonce.verified".into(), "invalid_nonce".into(), Value::Null),
        ]
    );
}

#[tokio::test]
async fn filters_narrow_and_the_cursor_pages_through_everything_once() {
    let app = spawn_app().await;
    let mut passkey = Authenticator::new();
    for user in ["ada", "grace", "alan"] {
        app.clock.advance(Duration::from_secs(60));
        let nonce = app.add_passkey(&mut passkey, user).await;
        app.flex.auth.verify_nonce(&nonce).await.unwrap();
    }
    let all = events(&app, "limit=200").await;
    assert_eq!(all.len(), 1 + 3 * 4, "{:?}", types(&all));

    // Pages of 5, newest first, each event once.
    let mut paged = Vec::new();
    let mut query = EventQuery {
        limit: Some(5),
        ..Default::default()
    };
    loop {
        let page = app.flex.events.list(&query).await.unwrap();
        assert!(page.events.len() <= 5);
        paged.extend(page.events.into_iter().map(|e| e.id));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    let ids: Vec<_> = all
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paged, ids);

    let grace = events(&app, "external_id=grace").await;
    assert_eq!(grace.len(), 4);
    assert!(grace.iter().all(|e| e["external_id"] == "grace"));
    let finishes = events(&app, "type=registration.finished&outcome=success").await;
    assert_eq!(finishes.len(), 3);
    assert_eq!(events(&app, "ip=192.0.2.1").await.len(), 0);
    // Every event but the app's creation (by the test itself, not over HTTP).
    assert_eq!(events(&app, "ip=127.0.0.1").await.len(), all.len() - 1);
    // Since grace's transaction, until alan's: grace's four steps.
    let at = |i: usize| all[i]["created_at"].as_str().unwrap().to_owned();
    let window = events(&app, &format!("since={}&until={}", at(7), at(3))).await;
    assert_eq!(types(&window).len(), 4, "{window:?}");
    assert!(window.iter().all(|e| e["external_id"] == "grace"));
}

#[tokio::test]
async fn bad_queries_are_refused_and_other_apps_see_nothing() {
    let app = spawn_app().await;
    let mut passkey = Authenticator::new();
    app.add_passkey(&mut passkey, "ada").await;
    for (query, words) in [
        ("type=bogus", "type must be one of"),
        ("outcome=maybe", "outcome must be success or failure"),
        ("since=yesterday", "since must be an RFC 3339 time"),
        (
            "until=2026-13-01T00:00:00Z",
            "until must be an RFC 3339 time",
        ),
        ("cursor=abc", "cursor must be the next_cursor"),
        ("limit=0", "limit must be between 1 and 200"),
        ("limit=201", "limit must be between 1 and 200"),
        ("limit=many", "limit"),
    ] {
        let answer = app
            .manage(Method::GET, &format!("/events?{query}"), None)
            .await;
        assert_error(&answer, 400, "invalid_request");
        assert!(
            answer.1["error"].as_str().unwrap().contains(words),
            "{query}: {}",
            answer.1
        );
    }
    // No key, a wrong key, another app's key: refused; the other app sees only its own.
    let (other_id, other_key) = app.other_app().await;
    for key in [None, Some("lk_not-a-key"), Some(other_key.as_str())] {
        let answer = app
            .manage_as(&app.app_id, key, Method::GET, "/events", None)
            .await;
        assert_error(&answer, 401, "invalid_access_token");
    }
    let (status, body) = app
        .manage_as(&other_id, Some(&other_key), Method::GET, "/events", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        types(body["events"].as_array().unwrap()),
        ["app.created success"]
    );
    assert_eq!(body["events"][0]["app_id"], other_id.as_str());
}

#[tokio::test]
async fn a_change_whose_event_cannot_be_written_does_not_happen() {
    let app = spawn_app().await;
    let mut passkey = Authenticator::new();
    app.add_passkey(&mut passkey, "ada").await;
    let device = app.flex.user.list_devices("ada").await.unwrap()[0]
        .id
        .clone();
    // The database refuses this one kind of event.
    let refuse = if crate::helpers::TestDatabase::on_postgres() {
        vec![
            "CREATE FUNCTION refuse_revoked() RETURNS trigger AS $$ BEGIN \
             IF NEW.type = 'passkey.revoked' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ \
             LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_revoked BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_revoked()",
        ]
    } else {
        vec![
            "CREATE TRIGGER refuse_revoked BEFORE INSERT ON events WHEN NEW.type = 'passkey.revoked' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ]
    };
    for statement in refuse {
        sqlx::query(statement).execute(&app.db).await.unwrap();
    }
    assert!(app.flex.user.revoke_device("ada", &device).await.is_err());
    assert_eq!(app.flex.user.list_devices("ada").await.unwrap().len(), 1);
    assert!(events(&app, "type=passkey.revoked").await.is_empty());
    // A rename has its event, so it happens.
    app.flex
        .user
        .rename_device("ada", &device, "Work laptop")
        .await
        .unwrap();
    let renamed = events(&app, "type=passkey.renamed").await;
    assert_eq!(renamed.len(), 1);
    assert_eq!(renamed[0]["device_id"], device.as_str());
    assert_eq!(renamed[0]["detail"]["friendly_name"], "Work laptop");
}

#[tokio::test]
async fn events_older_than_the_retention_are_swept() {
    let app = spawn_app().await;
    let mut passkey = Authenticator::new();
    app.add_passkey(&mut passkey, "ada").await;
    let old = events(&app, "").await.len();
    app.clock.advance(Duration::from_secs(60 * 24 * 60 * 60));
    app.add_passkey(&mut passkey, "grace").await;
    assert_eq!(app.core.sweep_events(90).await.unwrap(), 0);
    app.clock.advance(Duration::from_secs(31 * 24 * 60 * 60));
    // The app's old events, and the creations of the built-in site's app and
    // the console's.
    assert_eq!(app.core.sweep_events(90).await.unwrap(), old as u64 + 2);
    let left = events(&app, "").await;
    assert_eq!(left.len(), 3);
    assert!(left.iter().all(|e| e["external_id"] == "grace"));
}
