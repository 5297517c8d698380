//! Every negative case in SECURITY.md: each asserts the status, the `code`,
//! and that the store did not change.

use std::time::Duration;

use p256::ecdsa::SigningKey;
use rand::rngs::OsRng;
use reqwest::Method;
use serde_json::json;
use softkey::{b64, unb64, Authenticator, Ceremony};

use crate::helpers::{assert_error, spawn_app, TestApp};

/// Runs `act` and asserts it was refused with `status`/`code` and changed nothing.
macro_rules! refused_without_change {
    ($app:expr, $status:expr, $code:expr, $act:expr) => {{
        let before = $app.fingerprint().await;
        let answer = $act;
        assert_error(&answer, $status, $code);
        assert_eq!($app.fingerprint().await, before, "the store changed");
    }};
}

async fn registration_refused(
    app: &TestApp,
    ceremony: Ceremony,
    origin: &str,
    tweak: impl FnOnce(&mut Authenticator),
) {
    let mut authenticator = Authenticator::new();
    tweak(&mut authenticator);
    let (transaction, handshake, options) = app.begin_registration("user-1").await;
    let response = authenticator.register_with(origin, &options, &ceremony);
    refused_without_change!(
        app,
        400,
        "webauthn_registration_failed",
        app.register_finish(&transaction, &handshake, &response)
            .await
    );
}

async fn sign_in_refused(
    app: &TestApp,
    authenticator: &mut Authenticator,
    external_id: Option<&str>,
    origin: &str,
    ceremony: Ceremony,
    code: &str,
) {
    let (transaction, handshake, options) = app.begin_sign_in(external_id).await;
    let response = authenticator.authenticate_with(origin, &options, &ceremony);
    refused_without_change!(
        app,
        401,
        code,
        app.authenticate_finish(transaction.as_deref(), &handshake, &response)
            .await
    );
}

async fn app_with_passkey() -> (TestApp, Authenticator) {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;
    (app, authenticator)
}

// --- registration -----------------------------------------------------------

#[tokio::test]
async fn a_replayed_registration_is_refused() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    let (transaction, handshake, options) = app.begin_registration("user-1").await;
    let response = authenticator.register(&app.address, &options);
    assert_eq!(
        app.register_finish(&transaction, &handshake, &response)
            .await
            .0,
        200
    );

    refused_without_change!(
        app,
        404,
        "handshake_not_found",
        app.register_finish(&transaction, &handshake, &response)
            .await
    );
}

#[tokio::test]
async fn registration_from_another_origin_is_refused() {
    let app = spawn_app().await;
    let port = app
        .address
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    for origin in [
        "https://evil-example.com".to_owned(),
        format!("http://localhost:{}", port + 1),
        format!("https://localhost:{port}"),
        "null".to_owned(),
    ] {
        registration_refused(&app, Ceremony::default(), &origin, |_| {}).await;
    }
}

#[tokio::test]
async fn registration_for_another_rp_id_is_refused() {
    let app = spawn_app().await;
    let ceremony = Ceremony {
        rp_id: Some("example.com".into()),
        ..Ceremony::default()
    };
    registration_refused(&app, ceremony, &app.address, |_| {}).await;
}

#[tokio::test]
async fn an_assertion_type_sent_to_registration_is_refused() {
    let app = spawn_app().await;
    let ceremony = Ceremony {
        client_data_type: Some("webauthn.get".into()),
        ..Ceremony::default()
    };
    registration_refused(&app, ceremony, &app.address, |_| {}).await;
}

#[tokio::test]
async fn registration_without_user_presence_or_verification_is_refused() {
    let app = spawn_app().await;
    registration_refused(&app, Ceremony::default(), &app.address, |a| {
        a.flags.user_present = false
    })
    .await;
    registration_refused(&app, Ceremony::default(), &app.address, |a| {
        a.flags.user_verified = false
    })
    .await;
}

#[tokio::test]
async fn backed_up_without_backup_eligible_is_refused_at_registration() {
    let app = spawn_app().await;
    registration_refused(&app, Ceremony::default(), &app.address, |a| {
        a.flags.backup_eligible = false;
        a.flags.backup_state = true;
    })
    .await;
}

#[tokio::test]
async fn a_cose_algorithm_that_does_not_match_the_key_is_refused() {
    let app = spawn_app().await;
    let ceremony = Ceremony {
        cose_algorithm: Some(-257),
        ..Ceremony::default()
    };
    registration_refused(&app, ceremony, &app.address, |_| {}).await;
}

