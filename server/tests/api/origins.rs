//! An app's origins beyond its RP ID's web origins: related origins (Related
//! Origin Requests, WebAuthn L3 §5.11) and Android apps' origins. Their
//! checks (CLI and console), ceremonies from them, CORS, and the
//! `/.well-known/webauthn` document (per app, and the built-in site's own).

use latchkey::flex::apps::Origin;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use softkey::Authenticator;
use sqlx::Row;

use crate::{
    cli::{apps_update, latchkey},
    console::{assert_status, invite, Browser},
    helpers::{assert_error, issued, spawn_app, Answer, TestApp},
};

/// A SHA-256 in base64url (43 characters), as an Android app's origin carries it.
const KEY_HASH: &str = "lhnU7x0nSAbwr2oLcZJrKGl8yZsJk3GBGZz3F6OuQE0";
const RELATED: &str = "https://shop.example.co.uk";
const UNRELATED: &str = "https://unrelated.example";

fn android_origin() -> String {
    format!("android:apk-key-hash:{KEY_HASH}")
}

/// Sets the test app's origins (its own and related), as the CLI and the
/// console do: its settings, changed, through `Flex::update_app`.
async fn set_origins(app: &TestApp, extra_origins: &[String], related: &[&str]) {
    let current = app.core.find_app(&app.app_id).await.unwrap();
    let mut new = current
        .settings()
        .unwrap()
        .with_related_origins(&related.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .unwrap();
    new.origins = std::iter::once(app.address.clone())
        .chain(extra_origins.iter().cloned())
        .map(|o| Origin::parse(&o).unwrap())
        .collect();
    app.core.update_app(&current.id, &new).await.unwrap();
}

/// The settings `apps update` can change that this file is about, as stored.
async fn stored_origins(app: &TestApp, app_id: &str) -> (String, String) {
    let row = sqlx::query(
        "SELECT CAST(origins AS TEXT) AS origins, CAST(related_origins AS TEXT) AS related \
         FROM apps WHERE id = $1",
    )
    .bind(app_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    (row.get("origins"), row.get("related"))
}

/// The details of the app's `app.updated` events, oldest first.
async fn update_details(app: &TestApp) -> Vec<Value> {
    sqlx::query("SELECT CAST(detail AS TEXT) AS detail FROM events WHERE app_id = $1 AND type = 'app.updated' ORDER BY seq")
        .bind(&app.app_id)
        .fetch_all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|row| serde_json::from_str(&row.get::<String, _>("detail")).unwrap())
        .collect()
}

/// A registration finish for `user` whose clientDataJSON names `origin`.
async fn register_from(
    app: &TestApp,
    authenticator: &mut Authenticator,
    user: &str,
    origin: &str,
) -> Answer {
    let (transaction, handshake, options) = app.begin_registration(user).await;
    let response = authenticator.register(origin, &options);
    app.register_finish(&transaction, &handshake, &response)
        .await
}

/// An identifier-first sign-in finish whose clientDataJSON names `origin`.
async fn sign_in_from(
    app: &TestApp,
    authenticator: &mut Authenticator,
    user: &str,
    origin: &str,
) -> Answer {
    let (transaction, handshake, options) = app.begin_sign_in(Some(user)).await;
    let response = authenticator.authenticate(origin, &options);
    app.authenticate_finish(transaction.as_deref(), &handshake, &response)
        .await
}

/// A CORS preflight of a client API route of `app_id` from `origin`.
async fn preflight(app: &TestApp, app_id: &str, origin: &str) -> reqwest::Response {
    app.http
        .request(
            Method::OPTIONS,
            app.url(&format!(
                "/v1/apps/{app_id}/authenticate/transactions/webauthn/start"
            )),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn apps_update_sets_and_clears_related_origins_and_prints_them() {
    let app = spawn_app().await;
    let (ok, stdout, stderr) = apps_update(
        &app,
        &[
            &app.app_id,
            "--related-origin",
            RELATED,
            "--related-origin",
            "https://shop.example.net/",
            "--json",
        ],
    );
    assert!(ok, "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        printed["related_origins"],
        json!([RELATED, "https://shop.example.net"])
    );
    assert_eq!(printed["origins"], json!([app.address]));
    let (origins, related) = stored_origins(&app, &app.app_id).await;
    assert_eq!(
        serde_json::from_str::<Value>(&related).unwrap(),
        json!([RELATED, "https://shop.example.net"])
    );
    assert_eq!(
        serde_json::from_str::<Value>(&origins).unwrap(),
        json!([app.address])
    );
    // Changing another option keeps them; the event says what they are.
    let (ok, stdout, stderr) = apps_update(&app, &[&app.app_id, "--name", "Shop"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "related origins  {RELATED}, https://shop.example.net"
        )),
        "{stdout}"
    );
    let details = update_details(&app).await;
    assert_eq!(details.len(), 2);
    assert_eq!(
        details[1]["related_origins"],
        json!([RELATED, "https://shop.example.net"])
    );
    // `none` clears them.
    let (ok, stdout, stderr) =
        apps_update(&app, &[&app.app_id, "--related-origin", "none", "--json"]);
    assert!(ok, "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["related_origins"], json!([]));
    assert_eq!(update_details(&app).await[2]["related_origins"], json!([]));
    // `apps list --json` shows them too.
    let listed = latchkey()
        .args(["apps", "list", "--json"])
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|app| app["related_origins"].is_array()));
}

#[tokio::test]
async fn apps_create_takes_related_origins_and_refuses_bad_ones_creating_nothing() {
    let app = spawn_app().await;
    let create = |related: &str| {
        latchkey()
            .args(["apps", "create", "--name", "Shop"])
            .args(["--origin", "https://shop.example.com"])
            .args(["--related-origin", related, "--json"])
            .env("DATABASE_URL", app.database_url())
            .output()
            .unwrap()
    };
    let created = create(RELATED);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    issued(created["api_key"].as_str().unwrap());
    assert_eq!(created["related_origins"], json!([RELATED]));
    let (_, related) = stored_origins(&app, created["app_id"].as_str().unwrap()).await;
    assert_eq!(
        serde_json::from_str::<Value>(&related).unwrap(),
        json!([RELATED])
    );

    // Within the RP ID: refused with a clear message, and no app is created.
    let fingerprint = app.fingerprint().await;
    let refused = create("https://www.shop.example.com");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("within the RP ID"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(app.fingerprint().await, fingerprint);
}

#[tokio::test]
async fn bad_origins_are_refused_with_a_clear_message_and_change_nothing() {
    let app = spawn_app().await;
    set_origins(&app, &[], &[RELATED]).await;
    let before = stored_origins(&app, &app.app_id).await;
    let fingerprint = app.fingerprint().await;
    let events_before = update_details(&app).await.len();
    let six: Vec<String> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|label| format!("https://www.{label}.example"))
        .collect();
    let mut six_args = vec![app.app_id.as_str()];
    for origin in &six {
        six_args.extend(["--related-origin", origin.as_str()]);
    }
    let address = app.address.clone();
    for (args, message) in [
        (
            vec![
                app.app_id.as_str(),
                "--related-origin",
                "http://shop.example.org",
            ],
            "http:// is allowed only for localhost and *.localhost",
        ),
        (
            vec![
                app.app_id.as_str(),
                "--related-origin",
                "https://shop.example.org/login",
            ],
            "must be scheme://host[:port] only",
        ),
        (six_args, "at most 5 registrable labels"),
        (
            vec![app.app_id.as_str(), "--related-origin", &address],
            "is one of the app's origins already",
        ),
        (
            vec![
                app.app_id.as_str(),
                "--related-origin",
                "http://localhost:1",
            ],
            "is within the RP ID `localhost`",
        ),
        (
            vec![
                app.app_id.as_str(),
                "--related-origin",
                "https://shop.example.org",
                "--related-origin",
                "https://shop.example.org/",
            ],
            "is given twice",
        ),
        (
            vec![
                app.app_id.as_str(),
                "--related-origin",
                "android:apk-key-hash:lhnU7x0nSAbwr2oLcZJrKGl8yZsJk3GBGZz3F6OuQE0",
            ],
            "is not a web origin",
        ),
        (
            vec![
                app.app_id.as_str(),
                "--related-origin",
                "none",
                "--related-origin",
                RELATED,
            ],
            "is not a URL",
        ),
        (
            vec![
                app.app_id.as_str(),
                "--origin",
                &address,
                "--origin",
                "android:apk-key-hash:abc",
            ],
            "43 characters",
        ),
        (
            vec![
                app.app_id.as_str(),
                "--origin",
                &address,
                "--origin",
                "android:apk-key-hash:lhnU7x0nSAbwr2oLcZJrKGl8yZsJk3GBGZz3F6OuQE0=",
            ],
            "43 characters",
        ),
        // An origin that is now a related one cannot become the app's own too.
        (
            vec![
                app.app_id.as_str(),
                "--origin",
                &address,
                "--origin",
                RELATED,
            ],
            "is not within the RP ID",
        ),
    ] {
        let (ok, _, stderr) = apps_update(&app, &args);
        assert!(!ok, "{args:?} succeeded");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert_eq!(stored_origins(&app, &app.app_id).await, before);
    assert_eq!(app.fingerprint().await, fingerprint);
    assert_eq!(update_details(&app).await.len(), events_before);
}

#[tokio::test]
async fn a_passkey_registered_on_the_app_signs_in_on_a_related_origin_and_not_elsewhere() {
    let app = spawn_app().await;
    set_origins(&app, &[], &[RELATED, "https://shop.example.net"]).await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;

    for origin in [RELATED, "https://shop.example.net"] {
        let (status, body) = sign_in_from(&app, &mut authenticator, "user-1", origin).await;
        assert_eq!(status, 200, "{origin}: {body}");
        issued(body["nonce"].as_str().unwrap());
    }
    // A registration from a related origin is accepted too.
    let (status, body) = register_from(&app, &mut Authenticator::new(), "user-2", RELATED).await;
    assert_eq!(status, 200, "{body}");
    issued(body["nonce"].as_str().unwrap());

    // Not from an origin the app does not list: refused, nothing changed.
    for origin in [
        UNRELATED,
        "https://shop.example.co.uk:8443",
        "https://other.example.net",
    ] {
        let (transaction, handshake, options) = app.begin_sign_in(Some("user-1")).await;
        let response = authenticator.authenticate(origin, &options);
        let before = app.fingerprint().await;
        let answer = app
            .authenticate_finish(transaction.as_deref(), &handshake, &response)
            .await;
        assert_error(&answer, 401, "webauthn_login_failed");
        assert_eq!(
            app.fingerprint().await,
            before,
            "{origin}: the store changed"
        );

        let (transaction, handshake, options) = app.begin_registration("user-3").await;
        let response = Authenticator::new().register(origin, &options);
        let before = app.fingerprint().await;
        let answer = app
            .register_finish(&transaction, &handshake, &response)
            .await;
        assert_error(&answer, 400, "webauthn_registration_failed");
        assert_eq!(
            app.fingerprint().await,
            before,
            "{origin}: the store changed"
        );
    }

    // Once removed from the list, the related origin is refused at once.
    set_origins(&app, &[], &[]).await;
    let answer = sign_in_from(&app, &mut authenticator, "user-1", RELATED).await;
    assert_error(&answer, 401, "webauthn_login_failed");
}

#[tokio::test]
async fn related_origins_pass_cors_and_other_apps_do_not_get_them() {
    let app = spawn_app().await;
    set_origins(&app, &[], &[RELATED]).await;
    let (other_id, other_key) = app.other_app().await;

    let allowed = preflight(&app, &app.app_id, RELATED).await;
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    assert_eq!(allowed.headers()["access-control-allow-origin"], RELATED);
    let refused = preflight(&app, &app.app_id, UNRELATED).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    // The other app of the server has its own origins only.
    let other = preflight(&app, &other_id, RELATED).await;
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    let document: Value = app
        .get(&format!("/v1/apps/{other_id}/well-known-webauthn"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(document, json!({ "origins": [app.address] }));
    // Its ceremonies refuse this app's related origin.
    let mut authenticator = Authenticator::new();
    let other = latchkey::client::LatchkeyFlex::new(&app.address, &other_id, &other_key);
    let transaction = other
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();
    issued(&transaction);
    let (status, body) = app
        .client_post_raw(
            &other_id,
            "/register/transactions/webauthn/start",
            json!({ "transaction_id": transaction }).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let response = authenticator.register(RELATED, &body["handshake"]["challenge"]["publicKey"]);
    let before = app.fingerprint().await;
    let answer = app
        .client_post_raw(
            &other_id,
            "/register/transactions/webauthn/finish",
            json!({
                "transaction_id": transaction,
                "handshake_id": body["handshake"]["id"],
                "handshake_response": response,
            })
            .to_string(),
        )
        .await;
    assert_error(&answer, 400, "webauthn_registration_failed");
    assert_eq!(app.fingerprint().await, before);
    // The other app's key reaches nothing of this app.
    let answer = app
        .manage_as(&app.app_id, Some(&other_key), Method::GET, "/users", None)
        .await;
    assert_error(&answer, 401, "invalid_access_token");
}

#[tokio::test]
async fn the_well_known_document_lists_the_web_origins_then_the_related_ones() {
    let app = spawn_app().await;
    set_origins(
        &app,
        &[android_origin()],
        &[RELATED, "https://shop.example.net"],
    )
    .await;
    let response = app
        .get(&format!("/v1/apps/{}/well-known-webauthn", app.app_id))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    // Exactly this document: the Android origin is not a web origin.
    assert_eq!(
        response.text().await.unwrap(),
        format!(
            r#"{{"origins":["{}","{RELATED}","https://shop.example.net"]}}"#,
            app.address
        )
    );
    // The Rust client reads the same.
    let document = app.flex.well_known_webauthn().await.unwrap();
    assert_eq!(
        document.origins,
        [app.address.as_str(), RELATED, "https://shop.example.net"]
    );
    // An export carries them in its header.
    let export = app.flex.export().await.unwrap();
    let header: Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
    assert_eq!(
        header["app"]["related_origins"],
        json!([RELATED, "https://shop.example.net"])
    );
    // An app that is not there: 404 app_not_found, in the API's form.
    let missing = app
        .get("/v1/apps/app_00000000000000000000000000/well-known-webauthn")
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["code"],
        "app_not_found"
    );
}

#[tokio::test]
async fn the_built_in_site_serves_its_apps_well_known_document() {
    let app = spawn_app().await;
    let site = app
        .core
        .list_apps()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.is_builtin)
        .unwrap();
    let response = app.get("/.well-known/webauthn").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "origins": site.origins })
    );

    let new = site
        .settings()
        .unwrap()
        .with_related_origins(&[RELATED.to_owned()])
        .unwrap();
    app.core.update_app(&site.id, &new).await.unwrap();
    let response = app.get("/.well-known/webauthn").await;
    let mut expected = site.origins.clone();
    expected.push(RELATED.to_owned());
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "origins": expected })
    );
}

