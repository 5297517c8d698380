//! What browsers ship beyond Passage: the Signal API's arguments (a sign-in's
//! answer, and the management API's route), `credential_not_found` for a
//! passkey the app no longer knows, and registrations started as automatic
//! upgrades (`mediation: "conditional"`), which relax nothing.

use reqwest::Method;
use serde_json::{json, Value};
use softkey::{b64, Authenticator, Flags};

use crate::helpers::{assert_error, spawn_app, TestApp};

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// The passkeys of `user` in this app, from the management API: (id, credential id).
async fn devices(app: &TestApp, external_id: &str) -> Vec<(String, String)> {
    let user = app.user_id(external_id).await;
    let (status, body) = app
        .manage(Method::GET, &format!("/users/{user}/devices"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let field = |name: &str| d[name].as_str().unwrap().to_owned();
            (field("id"), field("cred_id"))
        })
        .collect()
}

#[tokio::test]
async fn a_sign_in_answers_the_users_own_passkeys_and_names_for_the_signal_api() {
    let app = spawn_app().await;
    let (mut phone, mut laptop, mut other) = (
        Authenticator::new(),
        Authenticator::new(),
        Authenticator::new(),
    );
    let (_, _, options) = app.begin_registration("user-0").await;
    let rp_id = options["rp"]["id"].as_str().unwrap().to_owned();
    let registered = app.add_passkey_answer(&mut phone, "user-1").await;
    assert_eq!(registered.signals, None, "a registration's answer has none");
    app.add_passkey(&mut laptop, "user-1").await;
    app.add_passkey(&mut other, "user-2").await;
    let own = sorted(vec![
        b64(&phone.credentials[0].id),
        b64(&laptop.credentials[0].id),
    ]);

    // Identifier-first and discoverable: only this user's passkeys, under the
    // handle the authenticator keeps them under, with the registration's name.
    for external_id in [Some("user-1"), None] {
        let answer = app.sign_in_answer(&mut phone, external_id).await;
        let signals = answer.signals.expect("a sign-in's answer has signals");
        assert_eq!(signals.rp_id, rp_id);
        assert_eq!(signals.user_id, b64(&phone.credentials[0].user_handle));
        assert_eq!(sorted(signals.all_accepted_credential_ids), own);
        assert_eq!(signals.name, "user-1@example.com");
        assert_eq!(signals.display_name, "user-1@example.com");
    }

    // A removed passkey is no longer among them.
    let user = app.user_id("user-1").await;
    // Named by its credential id: two passkeys made in one millisecond list in either order.
    let laptop_id = b64(&laptop.credentials[0].id);
    let (laptop_device, _) = devices(&app, "user-1")
        .await
        .into_iter()
        .find(|(_, cred_id)| *cred_id == laptop_id)
        .unwrap();
    let (status, body) = app
        .manage(
            Method::DELETE,
            &format!("/users/{user}/devices/{laptop_device}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let answer = app.sign_in_answer(&mut phone, None).await;
    let signals = answer.signals.unwrap();
    assert_eq!(
        signals.all_accepted_credential_ids,
        vec![b64(&phone.credentials[0].id)]
    );

    // The app's backend gets the same for its signed-in user, from the
    // management API and the Rust client; never another app's.
    let (status, body) = app
        .manage(Method::GET, &format!("/users/{user}/signals"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, serde_json::to_value(&signals).unwrap());
    let via_client = app.flex.user.webauthn_signals("user-1").await.unwrap();
    assert_eq!(via_client, signals);
    let (other_app, other_key) = app.other_app().await;
    let answer = app
        .manage_as(
            &other_app,
            Some(&other_key),
            Method::GET,
            &format!("/users/{user}/signals"),
            None,
        )
        .await;
    assert_error(&answer, 404, "user_not_found");
    let answer = app
        .manage_as(
            &app.app_id,
            None,
            Method::GET,
            &format!("/users/{user}/signals"),
            None,
        )
        .await;
    assert_error(&answer, 401, "invalid_access_token");
    let answer = app
        .manage(
            Method::GET,
            "/users/00000000-0000-4000-8000-000000000000/signals",
            None,
        )
        .await;
    assert_error(&answer, 404, "user_not_found");
}

#[tokio::test]
async fn a_passkey_the_app_no_longer_knows_is_named_so_the_browser_can_drop_it() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    let user = app.user_id("user-1").await;
    let (device, _) = devices(&app, "user-1").await.remove(0);
    let (status, body) = app
        .manage(
            Method::DELETE,
            &format!("/users/{user}/devices/{device}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Removed here, still in the password manager: a discoverable sign-in
    // with it is refused with its id, and nothing changes.
    let (_, handshake, options) = app.begin_sign_in(None).await;
    let response = authenticator.authenticate(&app.address, &options);
    let before = app.fingerprint().await;
    let answer = app.authenticate_finish(None, &handshake, &response).await;
    assert_error(&answer, 401, "credential_not_found");
    assert_eq!(
        answer.1["credential_id"],
        b64(&authenticator.credentials[0].id)
    );
    assert_eq!(app.fingerprint().await, before);

    // Any other refusal carries no credential id.
    let answer = app
        .authenticate_finish(None, "not-a-handshake", &response)
        .await;
    assert_error(&answer, 404, "handshake_not_found");
    assert_eq!(answer.1.get("credential_id"), None);

    // The audit log records the refusal, with the code and no credential id.
    let (status, body) = app
        .manage(
            Method::GET,
            "/events?type=authentication.finished&outcome=failure",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let refused = &body["events"][0];
    assert_eq!(refused["code"], "credential_not_found", "{body}");
    assert!(!refused
        .to_string()
        .contains(&b64(&authenticator.credentials[0].id)));
}

/// A register handshake for `user-1` with this `mediation` (absent: modal).
async fn start(app: &TestApp, mediation: Option<&str>) -> (String, crate::helpers::Answer) {
    let transaction = app
        .flex
        .auth
        .create_register_transaction("user-1", "user-1@example.com")
        .await
        .unwrap();
    crate::helpers::issued(&transaction);
    let mut body = json!({ "transaction_id": transaction });
    if let Some(mediation) = mediation {
        body["mediation"] = mediation.into();
    }
    let answer = app
        .client_post("/register/transactions/webauthn/start", &body)
        .await;
    (transaction, answer)
}

#[tokio::test]
async fn an_automatic_upgrade_is_recorded_and_relaxes_nothing() {
    let app = spawn_app().await;

    // A mediation other than `conditional` is refused, and the transaction
    // stays unused: it still starts a registration.
    let (transaction, answer) = start(&app, Some("silent")).await;
    assert_error(&answer, 400, "invalid_request");
    assert!(answer.1["error"].as_str().unwrap().contains("mediation"));
    let (status, body) = app.register_start(&transaction).await;
    assert_eq!(status, 200, "{body}");

    // Without the user-present flag: refused, conditional or not (webauthn-rs
    // 0.6 requires it of every registration), and nothing is stored.
    for mediation in [Some("conditional"), None] {
        let (transaction, answer) = start(&app, mediation).await;
        assert_eq!(answer.0, 200, "{}", answer.1);
        let handshake = answer.1["handshake"]["id"].as_str().unwrap().to_owned();
        let options = answer.1["handshake"]["challenge"]["publicKey"].clone();
        let mut silent = Authenticator::new();
        silent.flags = Flags {
            user_present: false,
            ..Flags::default()
        };
        let response = silent.register(&app.address, &options);
        let before = app.fingerprint().await;
        let answer = app
            .register_finish(&transaction, &handshake, &response)
            .await;
        assert_error(&answer, 400, "webauthn_registration_failed");
        assert_eq!(app.fingerprint().await, before, "{mediation:?}");
    }

    // With it: an automatic upgrade registers like any other, and says so in the audit log.
    let (transaction, answer) = start(&app, Some("conditional")).await;
    let handshake = answer.1["handshake"]["id"].as_str().unwrap().to_owned();
    let options = answer.1["handshake"]["challenge"]["publicKey"].clone();
    let mut authenticator = Authenticator::new();
    let response = authenticator.register(&app.address, &options);
    let (status, body) = app
        .register_finish(&transaction, &handshake, &response)
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, events) = app
        .manage(Method::GET, "/events?type=registration.finished", None)
        .await;
    let conditional: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"]["mediation"] == "conditional")
        .collect();
    assert_eq!(conditional.len(), 1, "{events}");
    assert_eq!(devices(&app, "user-1").await.len(), 1);
    let signed_in = app.sign_in_answer(&mut authenticator, None).await;
    assert!(signed_in.signals.is_some());
}

#[tokio::test]
async fn renaming_a_user_changes_the_name_their_signals_carry_and_nothing_else() {
    let app = spawn_app().await;
    let mut phone = Authenticator::new();
    app.add_passkey(&mut phone, "user-1").await;
    let user = app.user_id("user-1").await;
    let path = format!("/users/{user}");
    let rename = |body: Value| {
        let (app, path) = (&app, &path);
        async move { app.manage(Method::PATCH, path, Some(&body)).await }
    };

    // The management API answers the user, as GET does.
    let (status, body) = rename(json!({ "passkey_display_name": " ada@new.example " })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["external_id"], "user-1");
    assert_eq!(
        body["user"]["webauthn_devices"].as_array().unwrap().len(),
        1
    );
    let signals = app.sign_in_answer(&mut phone, None).await.signals.unwrap();
    assert_eq!(
        (signals.name.as_str(), signals.display_name.as_str()),
        ("ada@new.example", "ada@new.example")
    );
    // So does the Rust client.
    app.flex
        .user
        .rename("user-1", "ada@newer.example")
        .await
        .unwrap();
    let signals = app.flex.user.webauthn_signals("user-1").await.unwrap();
    assert_eq!(signals.name, "ada@newer.example");

    // The audit log says that it changed, for whom, not to what.
    let (_, events) = app
        .manage(Method::GET, "/events?type=user.renamed", None)
        .await;
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e["external_id"] == "user-1"));
    assert!(!Value::Array(events.clone()).to_string().contains("example"));

    // Bad input, an unknown user, another app's key: refused, nothing changed.
    let (other_app, other_key) = app.other_app().await;
    let before = app.fingerprint().await;
    for bad in [
        json!({ "passkey_display_name": "  " }),
        json!({ "passkey_display_name": "x".repeat(101) }),
        json!({ "passkey_display_name": "a\u{7}b" }),
        json!({ "passkey_display_name": 5 }),
        json!({}),
    ] {
        assert_error(&rename(bad).await, 400, "invalid_request");
    }
    let body = json!({ "passkey_display_name": "mallory" });
    let answer = app
        .manage(
            Method::PATCH,
            "/users/00000000-0000-4000-8000-000000000000",
            Some(&body),
        )
        .await;
    assert_error(&answer, 404, "user_not_found");
    let answer = app
        .manage_as(
            &other_app,
            Some(&other_key),
            Method::PATCH,
            &format!("/users/{user}"),
            Some(&body),
        )
        .await;
    assert_error(&answer, 404, "user_not_found");
    assert_eq!(app.fingerprint().await, before);
    let signals = app.flex.user.webauthn_signals("user-1").await.unwrap();
    assert_eq!(signals.name, "ada@newer.example");
}
