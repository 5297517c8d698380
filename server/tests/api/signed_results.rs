//! Signed results: an app that turns them on gets a JWT beside the nonce of
//! every finish, verified here as an app's backend would, with another JOSE
//! implementation (josekit, over OpenSSL) than the one that signs (jsonwebtoken,
//! RustCrypto), against the JWKS fetched over HTTP.

use std::time::Duration;

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm,
};
use app::wire::NonceResponse;
use base64::{engine::general_purpose::STANDARD, Engine as _};
use josekit::{
    jwk::JwkSet,
    jws::ES256,
    jwt::{self, JwtPayload},
};
use latchkey::{
    flex::{
        apps::NewApp,
        ids::AppId,
        signing::{SecretKey, RETIRED_KEY_SERVED_MS, SIGNED_RESULT_TTL_MS},
    },
    startup::Application,
};
use p256::pkcs8::DecodePrivateKey;
use serde_json::Value;
use softkey::Authenticator;
use sqlx::Row;

use crate::{
    cli::{self, latchkey},
    console::{invite, Browser},
    helpers::{spawn_app_with, test_config_with_limits, TestApp},
};

/// The secret key the tests' servers seal signing keys with.
const SECRET: [u8; 32] = [42; 32];

fn secret_key() -> SecretKey {
    SecretKey::parse(&STANDARD.encode(SECRET)).unwrap()
}

/// A server with the secret key set, its test app's signed results off.
async fn spawn_app_with_secret_key() -> TestApp {
    spawn_app_with(|config| config.secret_key = Some(secret_key())).await
}

/// Turns signed results on or off for `app_id` (of `origin`), through the core
/// the server runs on.
async fn set_signed_results(app: &TestApp, app_id: &str, origin: &str, on: bool) {
    let id = AppId::parse(app_id).unwrap();
    let name = app.core.app(&id).await.unwrap().name.clone();
    let new = NewApp::parse(&name, &[origin.to_owned()], None)
        .unwrap()
        .with_signed_results(on);
    app.core.update_app(&id, &new).await.unwrap();
}

/// A server whose test app has signed results on.
async fn spawn_signing_app() -> TestApp {
    let app = spawn_app_with_secret_key().await;
    set_signed_results(&app, &app.app_id, &app.address, true).await;
    app
}

