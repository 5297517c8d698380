//! The console through HTTP: operator invites (used once, expiring), passkey
//! sign-in to the console's own app, sessions (refused without one, ended by
//! a revoke at once, idle expiry), and app validation that is the CLI's.
//! The console's app has the test config's public URL as its origin.

use std::time::Duration;

use app::backend::PasskeyBackend as _;
use latchkey::flex::{
    apps::{Lifetimes, NewApp},
    events::{EventFilter, EventType, Scope},
};
use reqwest::StatusCode;
use serde_json::Value;
use softkey::Authenticator;

use crate::helpers::{issued, spawn_app, TestApp};

const CONSOLE_ORIGIN: &str = "http://localhost:3000";

/// A browser on the console: its own cookie, its own authenticator.
pub struct Browser<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
    authenticator: Authenticator,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookie: None,
            authenticator: Authenticator::new(),
        }
    }

    /// Calls a console server function with a form body; (status, body text).
    pub async fn call(&mut self, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let mut request = self
            .app
            .http
            .post(self.app.url(&format!("/console/fn/{endpoint}")))
            .form(form);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        if let Some(set) = response.headers().get("set-cookie") {
            let set = set.to_str().unwrap();
            assert!(set.contains("Path=/console"), "{set}");
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Strict"),
                "{set}"
            );
            let cookie = set.split(';').next().unwrap().to_owned();
            if let Some((_, token)) = cookie.split_once('=').filter(|(_, t)| !t.is_empty()) {
                issued(token);
            }
            self.cookie = Some(cookie);
        }
        (response.status(), response.text().await.unwrap())
    }

    /// Registers a passkey for an invite, up to the nonce (not yet finished).
    async fn invite_nonce(&mut self, token: &str) -> String {
        let (status, body) = self.call("invite/start", &[("token", token)]).await;
        assert_eq!(status, 200, "{body}");
        let start: Value = serde_json::from_str(&body).unwrap();
        let app_id = start["app_id"].as_str().unwrap();
        let transaction = start["transaction_id"].as_str().unwrap();
        let (status, body) = self
            .app
            .client_post_raw(
                app_id,
                "/register/transactions/webauthn/start",
                serde_json::json!({ "transaction_id": transaction }).to_string(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let response = self
            .authenticator
            .register(CONSOLE_ORIGIN, &body["handshake"]["challenge"]["publicKey"]);
        let finish = serde_json::json!({
            "transaction_id": transaction,
            "handshake_id": body["handshake"]["id"],
            "handshake_response": response,
        });
        let (status, body) = self
            .app
            .client_post_raw(
                app_id,
                "/register/transactions/webauthn/finish",
                finish.to_string(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["nonce"].as_str().unwrap().to_owned()
    }

    /// Accepts an invite: registers a passkey and signs in.
    pub async fn accept(&mut self, token: &str) {
        let nonce = self.invite_nonce(token).await;
        let (status, body) = self
            .call("invite/finish", &[("token", token), ("nonce", &nonce)])
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(self.cookie.is_some());
    }

    /// A discoverable sign-in to the console's app with this browser's passkey.
    async fn sign_in(&mut self) -> (StatusCode, String) {
        let (status, app_id) = self.call("sign-in/start", &[]).await;
        assert_eq!(status, 200, "{app_id}");
        let app_id: String = serde_json::from_str(&app_id).unwrap();
        let (status, body) = self
            .app
            .client_post_raw(
                &app_id,
                "/authenticate/transactions/webauthn/start",
                "{}".into(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let response = self
            .authenticator
            .authenticate(CONSOLE_ORIGIN, &body["handshake"]["challenge"]["publicKey"]);
        let finish = serde_json::json!({
            "handshake_id": body["handshake"]["id"],
            "handshake_response": response,
        });
        let (status, body) = self
            .app
            .client_post_raw(
                &app_id,
                "/authenticate/transactions/webauthn/finish",
                finish.to_string(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let nonce = body["nonce"].as_str().unwrap().to_owned();
        self.call("sign-in/finish", &[("nonce", &nonce)]).await
    }
}

pub async fn invite(app: &TestApp, name: &str) -> String {
    let token = app
        .core
        .invite_operator(name, 3_600_000)
        .await
        .unwrap()
        .token
        .as_str()
        .to_owned();
    issued(&token);
    token
}

/// The types and actors of the events in `scope`, oldest first.
async fn events(app: &TestApp, scope: Scope<'_>) -> Vec<(EventType, String, Option<String>)> {
    let filter = EventFilter {
        limit: 200,
        ..EventFilter::default()
    };
    let mut events: Vec<_> = app
        .core
        .list_events(scope, &filter)
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| (e.event_type, e.outcome.as_str().to_owned(), e.actor))
        .collect();
    events.reverse();
    events
}

#[track_caller]
pub fn assert_status(answer: &(StatusCode, String), status: StatusCode, message: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert!(answer.1.contains(message), "{}", answer.1);
}

#[tokio::test]
async fn an_invited_operator_registers_a_passkey_then_signs_in_with_it() {
    let app = spawn_app().await;
    let token = invite(&app, "Ada").await;
    let mut ada = Browser::new(&app);

    let (status, name) = ada.call("invite", &[("token", &token)]).await;
    assert_eq!((status, name.as_str()), (StatusCode::OK, "\"Ada\""));
    ada.accept(&token).await;
    let (status, body) = ada.call("operator", &[]).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"Ada\""), "{body}");
    let (status, body) = ada.call("apps", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&app.app_id), "{body}");
    assert!(
        !body.contains("Latchkey console"),
        "the console's own app is not listed: {body}"
    );

    ada.call("sign-out", &[]).await;
    assert_status(
        &ada.call("apps", &[]).await,
        StatusCode::UNAUTHORIZED,
        "not signed in",
    );

    let signed_in = ada.sign_in().await;
    assert_eq!(signed_in.0, 200, "{}", signed_in.1);
    assert_eq!(ada.call("apps", &[]).await.0, 200);
    let operators = app.core.list_operators().await.unwrap();
    assert_eq!(operators.len(), 1);
    assert_eq!(
        (operators[0].name.as_str(), operators[0].passkeys),
        ("Ada", 1)
    );
    assert!(operators[0].last_sign_in_at.is_some());

    // The audit log: the operator's steps, each by them (the invite by whoever made it).
    let actor = Some(format!("operator:{}", operators[0].id));
    assert_eq!(
        events(&app, Scope::Console).await,
        [
            (EventType::OperatorInvited, "success".into(), None),
            (
                EventType::OperatorRegistered,
                "success".into(),
                actor.clone()
            ),
            (EventType::OperatorSignedIn, "success".into(), actor.clone()),
        ]
    );
    let filter = |app_filter: &'static str, event_type: &'static str| {
        [
            ("app", app_filter),
            ("event_type", event_type),
            ("outcome", ""),
            ("user", ""),
            ("ip", ""),
            ("since", ""),
            ("until", ""),
            ("cursor", ""),
        ]
    };
    let (status, body) = ada.call("events", &filter("console", "")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("operator.signed_in"), "{body}");
    let (status, body) = ada.call("events", &filter("", "nope")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("type must be one of"), "{body}");
    let (status, body) = ada.call("overview", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&app.app_id), "{body}");
}

#[tokio::test]
async fn an_invite_is_used_once_even_by_two_browsers_at_once() {
    let app = spawn_app().await;
    let token = invite(&app, "Ada").await;
    let mut first = Browser::new(&app);
    let mut second = Browser::new(&app);
    let first_nonce = first.invite_nonce(&token).await;
    let second_nonce = second.invite_nonce(&token).await;

    let first_form = [("token", token.as_str()), ("nonce", first_nonce.as_str())];
    let second_form = [("token", token.as_str()), ("nonce", second_nonce.as_str())];
    let (a, b) = tokio::join!(
        first.call("invite/finish", &first_form),
        second.call("invite/finish", &second_form),
    );

    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::BAD_REQUEST],
        "{a:?} {b:?}"
    );
    let (winner, loser) = if a.0 == StatusCode::OK {
        (first, second)
    } else {
        (second, first)
    };
    let refused = if a.0 == StatusCode::OK { b } else { a };
    assert!(refused.1.contains("used already"), "{}", refused.1);
    assert_eq!(app.core.list_operators().await.unwrap().len(), 1);
    drop(winner);
    // The loser's passkey belongs to no operator: it signs nobody in.
    let mut loser = loser;
    loser.cookie = None;
    let (status, app_id) = loser.call("sign-in/start", &[]).await;
    assert_eq!(status, 200);
    let app_id: String = serde_json::from_str(&app_id).unwrap();
    let (status, body) = app
        .client_post_raw(
            &app_id,
            "/authenticate/transactions/webauthn/start",
            "{}".into(),
        )
        .await;
    assert_eq!(status, 200);
    let response = loser
        .authenticator
        .authenticate(CONSOLE_ORIGIN, &body["handshake"]["challenge"]["publicKey"]);
    let finish = serde_json::json!({
        "handshake_id": body["handshake"]["id"],
        "handshake_response": response,
    });
    let (status, _) = app
        .client_post_raw(
            &app_id,
            "/authenticate/transactions/webauthn/finish",
            finish.to_string(),
        )
        .await;
    assert_ne!(status, 200, "the losing passkey was removed");
    // And a third use of the invite is refused before any ceremony.
    let mut third = Browser::new(&app);
    assert_status(
        &third.call("invite/start", &[("token", &token)]).await,
        StatusCode::BAD_REQUEST,
        "used already",
    );
}