#[tokio::test]
async fn a_credential_id_registered_to_one_user_cannot_be_registered_for_another() {
    let (app, mut authenticator) = app_with_passkey().await;
    let (transaction, handshake, options) = app.begin_registration("user-2").await;
    let ceremony = Ceremony {
        reuse_credential: Some(0),
        ..Ceremony::default()
    };
    let response = authenticator.register_with(&app.address, &options, &ceremony);

    refused_without_change!(
        app,
        409,
        "credential_already_registered",
        app.register_finish(&transaction, &handshake, &response)
            .await
    );
}

#[tokio::test]
async fn unknown_forged_used_and_expired_transactions_do_not_start_a_registration() {
    let app = spawn_app().await;
    let forged = b64(&[7; 32]);
    refused_without_change!(
        app,
        404,
        "transaction_not_found",
        app.register_start(&forged).await
    );
    refused_without_change!(
        app,
        404,
        "transaction_not_found",
        app.register_start("not-a-transaction").await
    );

    let used = app
        .flex
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();
    assert_eq!(app.register_start(&used).await.0, 200);
    refused_without_change!(
        app,
        404,
        "transaction_not_found",
        app.register_start(&used).await
    );

    let expiring = app
        .flex
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();
    app.clock.advance(Duration::from_secs(5 * 60 + 1));
    refused_without_change!(
        app,
        404,
        "transaction_not_found",
        app.register_start(&expiring).await
    );

    // An authenticate transaction does not start a registration.
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-2").await;
    let sign_in = app
        .flex
        .auth
        .create_authenticate_transaction("user-2")
        .await
        .unwrap();
    refused_without_change!(
        app,
        404,
        "transaction_not_found",
        app.register_start(&sign_in).await
    );
}

#[tokio::test]
async fn another_apps_transaction_is_not_found() {
    let app = spawn_app().await;
    let (other_id, other_key) = app.other_app().await;
    let other = latchkey::client::LatchkeyFlex::new(&app.address, &other_id, &other_key);
    let transaction = other
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();

    refused_without_change!(
        app,
        404,
        "transaction_not_found",
        app.register_start(&transaction).await
    );
}

#[tokio::test]
async fn an_expired_unknown_or_mismatched_handshake_is_refused() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    let (transaction, handshake, options) = app.begin_registration("user-1").await;
    let response = authenticator.register(&app.address, &options);

    refused_without_change!(
        app,
        404,
        "handshake_not_found",
        app.register_finish(&transaction, &b64(&[1; 32]), &response)
            .await
    );
    let (other_transaction, _, _) = app.begin_registration("user-2").await;
    refused_without_change!(
        app,
        404,
        "handshake_not_found",
        app.register_finish(&other_transaction, &handshake, &response)
            .await
    );
    app.clock.advance(Duration::from_secs(5 * 60 + 1));
    refused_without_change!(
        app,
        404,
        "handshake_not_found",
        app.register_finish(&transaction, &handshake, &response)
            .await
    );
}

#[tokio::test]
async fn malformed_registration_responses_get_a_clear_400() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    let (transaction, handshake, options) = app.begin_registration("user-1").await;
    let good = authenticator.register(&app.address, &options);
    let object = unb64(good["response"]["attestationObject"].as_str().unwrap());

    let with_object = |bytes: &[u8]| {
        let mut response = good.clone();
        response["response"]["attestationObject"] = b64(bytes).into();
        response
    };
    let mut bad_base64 = good.clone();
    bad_base64["response"]["clientDataJSON"] = "%%% not base64 %%%".into();
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.register_finish(&transaction, &handshake, &bad_base64)
            .await
    );
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.register_finish(&transaction, &handshake, &json!({"id": 1}))
            .await
    );
    refused_without_change!(
        app,
        400,
        "webauthn_registration_failed",
        app.register_finish(
            &transaction,
            &handshake,
            &with_object(&object[..object.len() / 2])
        )
        .await
    );
    refused_without_change!(
        app,
        400,
        "webauthn_registration_failed",
        app.register_finish(&transaction, &handshake, &with_object(b"\xff\x00garbage"))
            .await
    );
    let mut trailing = object.clone();
    trailing.extend_from_slice(&[0xa0, 0x01]);
    refused_without_change!(
        app,
        400,
        "webauthn_registration_failed",
        app.register_finish(&transaction, &handshake, &with_object(&trailing))
            .await
    );

    // The untouched response still registers: nothing above used the handshake up.
    assert_eq!(
        app.register_finish(&transaction, &handshake, &good).await.0,
        200
    );
}