/// The JWKS of `app_id`, as served: its status, `Cache-Control` and bytes.
async fn fetch_jwks(app: &TestApp, app_id: &str) -> (u16, Option<String>, Vec<u8>) {
    let response = app
        .get(&format!("/v1/apps/{app_id}/.well-known/jwks.json"))
        .await;
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        cache,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// Verifies `token` as an app's backend does: the key its `kid` names in the
/// JWKS, the ES256 signature, then `exp` against `now_secs`.
fn verify(token: &str, jwks: &[u8], now_secs: i64) -> Result<JwtPayload, String> {
    let set = JwkSet::from_bytes(jwks).map_err(|e| e.to_string())?;
    let header = jwt::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .ok_or("no kid")?;
    let jwk = *set.get(kid).first().ok_or("the kid is not in the JWKS")?;
    let verifier = ES256.verifier_from_jwk(jwk).map_err(|e| e.to_string())?;
    let (payload, header) =
        jwt::decode_with_verifier(token, &verifier).map_err(|e| e.to_string())?;
    if header.algorithm() != Some("ES256") {
        return Err("not ES256".into());
    }
    let exp = payload
        .claim("exp")
        .and_then(Value::as_i64)
        .ok_or("no exp")?;
    if exp <= now_secs {
        return Err("expired".into());
    }
    Ok(payload)
}

fn kid_of(token: &str) -> String {
    jwt::decode_header(token)
        .unwrap()
        .claim("kid")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn token(answer: &NonceResponse) -> &str {
    answer.signed_result.as_deref().expect("a signed result")
}

/// How many signing keys the store holds, retired ones included.
async fn signing_keys(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM signing_keys")
        .fetch_one(&app.db)
        .await
        .unwrap()
        .get("n")
}

fn now_secs(app: &TestApp) -> i64 {
    app.clock.now() / 1000
}

/// The claims of a verified token are the ones promised, for this user and passkey.
async fn assert_claims(app: &TestApp, payload: &JwtPayload, external_id: &str) {
    let claim = |name: &str| payload.claim(name).cloned().unwrap_or(Value::Null);
    assert_eq!(
        claim("iss"),
        format!("http://localhost:3000/v1/apps/{}", app.app_id)
    );
    assert_eq!(claim("sub"), external_id);
    assert_eq!(claim("aud"), app.app_id.as_str());
    assert_eq!(claim("amr"), serde_json::json!(["webauthn"]));
    let iat = claim("iat").as_i64().unwrap();
    let exp = claim("exp").as_i64().unwrap();
    assert_eq!(iat, now_secs(app));
    assert_eq!(exp - iat, SIGNED_RESULT_TTL_MS / 1000);
    assert!(exp - iat <= 300);
    let jti = claim("jti");
    assert!(jti.as_str().unwrap().len() >= 22, "{jti}");
    assert!(payload.claim("action_hash").is_none());
    let devices = app.flex.user.list_devices(external_id).await.unwrap();
    assert!(
        devices
            .iter()
            .any(|d| Value::String(d.id.clone()) == claim("device_id")),
        "{:?} is none of {devices:?}",
        claim("device_id")
    );
}

#[tokio::test]
async fn signed_results_are_off_by_default_and_a_finish_answers_the_nonce_alone() {
    let app = spawn_app_with_secret_key().await;
    let mut authenticator = Authenticator::new();

    let registered = app.add_passkey_answer(&mut authenticator, "user-1").await;
    let signed_in = app.sign_in_answer(&mut authenticator, Some("user-1")).await;
    let (status, _, jwks) = fetch_jwks(&app, &app.app_id).await;

    for answer in [&registered, &signed_in] {
        assert_eq!(answer.signed_result, None);
        let nonce = &answer.nonce;
        assert_eq!(app.flex.auth.verify_nonce(nonce).await.unwrap(), "user-1");
    }
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&jwks).unwrap(),
        serde_json::json!({ "keys": [] })
    );
}

#[tokio::test]
async fn a_registration_answers_a_signed_result_that_verifies_against_the_jwks() {
    let app = spawn_signing_app().await;
    let mut authenticator = Authenticator::new();

    let answer = app.add_passkey_answer(&mut authenticator, "user-1").await;
    let (status, cache, jwks) = fetch_jwks(&app, &app.app_id).await;

    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("public, max-age=60"));
    let set: Value = serde_json::from_slice(&jwks).unwrap();
    assert_eq!(set["keys"].as_array().unwrap().len(), 1);
    let key = &set["keys"][0];
    assert_eq!(
        (&key["kty"], &key["crv"], &key["alg"], &key["use"]),
        (
            &"EC".into(),
            &"P-256".into(),
            &"ES256".into(),
            &"sig".into()
        )
    );
    assert!(key.get("d").is_none(), "the private key is public: {key}");
    let payload = verify(token(&answer), &jwks, now_secs(&app)).unwrap();
    assert_claims(&app, &payload, "user-1").await;
    // The nonce keeps working beside it.
    assert_eq!(
        app.flex.auth.verify_nonce(&answer.nonce).await.unwrap(),
        "user-1"
    );
    // The Rust client reads the same set.
    let keys = app.flex.jwks().await.unwrap();
    assert_eq!(serde_json::to_value(keys).unwrap(), set);
}

#[tokio::test]
async fn identifier_first_and_discoverable_sign_ins_answer_signed_results_too() {
    let app = spawn_signing_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey_answer(&mut authenticator, "user-1").await;

    let identifier_first = app.sign_in_answer(&mut authenticator, Some("user-1")).await;
    let discoverable = app.sign_in_answer(&mut authenticator, None).await;
    let (_, _, jwks) = fetch_jwks(&app, &app.app_id).await;

    let first = verify(token(&identifier_first), &jwks, now_secs(&app)).unwrap();
    let second = verify(token(&discoverable), &jwks, now_secs(&app)).unwrap();
    assert_claims(&app, &first, "user-1").await;
    assert_claims(&app, &second, "user-1").await;
    assert_ne!(first.claim("jti"), second.claim("jti"));
    assert_eq!(first.claim("device_id"), second.claim("device_id"));
}