#[tokio::test]
async fn an_expired_invite_is_refused() {
    let app = spawn_app().await;
    let token = app
        .core
        .invite_operator("Ada", 60_000)
        .await
        .unwrap()
        .token
        .as_str()
        .to_owned();
    let mut ada = Browser::new(&app);
    let nonce = ada.invite_nonce(&token).await;
    app.clock.advance(Duration::from_secs(61));

    assert_status(
        &ada.call("invite", &[("token", &token)]).await,
        StatusCode::BAD_REQUEST,
        "expired",
    );
    assert_status(
        &ada.call("invite/start", &[("token", &token)]).await,
        StatusCode::BAD_REQUEST,
        "expired",
    );
    let late = ada
        .call("invite/finish", &[("token", &token), ("nonce", &nonce)])
        .await;
    assert_eq!(late.0, StatusCode::BAD_REQUEST, "{}", late.1);
    assert!(ada.cookie.is_none());
    assert!(app.core.list_operators().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_revoked_operator_is_refused_at_once_and_an_idle_session_ends() {
    let app = spawn_app().await;
    let mut ada = Browser::new(&app);
    ada.accept(&invite(&app, "Ada").await).await;
    let mut bob = Browser::new(&app);
    bob.accept(&invite(&app, "Bob").await).await;
    assert_eq!(ada.call("apps", &[]).await.0, 200);

    let ada_id = app
        .core
        .list_operators()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.name == "Ada")
        .unwrap()
        .id;
    app.core.revoke_operator(&ada_id).await.unwrap();

    assert_status(
        &ada.call("apps", &[]).await,
        StatusCode::UNAUTHORIZED,
        "not signed in",
    );
    assert_eq!(ada.call("operator", &[]).await.1, "null");
    ada.cookie = None;
    let again = ada.sign_in_refused().await;
    assert_ne!(
        again,
        StatusCode::OK,
        "a revoked operator's passkey is gone"
    );
    assert_eq!(
        bob.call("apps", &[]).await.0,
        200,
        "the other operator is unaffected"
    );
    let console = events(&app, Scope::Console).await;
    assert!(
        console.contains(&(EventType::OperatorRevoked, "success".into(), None)),
        "{console:?}"
    );

    app.clock.advance(Duration::from_secs(2 * 3600 + 1));
    assert_status(
        &bob.call("apps", &[]).await,
        StatusCode::UNAUTHORIZED,
        "not signed in",
    );
}

impl Browser<'_> {
    /// A discoverable sign-in whose ceremony is refused: its finish status.
    async fn sign_in_refused(&mut self) -> StatusCode {
        let (_, app_id) = self.call("sign-in/start", &[]).await;
        let app_id: String = serde_json::from_str(&app_id).unwrap();
        let (_, body) = self
            .app
            .client_post_raw(
                &app_id,
                "/authenticate/transactions/webauthn/start",
                "{}".into(),
            )
            .await;
        let response = self
            .authenticator
            .authenticate(CONSOLE_ORIGIN, &body["handshake"]["challenge"]["publicKey"]);
        let finish = serde_json::json!({
            "handshake_id": body["handshake"]["id"],
            "handshake_response": response,
        });
        self.app
            .client_post_raw(
                &app_id,
                "/authenticate/transactions/webauthn/finish",
                finish.to_string(),
            )
            .await
            .0
    }
}