#[tokio::test]
async fn transports_beside_a_response_that_is_no_object_is_a_400_not_a_500() {
    let app = spawn_app().await;
    let (transaction, handshake, _) = app.begin_registration("user-1").await;
    for response in [json!(1), json!([]), json!(null), json!("x")] {
        refused_without_change!(
            app,
            400,
            "invalid_request",
            app.register_finish(
                &transaction,
                &handshake,
                &json!({"transports": [], "response": response})
            )
            .await
        );
    }
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.client_post_raw(
            &app.app_id,
            "/register/transactions/webauthn/finish",
            format!(
                r#"{{"transaction_id":"{transaction}","handshake_id":"{handshake}","handshake_response":{{"transports":[],"response":1}}}}"#
            )
        )
        .await
    );
}

#[tokio::test]
async fn a_page_past_the_last_allowed_is_a_400_not_an_overflow() {
    let (app, _) = app_with_passkey().await;
    for (page, limit) in [
        (i64::MAX, 20),
        (i64::MAX, 1),
        (i64::MAX / 10, 20),
        (i64::MAX / 100, 100),
        (1_000_001, 100),
    ] {
        refused_without_change!(
            app,
            400,
            "invalid_request",
            app.manage(
                Method::GET,
                &format!("/users?page={page}&limit={limit}"),
                None
            )
            .await
        );
    }
    // The last page allowed is served (empty: there is one user).
    let (status, body) = app
        .manage(Method::GET, "/users?page=1000000&limit=100", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["users"], json!([]));
    assert_eq!(body["total_users"], 1);
}

#[tokio::test]
async fn ids_that_are_no_ids_are_not_found_nor_a_500() {
    let (app, _) = app_with_passkey().await;
    let user_id = app.flex.user.get("user-1").await.unwrap().listed.id;
    // A NUL is text SQLite keeps and PostgreSQL refuses: neither gets to see it.
    refused_without_change!(
        app,
        404,
        "user_not_found",
        app.manage(Method::GET, "/users/a%00b", None).await
    );
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.manage(Method::GET, "/users?identifier=a%00b", None)
            .await
    );
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.manage(
            Method::DELETE,
            &format!("/users/{user_id}/devices/%FF"),
            None
        )
        .await
    );
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.client_post_raw(
            "%FF",
            "/authenticate/transactions/webauthn/start",
            "{}".into()
        )
        .await
    );
}

#[tokio::test]
async fn malformed_json_wrong_types_and_huge_bodies_get_a_clear_4xx() {
    let app = spawn_app().await;
    let path = "/register/transactions/webauthn/start";
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.client_post_raw(&app.app_id, path, "{not json".into())
            .await
    );
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.client_post_raw(&app.app_id, path, r#"{"transaction_id": 5}"#.into())
            .await
    );
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.client_post_raw(
            &app.app_id,
            path,
            r#"{"transaction_id": "a"} trailing"#.into()
        )
        .await
    );
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.client_post_raw(&app.app_id, path, "{}".into()).await
    );
    let huge = format!(
        r#"{{"transaction_id": "{}"}}"#,
        "a".repeat(10 * 1024 * 1024)
    );
    refused_without_change!(
        app,
        413,
        "payload_too_large",
        app.client_post_raw(&app.app_id, path, huge).await
    );
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.manage(
            Method::POST,
            "/transactions/register",
            Some(&json!({"external_id": "", "passkey_display_name": "x"}))
        )
        .await
    );
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.manage(
            Method::POST,
            "/transactions/register",
            Some(&json!({"external_id": "u", "passkey_display_name": "  "}))
        )
        .await
    );
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.manage(Method::GET, "/users?limit=0", None).await
    );
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.manage(Method::GET, "/users?page=x", None).await
    );
}

#[tokio::test]
async fn an_unknown_app_is_not_found_on_both_apis() {
    let app = spawn_app().await;
    let unknown = "09".repeat(16); // well-shaped, but no such app
    refused_without_change!(
        app,
        404,
        "app_not_found",
        app.client_post_raw(
            &unknown,
            "/authenticate/transactions/webauthn/start",
            "{}".into()
        )
        .await
    );
    refused_without_change!(
        app,
        404,
        "app_not_found",
        app.manage_as(&unknown, Some(&app.api_key), Method::GET, "/users", None)
            .await
    );
}