#[tokio::test]
async fn a_token_is_refused_once_expired_tampered_with_or_checked_against_another_apps_jwks() {
    let app = spawn_signing_app().await;
    let (other_id, _) = app.other_app().await;
    set_signed_results(&app, &other_id, &app.address, true).await;
    let mut authenticator = Authenticator::new();
    let answer = app.add_passkey_answer(&mut authenticator, "user-1").await;
    let token = token(&answer);
    let (_, _, jwks) = fetch_jwks(&app, &app.app_id).await;
    let (_, _, other_jwks) = fetch_jwks(&app, &other_id).await;

    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let claims = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&parts[1])
            .unwrap(),
    )
    .unwrap();
    parts[1] =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.replace("user-1", "user-2"));
    let tampered = parts.join(".");
    // The other app's key under this token's kid: still not its signature.
    let mut swapped: Value = serde_json::from_slice(&other_jwks).unwrap();
    swapped["keys"][0]["kid"] = kid_of(token).into();

    assert!(verify(token, &jwks, now_secs(&app)).is_ok());
    assert!(verify(&tampered, &jwks, now_secs(&app)).is_err());
    assert_eq!(
        verify(token, &other_jwks, now_secs(&app)).unwrap_err(),
        "the kid is not in the JWKS"
    );
    assert!(verify(token, swapped.to_string().as_bytes(), now_secs(&app)).is_err());
    let expiry = now_secs(&app) + SIGNED_RESULT_TTL_MS / 1000;
    assert_eq!(verify(token, &jwks, expiry).unwrap_err(), "expired");
}

