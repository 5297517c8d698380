//! Each endpoint's success path, and the flows end to end, through HTTP with a
//! software authenticator making real attestations and assertions.

use reqwest::Method;
use serde_json::json;
use softkey::Authenticator;

use crate::helpers::{as_passage_flex_js_sends, assert_error, spawn_app};

#[tokio::test]
async fn adding_a_passkey_gives_a_nonce_that_verifies_once_to_the_external_id() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();

    let nonce = app.add_passkey(&mut authenticator, "user-1").await;

    assert_eq!(app.flex.auth.verify_nonce(&nonce).await.unwrap(), "user-1");
    let again = app.flex.auth.verify_nonce(&nonce).await.unwrap_err();
    assert_eq!(again.code(), Some("invalid_nonce"));
}

#[tokio::test]
async fn registration_options_ask_for_a_discoverable_verified_passkey_and_exclude_existing_ones() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;

    let (_, _, options) = app.begin_registration("user-1").await;

    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["user"]["name"], "user-1@example.com");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    let excluded = options["excludeCredentials"].as_array().unwrap();
    assert_eq!(excluded.len(), 1);
    assert_eq!(
        excluded[0]["id"],
        softkey::b64(&authenticator.credentials[0].id)
    );
}

#[tokio::test]
async fn the_attachment_asked_for_is_passed_to_the_browser() {
    let app = spawn_app().await;
    let transaction = app
        .flex
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();

    let (status, body) = app
        .client_post(
            "/register/transactions/webauthn/start",
            &json!({ "transaction_id": transaction, "authenticator_attachment": "platform" }),
        )
        .await;

    assert_eq!(status, 200, "{body}");
    let selection = &body["handshake"]["challenge"]["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["authenticatorAttachment"], "platform");
}

#[tokio::test]
async fn identifier_first_sign_in_allows_only_the_users_passkeys() {
    let app = spawn_app().await;
    let mut ada = Authenticator::new();
    let mut bob = Authenticator::new();
    app.add_passkey(&mut ada, "ada").await;
    app.add_passkey(&mut bob, "bob").await;

    let (_, _, options) = app.begin_sign_in(Some("ada")).await;
    let allowed: Vec<_> = options["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(allowed, vec![json!(softkey::b64(&ada.credentials[0].id))]);
    assert_eq!(options["userVerification"], "required");

    let nonce = app.sign_in(&mut ada, Some("ada")).await;
    assert_eq!(app.flex.auth.verify_nonce(&nonce).await.unwrap(), "ada");
}

#[tokio::test]
async fn discoverable_sign_in_finds_the_user_from_the_passkey() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;

    let (_, _, options) = app.begin_sign_in(None).await;
    assert!(options["allowCredentials"]
        .as_array()
        .is_none_or(|list| list.is_empty()));
    let nonce = app.sign_in(&mut authenticator, None).await;

    assert_eq!(app.flex.auth.verify_nonce(&nonce).await.unwrap(), "user-1");
}

#[tokio::test]
async fn a_sign_in_updates_the_counter_the_use_count_and_the_last_use() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    let before = app.flex.user.list_devices("user-1").await.unwrap();
    assert_eq!(before[0].usage_count, 0);
    assert_eq!(before[0].last_login_at, "0001-01-01T00:00:00Z");

    app.clock.advance(std::time::Duration::from_secs(5));
    app.sign_in(&mut authenticator, Some("user-1")).await;
    app.sign_in(&mut authenticator, None).await;

    let after = app.flex.user.list_devices("user-1").await.unwrap();
    assert_eq!(after[0].usage_count, 2);
    assert_ne!(after[0].last_login_at, "0001-01-01T00:00:00Z");
    let user = app.flex.user.get("user-1").await.unwrap();
    assert_eq!(user.listed.login_count, 2);
    assert_eq!(authenticator.credentials[0].counter, 2);
}