// --- sign-in ----------------------------------------------------------------

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let (app, mut authenticator) = app_with_passkey().await;
    let (transaction, handshake, options) = app.begin_sign_in(Some("user-1")).await;
    let response = authenticator.authenticate(&app.address, &options);
    assert_eq!(
        app.authenticate_finish(transaction.as_deref(), &handshake, &response)
            .await
            .0,
        200
    );

    refused_without_change!(
        app,
        404,
        "handshake_not_found",
        app.authenticate_finish(transaction.as_deref(), &handshake, &response)
            .await
    );
    // Replayed into a fresh handshake, the challenge does not match.
    let (transaction, handshake, _) = app.begin_sign_in(Some("user-1")).await;
    refused_without_change!(
        app,
        401,
        "webauthn_login_failed",
        app.authenticate_finish(transaction.as_deref(), &handshake, &response)
            .await
    );
}

#[tokio::test]
async fn sign_in_from_another_origin_or_rp_is_refused() {
    let (app, mut authenticator) = app_with_passkey().await;
    for origin in ["https://evil-example.com", "http://example.com", "null"] {
        sign_in_refused(
            &app,
            &mut authenticator,
            Some("user-1"),
            origin,
            Ceremony::default(),
            "webauthn_login_failed",
        )
        .await;
    }
    let other_rp = Ceremony {
        rp_id: Some("example.com".into()),
        ..Ceremony::default()
    };
    sign_in_refused(
        &app,
        &mut authenticator,
        Some("user-1"),
        &app.address.clone(),
        other_rp,
        "webauthn_login_failed",
    )
    .await;
    let wrong_type = Ceremony {
        client_data_type: Some("webauthn.create".into()),
        ..Ceremony::default()
    };
    sign_in_refused(
        &app,
        &mut authenticator,
        None,
        &app.address.clone(),
        wrong_type,
        "discoverable_login_failed",
    )
    .await;
}

#[tokio::test]
async fn sign_in_without_presence_or_verification_is_refused() {
    let (app, mut authenticator) = app_with_passkey().await;
    let origin = app.address.clone();
    authenticator.flags.user_present = false;
    sign_in_refused(
        &app,
        &mut authenticator,
        Some("user-1"),
        &origin,
        Ceremony::default(),
        "webauthn_login_failed",
    )
    .await;
    authenticator.flags.user_present = true;
    authenticator.flags.user_verified = false;
    sign_in_refused(
        &app,
        &mut authenticator,
        Some("user-1"),
        &origin,
        Ceremony::default(),
        "webauthn_login_failed",
    )
    .await;
    sign_in_refused(
        &app,
        &mut authenticator,
        None,
        &origin,
        Ceremony::default(),
        "discoverable_login_failed",
    )
    .await;
}

#[tokio::test]
async fn backed_up_without_backup_eligible_is_refused_at_sign_in() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    authenticator.flags.backup_eligible = false;
    authenticator.flags.backup_state = false;
    app.add_passkey(&mut authenticator, "user-1").await;
    authenticator.flags.backup_state = true;
    let origin = app.address.clone();
    sign_in_refused(
        &app,
        &mut authenticator,
        Some("user-1"),
        &origin,
        Ceremony::default(),
        "webauthn_login_failed",
    )
    .await;
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused() {
    let (app, mut authenticator) = app_with_passkey().await;
    app.sign_in(&mut authenticator, Some("user-1")).await;
    app.sign_in(&mut authenticator, Some("user-1")).await;
    authenticator.credentials[0].counter = 0; // the next assertion says 1, after 2

    let origin = app.address.clone();
    sign_in_refused(
        &app,
        &mut authenticator,
        Some("user-1"),
        &origin,
        Ceremony::default(),
        "webauthn_login_failed",
    )
    .await;
}

#[tokio::test]
async fn a_flipped_signature_or_another_keys_signature_is_refused() {
    let (app, mut authenticator) = app_with_passkey().await;
    let (transaction, handshake, options) = app.begin_sign_in(Some("user-1")).await;
    let mut response = authenticator.authenticate(&app.address, &options);
    let mut signature = unb64(response["response"]["signature"].as_str().unwrap());
    let last = signature.len() - 1;
    signature[last] ^= 0x01;
    response["response"]["signature"] = b64(&signature).into();
    refused_without_change!(
        app,
        401,
        "webauthn_login_failed",
        app.authenticate_finish(transaction.as_deref(), &handshake, &response)
            .await
    );

    let origin = app.address.clone();
    let other_key = Ceremony {
        signing_key: Some(SigningKey::random(&mut OsRng)),
        ..Ceremony::default()
    };
    sign_in_refused(
        &app,
        &mut authenticator,
        Some("user-1"),
        &origin,
        other_key,
        "webauthn_login_failed",
    )
    .await;
}