#[tokio::test]
async fn an_android_origin_is_accepted_for_an_app_that_lists_it_and_refused_elsewhere() {
    let app = spawn_app().await;
    let android = android_origin();
    // Before the app lists it: refused, nothing stored.
    let mut phone = Authenticator::new();
    let (transaction, handshake, options) = app.begin_registration("user-1").await;
    let response = phone.register(&android, &options);
    let before = app.fingerprint().await;
    let answer = app
        .register_finish(&transaction, &handshake, &response)
        .await;
    assert_error(&answer, 400, "webauthn_registration_failed");
    assert_eq!(app.fingerprint().await, before);

    set_origins(&app, std::slice::from_ref(&android), &[]).await;
    let (status, body) = register_from(&app, &mut phone, "user-1", &android).await;
    assert_eq!(status, 200, "{body}");
    issued(body["nonce"].as_str().unwrap());
    let (status, body) = sign_in_from(&app, &mut phone, "user-1", &android).await;
    assert_eq!(status, 200, "{body}");
    issued(body["nonce"].as_str().unwrap());
    // Exactly: another key hash is another app.
    let other_hash = format!("android:apk-key-hash:{}", "A".repeat(43));
    let (transaction, handshake, options) = app.begin_sign_in(Some("user-1")).await;
    let response = phone.authenticate(&other_hash, &options);
    let before = app.fingerprint().await;
    let answer = app
        .authenticate_finish(transaction.as_deref(), &handshake, &response)
        .await;
    assert_error(&answer, 401, "webauthn_login_failed");
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn the_console_edits_origins_and_related_origins_with_the_clis_checks() {
    let app = spawn_app().await;
    let mut ada = Browser::new(&app);
    ada.accept(&invite(&app, "Ada").await).await;
    let app_id = app.app_id.clone();
    let address = app.address.clone();
    let edit = |origins: String, related: &str| {
        vec![
            ("app_id", app_id.clone()),
            ("name", "Test app".to_owned()),
            ("origins", origins),
            ("related_origins", related.to_owned()),
            ("rp_id", "localhost".to_owned()),
            ("webauthn_timeout", String::new()),
            ("transaction_ttl", String::new()),
            ("nonce_ttl", String::new()),
            ("max_passkeys", String::new()),
        ]
    };
    let before = stored_origins(&app, &app.app_id).await;
    for (form, message) in [
        (
            edit(address.clone(), "http://shop.example.org"),
            "http:// is allowed only for localhost",
        ),
        (
            edit(address.clone(), "https://shop.example.org/login"),
            "must be scheme://host[:port] only",
        ),
        (
            edit(
                address.clone(),
                "https://a.example\nhttps://b.example\nhttps://c.example\nhttps://d.example\n\
                 https://e.example\nhttps://f.example",
            ),
            "at most 5 registrable labels",
        ),
        (
            edit(address.clone(), &address),
            "is one of the app's origins already",
        ),
        (
            edit(format!("{address}\nandroid:apk-key-hash:abc"), ""),
            "43 characters",
        ),
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_status(
            &ada.call("apps/update", &form).await,
            StatusCode::BAD_REQUEST,
            message,
        );
    }
    assert_eq!(stored_origins(&app, &app.app_id).await, before);

    let android = android_origin();
    let form = edit(
        format!("{address}\n{android}"),
        &format!("{RELATED}\nhttps://shop.example.net\n"),
    );
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = ada.call("apps/update", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = ada.call("app", &[("app_id", &app.app_id)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["origins"], json!([address, android]));
    assert_eq!(
        view["related_origins"],
        json!([RELATED, "https://shop.example.net"])
    );
    // A blank field clears them.
    let form = edit(format!("{address}\n{android}"), "");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = ada.call("apps/update", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let changed = app.core.find_app(&app.app_id).await.unwrap();
    assert!(changed.related_origins.is_empty());
}
