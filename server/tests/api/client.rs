//! The Rust backend client (`latchkey::client`): what it sends is what the
//! caller meant, whatever the ids hold.

use softkey::Authenticator;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_device_id_cannot_reach_another_users_passkey_through_the_path() {
    let app = spawn_app().await;
    app.add_passkey(&mut Authenticator::new(), "user-a").await;
    app.add_passkey(&mut Authenticator::new(), "user-b").await;
    let victim = app.flex.user.get("user-b").await.unwrap();
    let victims_device = victim.webauthn_devices[0].clone();
    let own_devices = app.flex.user.list_devices("user-a").await.unwrap();
    let injected = format!("../../{}/devices/{}", victim.listed.id, victims_device.id);
    let before = app.fingerprint().await;

    let renamed = app
        .flex
        .user
        .rename_device("user-a", &injected, "Renamed by user A")
        .await
        .unwrap_err();
    let revoked = app
        .flex
        .user
        .revoke_device("user-a", &injected)
        .await
        .unwrap_err();

    for refused in [renamed, revoked] {
        assert_eq!(refused.code(), Some("device_not_found"), "{refused}");
    }
    assert_eq!(
        app.flex.user.list_devices("user-b").await.unwrap(),
        vec![victims_device]
    );
    assert_eq!(
        app.flex.user.list_devices("user-a").await.unwrap(),
        own_devices
    );
    assert_eq!(app.fingerprint().await, before, "the store changed");
}

#[tokio::test]
async fn a_dot_segment_is_not_an_id() {
    let app = spawn_app().await;
    app.add_passkey(&mut Authenticator::new(), "user-a").await;
    let devices = app.flex.user.list_devices("user-a").await.unwrap();
    let before = app.fingerprint().await;

    for id in ["", ".", ".."] {
        let revoked = app.flex.user.revoke_device("user-a", id).await.unwrap_err();
        let renamed = app
            .flex
            .user
            .rename_device("user-a", id, "Renamed")
            .await
            .unwrap_err();
        for refused in [revoked, renamed] {
            assert_eq!(refused.code(), Some("invalid_id"), "{id:?}: {refused}");
        }
    }
    assert_eq!(app.flex.user.list_devices("user-a").await.unwrap(), devices);
    assert_eq!(app.fingerprint().await, before, "the store changed");
}