#[tokio::test]
async fn users_are_found_by_external_id_and_show_their_passkeys() {
    let app = spawn_app().await;
    let mut phone = Authenticator::new();
    let mut key = Authenticator::new();
    key.flags.backup_eligible = false;
    key.flags.backup_state = false;
    app.add_passkey(&mut phone, "user-1").await;
    app.clock.advance(std::time::Duration::from_secs(1)); // passkeys are listed oldest first
    app.add_passkey(&mut key, "user-1").await;
    app.add_passkey(&mut Authenticator::new(), "user-2").await;

    let (status, page) = app
        .manage(Method::GET, "/users?identifier=user-1&limit=1", None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total_users"], 1);
    assert_eq!(page["users"][0]["external_id"], "user-1");
    let (_, all) = app.manage(Method::GET, "/users", None).await;
    assert_eq!(all["total_users"], 2);

    let user = app.flex.user.get("user-1").await.unwrap();
    assert!(user.webauthn);
    assert_eq!(user.webauthn_devices.len(), 2);
    let (status, raw) = app
        .manage(Method::GET, &format!("/users/{}", user.listed.id), None)
        .await;
    assert_eq!(status, 200);
    for field in [
        "email",
        "phone",
        "status",
        "recent_events",
        "social_connections",
        "webauthn_types",
        "user_metadata",
    ] {
        assert!(
            raw["user"].get(field).is_some(),
            "user lacks {field}: {raw}"
        );
    }
    let kinds: Vec<_> = user
        .webauthn_devices
        .iter()
        .map(|d| d.kind.as_str())
        .collect();
    assert_eq!(kinds, ["passkey", "platform"]);
    assert!(user.webauthn_devices[0].backup_state);
    assert!(!user.webauthn_devices[1].backup_eligible);
}

#[tokio::test]
async fn a_known_provider_gets_its_name_and_icons() {
    let app = spawn_app().await;
    let google = [
        0xea, 0x9b, 0x8d, 0x66, 0x4d, 0x01, 0x1d, 0x21, 0x3c, 0xe4, 0xb6, 0xb4, 0x8c, 0xb5, 0x75,
        0xd4,
    ];
    let mut authenticator = Authenticator::new().with_aaguid(google);
    app.add_passkey(&mut authenticator, "user-1").await;

    let device = &app.flex.user.list_devices("user-1").await.unwrap()[0];

    assert_eq!(
        device.provider_name.as_deref(),
        Some("Google Password Manager")
    );
    assert_eq!(device.friendly_name, "Google Password Manager");
    let icon = device.icons.light.as_deref().unwrap();
    let path = icon.strip_prefix("http://localhost:3000").unwrap();
    let response = app.get(path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
}

#[tokio::test]
async fn transports_sent_beside_the_response_as_passage_flex_js_does_are_kept() {
    let app = spawn_app().await;
    let (transaction, handshake, options) = app.begin_registration("user-1").await;
    let response = as_passage_flex_js_sends(Authenticator::new().register(&app.address, &options));
    let (status, body) = app
        .register_finish(&transaction, &handshake, &response)
        .await;
    assert_eq!(status, 200, "{body}");

    let user_id = app.flex.user.get("user-1").await.unwrap().listed.id;
    let (_, devices) = app
        .manage(Method::GET, &format!("/users/{user_id}/devices"), None)
        .await;
    assert_eq!(
        devices["devices"][0]["transports"],
        json!(["internal", "hybrid"])
    );
}

#[tokio::test]
async fn an_unknown_provider_has_no_icons_and_a_plain_name() {
    let app = spawn_app().await;
    app.add_passkey(&mut Authenticator::new(), "user-1").await;

    let device = &app.flex.user.list_devices("user-1").await.unwrap()[0];

    assert_eq!(device.friendly_name, "Passkey");
    assert_eq!(device.icons.light, None);
    assert_eq!(device.provider_name, None);
}

#[tokio::test]
async fn a_passkey_can_be_renamed_and_revoked_and_then_no_longer_signs_in() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    let device = app
        .flex
        .user
        .list_devices("user-1")
        .await
        .unwrap()
        .remove(0);

    let renamed = app
        .flex
        .user
        .rename_device("user-1", &device.id, "  Work laptop ")
        .await
        .unwrap();
    assert_eq!(renamed.friendly_name, "Work laptop");
    assert_eq!(
        app.flex.user.list_devices("user-1").await.unwrap()[0].friendly_name,
        "Work laptop"
    );

    app.flex
        .user
        .revoke_device("user-1", &device.id)
        .await
        .unwrap();
    assert!(app
        .flex
        .user
        .list_devices("user-1")
        .await
        .unwrap()
        .is_empty());
    let again = app
        .flex
        .user
        .revoke_device("user-1", &device.id)
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("device_not_found"));

    // The removed passkey no longer signs in: no transaction, and discoverable refuses it.
    let no_transaction = app
        .flex
        .auth
        .create_authenticate_transaction("user-1")
        .await
        .unwrap_err();
    assert_eq!(no_transaction.code(), Some("user_has_no_passkeys"));
    let (_, handshake, options) = app.begin_sign_in(None).await;
    let response = authenticator.authenticate(&app.address, &options);
    let refused = app.authenticate_finish(None, &handshake, &response).await;
    // The browser may tell the password manager to drop it (Signal API).
    assert_error(&refused, 401, "credential_not_found");
}