#[tokio::test]
async fn user_bs_passkey_cannot_finish_user_as_sign_in() {
    let app = spawn_app().await;
    let mut ada = Authenticator::new();
    let mut bob = Authenticator::new();
    app.add_passkey(&mut ada, "ada").await;
    app.add_passkey(&mut bob, "bob").await;

    let (transaction, handshake, options) = app.begin_sign_in(Some("ada")).await;
    let response = bob.assert_with(0, &app.address, &options, &Ceremony::default());

    refused_without_change!(
        app,
        401,
        "webauthn_login_failed",
        app.authenticate_finish(transaction.as_deref(), &handshake, &response)
            .await
    );
}

#[tokio::test]
async fn a_user_handle_that_does_not_own_the_credential_is_refused() {
    let app = spawn_app().await;
    let mut ada = Authenticator::new();
    let mut bob = Authenticator::new();
    app.add_passkey(&mut ada, "ada").await;
    app.add_passkey(&mut bob, "bob").await;
    let origin = app.address.clone();
    let bobs_handle = bob.credentials[0].user_handle.clone();

    let claim_bob = Ceremony {
        user_handle: Some(bobs_handle),
        ..Ceremony::default()
    };
    sign_in_refused(
        &app,
        &mut ada,
        None,
        &origin,
        claim_bob,
        "discoverable_login_failed",
    )
    .await;
    let not_a_uuid = Ceremony {
        user_handle: Some(b"nobody".to_vec()),
        ..Ceremony::default()
    };
    sign_in_refused(
        &app,
        &mut ada,
        None,
        &origin,
        not_a_uuid,
        "discoverable_login_failed",
    )
    .await;
}

#[tokio::test]
async fn a_registration_response_sent_to_sign_in_is_refused() {
    let (app, mut authenticator) = app_with_passkey().await;
    let (_, _, register_options) = app.begin_registration("user-1").await;
    let registration = authenticator.register(&app.address, &register_options);
    let (transaction, handshake, _) = app.begin_sign_in(Some("user-1")).await;

    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.authenticate_finish(transaction.as_deref(), &handshake, &registration)
            .await
    );
}

#[tokio::test]
async fn an_expired_sign_in_handshake_is_refused() {
    let (app, mut authenticator) = app_with_passkey().await;
    let (transaction, handshake, options) = app.begin_sign_in(None).await;
    let response = authenticator.authenticate(&app.address, &options);
    app.clock.advance(Duration::from_secs(5 * 60 + 1));

    refused_without_change!(
        app,
        404,
        "handshake_not_found",
        app.authenticate_finish(transaction.as_deref(), &handshake, &response)
            .await
    );
}

#[tokio::test]
async fn an_unknown_identifier_answers_like_a_user_without_passkeys() {
    let app = spawn_app().await;
    app.flex
        .auth
        .create_register_transaction("no-passkey-yet", "Ada")
        .await
        .unwrap();
    let path = "/transactions/authenticate";

    let unknown = app
        .manage(Method::POST, path, Some(&json!({"external_id": "nobody"})))
        .await;
    let known = app
        .manage(
            Method::POST,
            path,
            Some(&json!({"external_id": "no-passkey-yet"})),
        )
        .await;

    assert_error(&unknown, 409, "user_has_no_passkeys");
    assert_eq!(unknown, known);
}

// --- nonces -----------------------------------------------------------------

#[tokio::test]
async fn a_nonce_verifies_once_and_not_after_expiry_nor_when_forged() {
    let (app, mut authenticator) = app_with_passkey().await;
    let verify = |nonce: &str| {
        let nonce = nonce.to_owned();
        let app = &app;
        async move {
            app.manage(
                Method::POST,
                "/authenticate/verify",
                Some(&json!({ "nonce": nonce })),
            )
            .await
        }
    };
    let nonce = app.sign_in(&mut authenticator, None).await;
    assert_eq!(verify(&nonce).await.1["external_id"], "user-1");
    refused_without_change!(app, 401, "invalid_nonce", verify(&nonce).await);

    let late = app.sign_in(&mut authenticator, None).await;
    app.clock.advance(Duration::from_secs(61));
    refused_without_change!(app, 401, "invalid_nonce", verify(&late).await);
    refused_without_change!(app, 401, "invalid_nonce", verify(&b64(&[3; 32])).await);
    refused_without_change!(app, 401, "invalid_nonce", verify("").await);
}