#[tokio::test]
async fn after_a_rotation_old_and_new_tokens_verify_until_the_old_key_leaves_the_jwks() {
    let app = spawn_signing_app().await;
    let id = AppId::parse(&app.app_id).unwrap();
    let mut authenticator = Authenticator::new();
    let before = app.add_passkey_answer(&mut authenticator, "user-1").await;

    let new_kid = app.core.rotate_signing_key(&id).await.unwrap();
    let after = app.sign_in_answer(&mut authenticator, Some("user-1")).await;
    let (_, _, jwks) = fetch_jwks(&app, &app.app_id).await;

    assert_ne!(kid_of(token(&before)), kid_of(token(&after)));
    assert_eq!(kid_of(token(&after)), new_kid.as_str());
    let keys: Value = serde_json::from_slice(&jwks).unwrap();
    assert_eq!(
        keys["keys"][0]["kid"],
        new_kid.as_str(),
        "the current key first"
    );
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    assert!(verify(token(&before), &jwks, now_secs(&app)).is_ok());
    assert!(verify(token(&after), &jwks, now_secs(&app)).is_ok());
    let events = app.flex.events.list(&Default::default()).await.unwrap();
    let rotated = events
        .events
        .iter()
        .find(|e| e.event_type == latchkey::flex::events::EventType::SigningKeyRotated)
        .expect("a signing_key.rotated event");
    assert_eq!(rotated.detail["key_id"], new_kid.as_str());
    assert_eq!(rotated.detail["retired_key_id"], kid_of(token(&before)));

    // Every token the old key signed has expired (with a minute's leeway): it goes.
    app.clock
        .advance(Duration::from_millis(RETIRED_KEY_SERVED_MS as u64 - 1000));
    let (_, _, still) = fetch_jwks(&app, &app.app_id).await;
    app.clock.advance(Duration::from_millis(1000));
    let (_, _, later) = fetch_jwks(&app, &app.app_id).await;
    let swept = app.core.sweep_expired().await.unwrap();
    let rows = signing_keys(&app).await;

    assert_eq!(
        serde_json::from_slice::<Value>(&still).unwrap()["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let later: Value = serde_json::from_slice(&later).unwrap();
    assert_eq!(later["keys"].as_array().unwrap().len(), 1);
    assert_eq!(later["keys"][0]["kid"], new_kid.as_str());
    assert!(swept >= 1);
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn the_private_key_is_stored_only_sealed_under_the_secret_key_for_its_app() {
    let app = spawn_signing_app().await;
    let row = sqlx::query("SELECT id, app_id, public_jwk, private_key FROM signing_keys")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let sealed: Vec<u8> = row.get("private_key");
    let public_jwk: String = row.get("public_jwk");

    // Sealed as the README says: AES-256-GCM, a 12-byte nonce first, the app id as associated data.
    let cipher = Aes256Gcm::new_from_slice(&SECRET).unwrap();
    let (nonce, ciphertext) = sealed.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().unwrap();
    let open = |aad: &[u8]| {
        cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
    };
    let pkcs8 = open(app.app_id.as_bytes()).expect("it opens for its app");
    assert!(open(b"another app").is_none());
    let key = p256::SecretKey::from_pkcs8_der(&pkcs8).unwrap();
    let scalar = key.to_bytes().to_vec();
    let jwk: Value = serde_json::from_str(&public_jwk).unwrap();
    let point =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key.public_key(), false);
    assert_eq!(
        jwk["x"],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(point.x().unwrap())
    );

    // Neither the PKCS#8 document nor the raw scalar (nor their base64) is in the row, or any event.
    let mut stored: Vec<Vec<u8>> = vec![sealed.clone(), public_jwk.into_bytes()];
    for row in sqlx::query("SELECT CAST(detail AS TEXT) AS detail FROM events")
        .fetch_all(&app.db)
        .await
        .unwrap()
    {
        stored.push(row.get::<String, _>("detail").into_bytes());
    }
    for secret in [
        pkcs8.clone(),
        scalar.clone(),
        STANDARD.encode(&pkcs8).into_bytes(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(&scalar)
            .into_bytes(),
    ] {
        for bytes in &stored {
            assert!(!bytes
                .windows(16)
                .any(|w| secret.windows(16).any(|s| s == w)));
        }
    }
}

#[tokio::test]
async fn turning_signed_results_on_without_the_secret_key_is_refused_and_changes_nothing() {
    let app = spawn_with_no_secret_key().await;
    let id = AppId::parse(&app.app_id).unwrap();
    let before = app.fingerprint().await;

    let refused = app
        .core
        .update_app(
            &id,
            &NewApp::parse("Renamed", std::slice::from_ref(&app.address), None)
                .unwrap()
                .with_signed_results(true),
        )
        .await
        .unwrap_err();

    assert_eq!(refused.code(), "invalid_request");
    assert!(
        refused.to_string().contains("openssl rand -base64 32"),
        "{refused}"
    );
    assert_eq!(app.fingerprint().await, before);
    let app_row = app.core.app(&id).await.unwrap();
    assert_eq!(
        (app_row.name.as_str(), app_row.signed_results),
        ("Test app", false)
    );
    let keys = signing_keys(&app).await;
    assert_eq!(keys, 0);
}

async fn spawn_with_no_secret_key() -> TestApp {
    spawn_app_with(|_| {}).await
}

#[tokio::test]
async fn the_server_will_not_start_while_an_app_with_signed_results_cannot_sign() {
    let app = spawn_signing_app().await;
    let other = SecretKey::parse(&STANDARD.encode([7_u8; 32])).unwrap();
    let build = |secret_key: Option<SecretKey>| {
        let mut config =
            test_config_with_limits(app.database_url(), app.clock.clone(), Default::default());
        config.secret_key = secret_key;
        Application::build(config)
    };

    let without = build(None).await.err().expect("refused without a key");
    let wrong = build(Some(other))
        .await
        .err()
        .expect("refused with another key");
    let right = build(Some(secret_key())).await;

    let without = format!("{without:#}");
    assert!(without.contains(&app.app_id), "{without}");
    assert!(without.contains("openssl rand -base64 32"), "{without}");
    let wrong = format!("{wrong:#}");
    assert!(wrong.contains("does not decrypt"), "{wrong}");
    assert!(right.is_ok());

    // The binary says so too and exits non-zero; `doctor` fails on it.
    let served = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", app.database_url())
        .env_remove("LATCHKEY_SECRET_KEY")
        .output()
        .unwrap();
    let doctor = latchkey()
        .args(["doctor"])
        .env("DATABASE_URL", app.database_url())
        .env("LATCHKEY_SECRET_KEY", STANDARD.encode([7_u8; 32]))
        .output()
        .unwrap();
    let healthy = latchkey()
        .args(["doctor"])
        .env("DATABASE_URL", app.database_url())
        .env("LATCHKEY_SECRET_KEY", STANDARD.encode(SECRET))
        .output()
        .unwrap();

    assert!(!served.status.success());
    let stderr = String::from_utf8_lossy(&served.stderr);
    assert!(stderr.contains("no secret key is set"), "{stderr}");
    assert!(!doctor.status.success());
    let stdout = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        stdout.contains("FAIL  signed results: the secret key does not decrypt"),
        "{stdout}"
    );
    let stdout = String::from_utf8_lossy(&healthy.stdout);
    assert!(
        stdout.contains("ok    signed results: every app that has them on can sign"),
        "{stdout}"
    );
    assert!(!stdout.contains(&STANDARD.encode(SECRET)));

    // A malformed key is refused by every command, and not echoed.
    let short = STANDARD.encode([42_u8; 31]);
    let refused = latchkey()
        .args(["apps", "list"])
        .env("DATABASE_URL", app.database_url())
        .env("LATCHKEY_SECRET_KEY", &short)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("31 bytes, not 32"), "{stderr}");
    assert!(!stderr.contains(&short), "{stderr}");
}

/// `apps update` through the binary, with the tests' secret key: (success, stdout, stderr).
fn apps_update(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let key = STANDARD.encode(SECRET);
    cli::apps_update_with(app, &[("LATCHKEY_SECRET_KEY", &key)], args)
}

/// The app's row, every setting `apps update` can change.
async fn settings(app: &TestApp) -> Vec<String> {
    let row = sqlx::query(
        "SELECT name, rp_id, CAST(origins AS TEXT) AS origins, webauthn_timeout_ms, \
         transaction_ttl_ms, nonce_ttl_ms, max_passkeys_per_user, \
         CAST(CASE WHEN signed_results THEN 1 ELSE 0 END AS BIGINT) AS signed FROM apps \
         WHERE id = $1",
    )
    .bind(&app.app_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let mut values: Vec<String> = ["name", "rp_id", "origins"]
        .iter()
        .map(|c| row.get::<String, _>(*c))
        .collect();
    for column in [
        "webauthn_timeout_ms",
        "transaction_ttl_ms",
        "nonce_ttl_ms",
        "max_passkeys_per_user",
    ] {
        values.push(row.get::<i64, _>(column).to_string());
    }
    values.push(row.get::<i64, _>("signed").to_string());
    values
}

#[tokio::test]
async fn apps_update_changes_only_the_options_given_and_turns_signed_results_on() {
    let app = spawn_app_with_secret_key().await;
    let before = settings(&app).await;

    let (ok, stdout, stderr) = apps_update(
        &app,
        &[
            &app.app_id,
            "--name",
            "Shop",
            "--nonce-ttl",
            "30",
            "--signed-results",
            "true",
            "--json",
        ],
    );

    assert!(ok, "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["name"], "Shop");
    assert_eq!(printed["nonce_ttl_secs"], 30);
    assert_eq!(printed["signed_results"], true);
    assert_eq!(printed["origins"], serde_json::json!([app.address]));
    let after = settings(&app).await;
    assert_eq!(after[0], "Shop");
    assert_eq!(after[5], "30000");
    assert_eq!(after[7], "1");
    assert_eq!(
        [&after[1..5], &after[6..7]].concat(),
        [&before[1..5], &before[6..7]].concat(),
        "only the options given changed"
    );
    // The CLI wrote the event; the server (whose cache it bypassed) signs within a second.
    app.clock.advance(Duration::from_secs(2));
    let mut authenticator = Authenticator::new();
    let answer = app.add_passkey_answer(&mut authenticator, "user-1").await;
    let (_, _, jwks) = fetch_jwks(&app, &app.app_id).await;
    assert!(verify(token(&answer), &jwks, now_secs(&app)).is_ok());

    // And off again: no token, the key kept for when it is turned back on.
    let (ok, _, stderr) = apps_update(&app, &[&app.app_id, "--signed-results", "false"]);
    assert!(ok, "{stderr}");
    app.clock.advance(Duration::from_secs(2));
    let answer = app.sign_in_answer(&mut authenticator, Some("user-1")).await;
    assert_eq!(answer.signed_result, None);
}

#[tokio::test]
async fn apps_update_refuses_bad_input_with_a_clear_message_and_changes_nothing() {
    let app = spawn_app_with_secret_key().await;
    let before = settings(&app).await;
    let fingerprint = app.fingerprint().await;

    for (args, message) in [
        (
            vec!["0123456789abcdef0123456789abcdef", "--name", "X"],
            "The app does not exist",
        ),
        (vec!["nope", "--name", "X"], "The app does not exist"),
        (
            vec![&app.app_id, "--origin", "http://shop.example.com"],
            "allowed only for localhost",
        ),
        (
            vec![&app.app_id, "--origin", "https://elsewhere.example.com"],
            "is not within the RP ID",
        ),
        (
            vec![&app.app_id, "--signed-results", "yes"],
            "invalid value 'yes'",
        ),
        (
            vec![
                &app.app_id,
                "--max-passkeys",
                "0",
                "--signed-results",
                "true",
            ],
            "passkeys per user",
        ),
        (
            vec![&app.app_id, "--nonce-ttl", "1", "--name", "X"],
            "the nonce lifetime",
        ),
        (vec![&app.app_id, "--name", ""], "name"),
    ] {
        let (ok, _, stderr) = apps_update(&app, &args);
        assert!(!ok, "{args:?} succeeded");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    // Rotating needs a key to rotate.
    let rotate = latchkey()
        .args(["signing-keys", "rotate", "--app", &app.app_id])
        .env("DATABASE_URL", app.database_url())
        .env("LATCHKEY_SECRET_KEY", STANDARD.encode(SECRET))
        .output()
        .unwrap();
    assert!(!rotate.status.success());
    assert!(String::from_utf8_lossy(&rotate.stderr).contains("turn signed results on first"));

    assert_eq!(settings(&app).await, before);
    assert_eq!(app.fingerprint().await, fingerprint);
    let keys = signing_keys(&app).await;
    assert_eq!(keys, 0);
}

#[tokio::test]
async fn signing_keys_rotate_through_the_cli_and_the_jwks_of_an_unknown_app_is_not_found() {
    let app = spawn_signing_app().await;
    let (_, _, before) = fetch_jwks(&app, &app.app_id).await;

    let rotated = latchkey()
        .args(["signing-keys", "rotate", "--app", &app.app_id, "--json"])
        .env("DATABASE_URL", app.database_url())
        .env("LATCHKEY_SECRET_KEY", STANDARD.encode(SECRET))
        .output()
        .unwrap();
    let (unknown_status, _, unknown) = fetch_jwks(&app, "0123456789abcdef0123456789abcdef").await;

    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let printed: Value = serde_json::from_slice(&rotated.stdout).unwrap();
    let (_, _, after) = fetch_jwks(&app, &app.app_id).await;
    let after: Value = serde_json::from_slice(&after).unwrap();
    let before: Value = serde_json::from_slice(&before).unwrap();
    assert_eq!(after["keys"][0]["kid"], printed["key_id"]);
    assert_eq!(after["keys"][1], before["keys"][0]);
    assert_eq!(unknown_status, 404);
    assert_eq!(
        serde_json::from_slice::<Value>(&unknown).unwrap()["code"],
        "app_not_found"
    );
}

#[tokio::test]
async fn an_operator_turns_signed_results_on_and_off_and_rotates_the_key_in_the_console() {
    let app = spawn_app_with_secret_key().await;
    let mut ada = Browser::new(&app);
    ada.accept(&invite(&app, "Ada").await).await;
    let id = AppId::parse(&app.app_id).unwrap();
    let app_id = app.app_id.as_str();

    let (status, body) = ada
        .call("apps/signed-results", &[("app_id", app_id), ("on", "yes")])
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(!app.core.app(&id).await.unwrap().signed_results);
    let (status, body) = ada
        .call("apps/signed-results", &[("app_id", app_id), ("on", "true")])
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, shown) = ada.call("app", &[("app_id", app_id)]).await;
    let (status, kid) = ada
        .call("apps/rotate-signing-key", &[("app_id", app_id)])
        .await;
    assert_eq!(status, 200, "{kid}");
    let (_, _, jwks) = fetch_jwks(&app, app_id).await;
    // Saving the settings form keeps signed results as they are.
    let (status, body) = ada
        .call(
            "apps/update",
            &[
                ("app_id", app_id),
                ("name", "Renamed"),
                ("origins", &app.address),
                ("rp_id", ""),
                ("webauthn_timeout", ""),
                ("transaction_ttl", ""),
                ("nonce_ttl", ""),
                ("max_passkeys", ""),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let still_on = app.core.app(&id).await.unwrap().signed_results;
    let (status, body) = ada
        .call(
            "apps/signed-results",
            &[("app_id", app_id), ("on", "false")],
        )
        .await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(
        serde_json::from_str::<Value>(&shown).unwrap()["signed_results"],
        true
    );
    let jwks: Value = serde_json::from_slice(&jwks).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        Value::String(serde_json::from_str(&kid).unwrap()),
        jwks["keys"][0]["kid"]
    );
    assert!(still_on);
    assert!(!app.core.app(&id).await.unwrap().signed_results);
}

#[tokio::test]
async fn a_step_ups_token_names_the_approved_action_by_its_digest() {
    let app = spawn_signing_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey_answer(&mut authenticator, "user-1").await;
    let action = serde_json::json!({ "type": "transfer", "amount": "120.00" });

    let (status, body) = app
        .manage(
            reqwest::Method::POST,
            "/transactions/authenticate",
            Some(&serde_json::json!({ "external_id": "user-1", "action": action })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let transaction = body["transaction_id"].as_str().unwrap().to_owned();
    let (_, body) = app.authenticate_start(Some(&transaction)).await;
    let handshake = body["handshake"]["id"].as_str().unwrap().to_owned();
    let response =
        authenticator.authenticate(&app.address, &body["handshake"]["challenge"]["publicKey"]);
    let (status, body) = app
        .authenticate_finish(Some(&transaction), &handshake, &response)
        .await;
    assert_eq!(status, 200, "{body}");
    let answer: NonceResponse = serde_json::from_value(body).unwrap();
    let (_, _, jwks) = fetch_jwks(&app, &app.app_id).await;
    let payload = verify(token(&answer), &jwks, now_secs(&app)).unwrap();

    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(
        format!(r#"{transaction}.{{"amount":"120.00","type":"transfer"}}"#).as_bytes(),
    );
    assert_eq!(
        payload.claim("action_hash"),
        Some(&Value::String(softkey::b64(&digest)))
    );
    assert_eq!(payload.claim("sub"), Some(&Value::from("user-1")));
    assert_eq!(
        payload.claim("aud"),
        Some(&Value::from(app.app_id.as_str()))
    );

    // A plain sign-in's token approves no action.
    let plain = app.sign_in_answer(&mut authenticator, Some("user-1")).await;
    let payload = verify(token(&plain), &jwks, now_secs(&app)).unwrap();
    assert_eq!(payload.claim("action_hash"), None);
}