#[tokio::test]
async fn the_client_api_answers_cors_for_the_apps_own_origins_only() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.http
            .request(
                Method::OPTIONS,
                app.url(&format!(
                    "/v1/apps/{}/authenticate/transactions/webauthn/start",
                    app.app_id
                )),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, passage-flex-version",
            )
            .send()
    };

    let ok = preflight(Box::leak(app.address.clone().into_boxed_str()))
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        app.address.as_str()
    );
    assert!(ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("passage-flex-version"));

    let evil = preflight("https://evil-example.com").await.unwrap();
    assert_eq!(evil.status(), 400);
    assert!(evil.headers().get("access-control-allow-origin").is_none());

    let (status, _) = app.authenticate_start(None).await;
    assert_eq!(status, 200);
    let response = app
        .http
        .post(app.url(&format!(
            "/v1/apps/{}/authenticate/transactions/webauthn/start",
            app.app_id
        )))
        .header("origin", "https://evil-example.com")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn an_apps_own_lifetimes_apply() {
    use latchkey::flex::apps::{Lifetimes, NewApp};
    let app = spawn_app().await;
    let lifetimes = Lifetimes::parse(Some(60), Some(10), Some(5)).unwrap();
    let new = NewApp::parse("Short", std::slice::from_ref(&app.address), None)
        .unwrap()
        .with_lifetimes(lifetimes);
    let (short, key) = app.core.create_app(&new).await.unwrap();
    let flex =
        latchkey::client::LatchkeyFlex::new(&app.address, short.id.as_str(), key.key.as_str());
    let start = |transaction: String| {
        let body = json!({ "transaction_id": transaction }).to_string();
        app.client_post_raw(
            short.id.as_str(),
            "/register/transactions/webauthn/start",
            body,
        )
    };

    let transaction = flex
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();
    app.clock.advance(std::time::Duration::from_secs(11));
    assert_error(&start(transaction).await, 404, "transaction_not_found");

    let transaction = flex
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();
    let (status, body) = start(transaction.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["handshake"]["challenge"]["publicKey"]["timeout"],
        60_000
    );
    let response =
        Authenticator::new().register(&app.address, &body["handshake"]["challenge"]["publicKey"]);
    let finish = json!({ "transaction_id": transaction, "handshake_id": body["handshake"]["id"], "handshake_response": response });
    let (status, body) = app
        .client_post_raw(
            short.id.as_str(),
            "/register/transactions/webauthn/finish",
            finish.to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.clock.advance(std::time::Duration::from_secs(6));
    let late = flex
        .auth
        .verify_nonce(body["nonce"].as_str().unwrap())
        .await
        .unwrap_err();
    assert_eq!(late.code(), Some("invalid_nonce"));
}