#[tokio::test]
async fn another_apps_key_neither_verifies_a_nonce_nor_sees_a_user() {
    let (app, mut authenticator) = app_with_passkey().await;
    let (other_id, other_key) = app.other_app().await;
    let nonce = app.sign_in(&mut authenticator, None).await;
    let body = json!({ "nonce": nonce });
    let user_id = app.flex.user.get("user-1").await.unwrap().listed.id;

    // The other app's key on this app's path.
    refused_without_change!(
        app,
        401,
        "invalid_access_token",
        app.manage_as(
            &app.app_id,
            Some(&other_key),
            Method::POST,
            "/authenticate/verify",
            Some(&body)
        )
        .await
    );
    // The other app's path and key: this app's nonce and user do not exist there.
    refused_without_change!(
        app,
        401,
        "invalid_nonce",
        app.manage_as(
            &other_id,
            Some(&other_key),
            Method::POST,
            "/authenticate/verify",
            Some(&body)
        )
        .await
    );
    refused_without_change!(
        app,
        404,
        "user_not_found",
        app.manage_as(
            &other_id,
            Some(&other_key),
            Method::GET,
            &format!("/users/{user_id}"),
            None
        )
        .await
    );
    refused_without_change!(
        app,
        404,
        "user_not_found",
        app.manage_as(
            &other_id,
            Some(&other_key),
            Method::GET,
            &format!("/users/{user_id}/devices"),
            None
        )
        .await
    );

    // And the nonce still works where it belongs.
    assert_eq!(app.flex.auth.verify_nonce(&nonce).await.unwrap(), "user-1");
}

// --- API keys ---------------------------------------------------------------

#[tokio::test]
async fn a_missing_wrong_or_revoked_key_is_refused() {
    let app = spawn_app().await;
    let body = json!({"external_id": "user-1", "passkey_display_name": "Ada"});
    let path = "/transactions/register";
    let call = |key: Option<String>| {
        let body = body.clone();
        let app = &app;
        async move {
            app.manage_as(&app.app_id, key.as_deref(), Method::POST, path, Some(&body))
                .await
        }
    };

    refused_without_change!(app, 401, "invalid_access_token", call(None).await);
    refused_without_change!(
        app,
        401,
        "invalid_access_token",
        call(Some("lk_wrong".into())).await
    );
    let forged = latchkey::flex::ids::ApiKey::generate().as_str().to_owned();
    refused_without_change!(app, 401, "invalid_access_token", call(Some(forged)).await);

    let app_id = latchkey::flex::ids::AppId::parse(&app.app_id).unwrap();
    let key = app.core.create_api_key(&app_id).await.unwrap();
    assert_eq!(call(Some(key.key.as_str().to_owned())).await.0, 200);
    app.core.revoke_api_key(&app_id, &key.id).await.unwrap();
    refused_without_change!(
        app,
        401,
        "invalid_access_token",
        call(Some(key.key.as_str().to_owned())).await
    );
    // The app's other key still works.
    assert_eq!(call(Some(app.api_key.clone())).await.0, 200);
}

#[tokio::test]
async fn management_calls_on_unknown_users_and_devices_are_not_found() {
    let (app, _) = app_with_passkey().await;
    let user_id = app.flex.user.get("user-1").await.unwrap().listed.id;
    let unknown_user = uuid::Uuid::new_v4();
    refused_without_change!(
        app,
        404,
        "user_not_found",
        app.manage(Method::GET, &format!("/users/{unknown_user}"), None)
            .await
    );
    refused_without_change!(
        app,
        404,
        "device_not_found",
        app.manage(
            Method::DELETE,
            &format!("/users/{user_id}/devices/{}", "05".repeat(16)),
            None
        )
        .await
    );
    refused_without_change!(
        app,
        404,
        "device_not_found",
        app.manage(
            Method::PATCH,
            &format!("/users/{user_id}/devices/nope"),
            Some(&json!({"friendly_name": "x"}))
        )
        .await
    );
    let device = &app.flex.user.list_devices("user-1").await.unwrap()[0];
    refused_without_change!(
        app,
        400,
        "invalid_request",
        app.manage(
            Method::PATCH,
            &format!("/users/{user_id}/devices/{}", device.id),
            Some(&json!({"friendly_name": ""}))
        )
        .await
    );
}
