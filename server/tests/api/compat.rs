//! Passage's own Rust SDK, `passage_flex` 1.0.2, pointed at Latchkey: every
//! one of its methods works unchanged.

use passage_flex::{
    auth::Auth,
    openapi::{apis::configuration::Configuration, models::WebAuthnType},
    user::User,
};
use softkey::Authenticator;

use crate::helpers::{spawn_app, TestApp};

fn configuration(app: &TestApp) -> Configuration {
    Configuration {
        base_path: format!("{}/v1/apps/{}", app.address, app.app_id),
        bearer_access_token: Some(app.api_key.clone()),
        ..Configuration::default()
    }
}

#[tokio::test]
async fn every_passage_flex_method_works_against_latchkey() {
    let app = spawn_app().await;
    let auth = Auth::new(configuration(&app));
    let user = User::new(configuration(&app));
    let mut authenticator = Authenticator::new();

    // auth.create_register_transaction → the browser → auth.verify_nonce
    let transaction = auth
        .create_register_transaction("user-1".into(), "ada@example.com".into())
        .await
        .unwrap();
    let (status, body) = app.register_start(&transaction).await;
    assert_eq!(status, 200, "{body}");
    let response =
        authenticator.register(&app.address, &body["handshake"]["challenge"]["publicKey"]);
    let (_, finished) = app
        .register_finish(
            &transaction,
            body["handshake"]["id"].as_str().unwrap(),
            &response,
        )
        .await;
    let nonce = finished["nonce"].as_str().unwrap().to_owned();
    assert_eq!(auth.verify_nonce(nonce).await.unwrap(), "user-1");

    // auth.create_authenticate_transaction → the browser → auth.verify_nonce
    let transaction = auth
        .create_authenticate_transaction("user-1".into())
        .await
        .unwrap();
    let (_, body) = app.authenticate_start(Some(&transaction)).await;
    let response =
        authenticator.authenticate(&app.address, &body["handshake"]["challenge"]["publicKey"]);
    let (_, finished) = app
        .authenticate_finish(
            Some(&transaction),
            body["handshake"]["id"].as_str().unwrap(),
            &response,
        )
        .await;
    let nonce = finished["nonce"].as_str().unwrap().to_owned();
    assert_eq!(auth.verify_nonce(nonce.clone()).await.unwrap(), "user-1");
    assert!(matches!(
        auth.verify_nonce(nonce).await,
        Err(passage_flex::Error::InvalidNonce)
    ));

    // user.get, user.list_devices, user.revoke_device
    let passage_user = user.get("user-1".into()).await.unwrap();
    assert_eq!(passage_user.external_id, "user-1");
    assert_eq!(passage_user.login_count, 1);
    assert!(passage_user.webauthn);
    assert_eq!(passage_user.webauthn_types, vec![WebAuthnType::Passkey]);
    let devices = user.list_devices("user-1".into()).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].usage_count, 1);
    user.revoke_device("user-1".into(), devices[0].id.clone())
        .await
        .unwrap();
    assert!(user.list_devices("user-1".into()).await.unwrap().is_empty());

    // Its errors map as they did against Passage.
    assert!(matches!(
        user.get("nobody".into()).await,
        Err(passage_flex::Error::UserNotFound)
    ));
    assert!(matches!(
        auth.create_authenticate_transaction("user-1".into()).await,
        Err(passage_flex::Error::UserHasNoPasskeys)
    ));
    assert!(matches!(
        user.revoke_device("user-1".into(), devices[0].id.clone())
            .await,
        Err(passage_flex::Error::DeviceNotFound)
    ));
    let wrong_key = Auth::new(Configuration {
        bearer_access_token: Some("lk_not-a-key".into()),
        ..configuration(&app)
    });
    assert!(matches!(
        wrong_key
            .create_register_transaction("user-1".into(), "Ada".into())
            .await,
        Err(passage_flex::Error::InvalidAccessToken)
    ));
}