#[tokio::test]
async fn console_server_functions_refuse_without_a_session_and_from_another_site() {
    let app = spawn_app().await;
    let mut stranger = Browser::new(&app);
    let app_id = app.app_id.as_str();
    for (endpoint, form) in [
        ("apps", vec![]),
        ("app", vec![("app_id", app_id)]),
        (
            "apps/create",
            vec![
                ("name", "x"),
                ("origins", "https://x.example"),
                ("rp_id", ""),
                ("webauthn_timeout", ""),
                ("transaction_ttl", ""),
                ("nonce_ttl", ""),
                ("max_passkeys", ""),
            ],
        ),
        ("keys", vec![("app_id", app_id)]),
        ("keys/create", vec![("app_id", app_id)]),
        ("keys/revoke", vec![("app_id", app_id), ("key_id", "x")]),
        ("users", vec![("app_id", app_id), ("q", ""), ("page", "")]),
        ("user", vec![("app_id", app_id), ("user_id", "x")]),
        (
            "passkeys/revoke",
            vec![("app_id", app_id), ("user_id", "x"), ("device_id", "x")],
        ),
        (
            "passkeys/revoke-all",
            vec![("app_id", app_id), ("user_id", "x")],
        ),
        ("overview", vec![]),
        ("webhooks", vec![("app_id", app_id)]),
        (
            "events",
            vec![
                ("app", ""),
                ("event_type", ""),
                ("outcome", ""),
                ("user", ""),
                ("ip", ""),
                ("since", ""),
                ("until", ""),
                ("cursor", ""),
            ],
        ),
    ] {
        let answer = stranger.call(endpoint, &form).await;
        assert_status(&answer, StatusCode::UNAUTHORIZED, "not signed in");
    }
    assert_eq!(
        app.core.list_apps().await.unwrap().len(),
        2,
        "nothing was created"
    );

    let mut ada = Browser::new(&app);
    ada.accept(&invite(&app, "Ada").await).await;
    let cross_site = app
        .http
        .post(app.url("/console/fn/keys/create"))
        .header("origin", "https://evil-example.com")
        .header("cookie", ada.cookie.clone().unwrap())
        .form(&[("app_id", app_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn app_forms_are_checked_as_the_cli_checks_them() {
    let app = spawn_app().await;
    let mut ada = Browser::new(&app);
    ada.accept(&invite(&app, "Ada").await).await;
    let create = |origins: &'static str, timeout: &'static str| {
        [
            ("name", "Shop"),
            ("origins", origins),
            ("rp_id", ""),
            ("webauthn_timeout", timeout),
            ("transaction_ttl", ""),
            ("nonce_ttl", ""),
            ("max_passkeys", ""),
        ]
    };

    let cli_says = NewApp::parse("Shop", &["http://shop.example.com".into()], None)
        .unwrap_err()
        .to_string();
    assert_status(
        &ada.call("apps/create", &create("http://shop.example.com", ""))
            .await,
        StatusCode::BAD_REQUEST,
        &cli_says,
    );
    let cli_says = Lifetimes::parse(Some(5), None, None)
        .unwrap_err()
        .to_string();
    assert_status(
        &ada.call("apps/create", &create("https://shop.example.com", "5"))
            .await,
        StatusCode::BAD_REQUEST,
        &cli_says,
    );

    let (status, body) = ada
        .call(
            "apps/create",
            &create("https://shop.example.com\nhttps://www.shop.example.com", ""),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let shop = created["app_id"].as_str().unwrap().to_owned();
    assert!(created["api_key"].as_str().unwrap().starts_with("lk_"));

    // Edit: the same checks, then the change is seen at once.
    let edit = |origins: &'static str, max: &'static str| {
        vec![
            ("app_id", shop.clone()),
            ("name", "Shop 2".into()),
            ("origins", origins.into()),
            ("rp_id", "shop.example.com".into()),
            ("webauthn_timeout", "120".into()),
            ("transaction_ttl", "60".into()),
            ("nonce_ttl", "30".into()),
            ("max_passkeys", max.into()),
        ]
    };
    let form = edit("https://elsewhere.example", "5");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_status(
        &ada.call("apps/update", &form).await,
        StatusCode::BAD_REQUEST,
        "is not within the RP ID `shop.example.com`",
    );
    let form = edit("https://shop.example.com", "500");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_status(
        &ada.call("apps/update", &form).await,
        StatusCode::BAD_REQUEST,
        "from 1 to 100, not 500",
    );
    let form = edit("https://shop.example.com", "5");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = ada.call("apps/update", &form).await;
    assert_eq!(status, 200, "{body}");
    let changed = app.core.find_app(&shop).await.unwrap();
    assert_eq!(changed.name, "Shop 2");
    assert_eq!(changed.origins, ["https://shop.example.com"]);
    assert_eq!(
        (
            changed.webauthn_timeout_ms,
            changed.transaction_ttl_ms,
            changed.nonce_ttl_ms,
            changed.max_passkeys_per_user
        ),
        (120_000, 60_000, 30_000, 5)
    );
    let shop_id = latchkey::flex::ids::AppId::parse(&shop).unwrap();
    let shop_events = events(&app, Scope::App(&shop_id)).await;
    let ada_id = app.core.list_operators().await.unwrap()[0].id.clone();
    assert_eq!(
        shop_events.last().unwrap(),
        &(
            EventType::AppUpdated,
            "success".into(),
            Some(format!("operator:{ada_id}"))
        )
    );
    // Another app's id, or the console's own, is not found.
    let console_app = app.core.console_app().await.unwrap();
    assert_status(
        &ada.call("app", &[("app_id", console_app.id.as_str())])
            .await,
        StatusCode::NOT_FOUND,
        "no such app",
    );
}

#[tokio::test]
async fn keys_list_their_last_use_and_users_lose_their_passkeys_to_revoke_all() {
    let app = spawn_app().await;
    let mut ada = Browser::new(&app);
    ada.accept(&invite(&app, "Ada").await).await;
    let app_id = app.app_id.clone();

    let (status, body) = ada.call("keys", &[("app_id", &app_id)]).await;
    assert_eq!(status, 200, "{body}");
    let keys: Value = serde_json::from_str(&body).unwrap();
    assert!(keys[0]["last_used_at"].is_null(), "{keys}");
    let (status, _) = app
        .manage(reqwest::Method::GET, "/users?limit=1", None)
        .await;
    assert_eq!(status, 200);
    let keys: Value =
        serde_json::from_str(&ada.call("keys", &[("app_id", &app_id)]).await.1).unwrap();
    assert!(keys[0]["last_used_at"].is_string(), "{keys}");
    assert!(!keys.to_string().contains(&app.api_key), "never the secret");

    // Two users with passkeys; search by prefix, open one, revoke all.
    for external_id in ["user-1", "other-2"] {
        let transaction = app
            .flex
            .create_register_transaction(external_id, external_id)
            .await
            .unwrap();
        let mut authenticator = Authenticator::new();
        let (_, start) = app.register_start(&transaction).await;
        let response =
            authenticator.register(&app.address, &start["handshake"]["challenge"]["publicKey"]);
        let (status, body) = app
            .register_finish(
                &transaction,
                start["handshake"]["id"].as_str().unwrap(),
                &response,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = ada
        .call(
            "users",
            &[("app_id", &app_id), ("q", "user-"), ("page", "")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["total"], 1, "{page}");
    let user_id = page["users"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = ada
        .call("user", &[("app_id", &app_id), ("user_id", &user_id)])
        .await;
    assert_eq!(status, 200, "{body}");
    let detail: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(detail["passkeys"].as_array().unwrap().len(), 1);
    let (status, body) = ada
        .call(
            "passkeys/revoke-all",
            &[("app_id", &app_id), ("user_id", &user_id)],
        )
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
    let detail: Value = serde_json::from_str(
        &ada.call("user", &[("app_id", &app_id), ("user_id", &user_id)])
            .await
            .1,
    )
    .unwrap();
    assert!(detail["passkeys"].as_array().unwrap().is_empty());
    let app_id_parsed = latchkey::flex::ids::AppId::parse(&app_id).unwrap();
    let (last, _, actor) = events(&app, Scope::App(&app_id_parsed))
        .await
        .pop()
        .unwrap();
    assert_eq!(last, EventType::PasskeyRevoked);
    assert!(actor.unwrap().starts_with("operator:"));
    // A user of this app is not found through another app.
    let (other, _) = app.other_app().await;
    assert_status(
        &ada.call("user", &[("app_id", &other), ("user_id", &user_id)])
            .await,
        StatusCode::NOT_FOUND,
        "no such user",
    );
}

#[tokio::test]
async fn the_app_page_shows_its_webhooks_and_their_recent_deliveries_never_a_secret() {
    let app = spawn_app().await;
    let mut ada = Browser::new(&app);
    ada.accept(&invite(&app, "Ada").await).await;
    let app_id = app.app_id.clone();

    let (status, body) = ada.call("webhooks", &[("app_id", &app_id)]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "[]"));
    // A delivery that cannot reach its (private) address, tried once.
    let parsed = latchkey::flex::ids::AppId::parse(&app_id).unwrap();
    let created = app
        .core
        .clone()
        .allowing_private_webhooks(true)
        .create_webhook(&parsed, "http://127.0.0.1:9/hook", &[])
        .await
        .unwrap();
    issued(&created.secret);
    let mut shown = Value::Null;
    for _ in 0..300 {
        let (status, body) = ada.call("webhooks", &[("app_id", &app_id)]).await;
        assert_eq!(status, 200, "{body}");
        shown = serde_json::from_str(&body).unwrap();
        if shown[0]["messages"][0]["attempts"]
            .as_array()
            .is_some_and(|attempts| attempts.len() == 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        shown[0]["webhook"]["id"],
        created.webhook.id.as_str(),
        "{shown}"
    );
    let message = &shown[0]["messages"][0];
    assert_eq!(message["event_type"], "webhook.created", "{shown}");
    assert_eq!(message["status"], "pending");
    assert!(message["attempts"][0]["error"].is_string(), "{shown}");
    assert!(!shown.to_string().contains("whsec_"), "never the secret");
    // Another app's page does not show them.
    let (other, _) = app.other_app().await;
    let (_, body) = ada.call("webhooks", &[("app_id", &other)]).await;
    assert_eq!(body, "[]");
}
