//! The reference site's server functions, through HTTP: their error paths.
//! The built-in app's origin is the test config's public URL, http://localhost:3000.

use reqwest::StatusCode;
use serde_json::Value;
use softkey::Authenticator;

use crate::helpers::{spawn_app, TestApp};

const SITE_ORIGIN: &str = "http://localhost:3000";

/// A browser of the site: its own cookie, its own authenticator.
struct Visitor<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
    authenticator: Authenticator,
}

impl<'a> Visitor<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookie: None,
            authenticator: Authenticator::new(),
        }
    }

    /// Calls a server function with a form body; returns (status, body text).
    async fn call(&mut self, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let mut request = self
            .app
            .http
            .post(self.app.url(&format!("/site/{endpoint}")))
            .form(form);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        if let Some(set) = response.headers().get("set-cookie") {
            self.cookie = Some(set.to_str().unwrap().split(';').next().unwrap().to_owned());
        }
        (response.status(), response.text().await.unwrap())
    }

    async fn sign_up(&mut self, email: &str) {
        let (status, body) = self
            .call(
                "sign-up",
                &[("email", email), ("password", "correct horse battery")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Runs the add-passkey ceremony up to the nonce, without confirming it.
    async fn passkey_nonce(&mut self) -> String {
        let (status, body) = self.call("passkey/add", &[]).await;
        assert_eq!(status, 200, "{body}");
        let transaction: String = serde_json::from_str(&body).unwrap();
        let (_, app_id) = self.call("passkey-app", &[]).await;
        let app_id: String = serde_json::from_str(&app_id).unwrap();
        let start = self
            .app
            .client_post_raw(
                &app_id,
                "/register/transactions/webauthn/start",
                serde_json::json!({ "transaction_id": transaction }).to_string(),
            )
            .await;
        assert_eq!(start.0, 200, "{}", start.1);
        let response = self
            .authenticator
            .register(SITE_ORIGIN, &start.1["handshake"]["challenge"]["publicKey"]);
        let finish = serde_json::json!({
            "transaction_id": transaction,
            "handshake_id": start.1["handshake"]["id"],
            "handshake_response": response,
        });
        let (status, body): (StatusCode, Value) = self
            .app
            .client_post_raw(
                &app_id,
                "/register/transactions/webauthn/finish",
                finish.to_string(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["nonce"].as_str().unwrap().to_owned()
    }
}

#[track_caller]
fn assert_refused(answer: &(StatusCode, String), message: &str) {
    assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{}", answer.1);
    assert!(answer.1.contains(message), "{}", answer.1);
}

#[tokio::test]
async fn adding_a_passkey_needs_a_session() {
    let app = spawn_app().await;
    let mut stranger = Visitor::new(&app);

    assert_refused(
        &stranger.call("passkey/add", &[]).await,
        "You are signed out",
    );
    assert_refused(
        &stranger.call("passkey/added", &[("nonce", "x")]).await,
        "You are signed out",
    );
    assert_refused(&stranger.call("passkeys", &[]).await, "You are signed out");
}

#[tokio::test]
async fn a_passkey_is_confirmed_once_and_only_by_its_own_account() {
    let app = spawn_app().await;
    let mut ada = Visitor::new(&app);
    let mut bob = Visitor::new(&app);
    ada.sign_up("ada@example.com").await;
    bob.sign_up("bob@example.com").await;

    let bobs_nonce = bob.passkey_nonce().await;
    assert_refused(
        &ada.call("passkey/added", &[("nonce", &bobs_nonce)]).await,
        "belongs to another account",
    );

    let adas_nonce = ada.passkey_nonce().await;
    let confirmed = ada.call("passkey/added", &[("nonce", &adas_nonce)]).await;
    assert_eq!(confirmed.0, 200, "{}", confirmed.1);
    assert_refused(
        &ada.call("passkey/added", &[("nonce", &adas_nonce)]).await,
        "no longer valid",
    );

    let late = ada.passkey_nonce().await;
    app.clock.advance(std::time::Duration::from_secs(61));
    assert_refused(
        &ada.call("passkey/added", &[("nonce", &late)]).await,
        "no longer valid",
    );
}

#[tokio::test]
async fn a_sign_in_nonce_makes_one_session_and_rotates_the_old_one() {
    let app = spawn_app().await;
    let mut ada = Visitor::new(&app);
    ada.sign_up("ada@example.com").await;
    let nonce = ada.passkey_nonce().await;
    ada.call("passkey/added", &[("nonce", &nonce)]).await;
    let first_cookie = ada.cookie.clone().unwrap();

    let (status, body) = ada
        .call(
            "sign-in",
            &[
                ("email", "ADA@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let second_cookie = ada.cookie.clone().unwrap();
    assert_ne!(
        first_cookie, second_cookie,
        "the session id is rotated at sign-in"
    );

    let mut old = Visitor {
        app: &app,
        cookie: Some(first_cookie),
        authenticator: Authenticator::new(),
    };
    assert_refused(&old.call("passkeys", &[]).await, "You are signed out");
    let (status, body) = ada.call("account", &[]).await;
    assert_eq!(status, 200);
    assert!(body.contains("ada@example.com"), "{body}");

    // A passkey nonce that was used up, or forged, starts no session.
    let mut stranger = Visitor::new(&app);
    assert_refused(
        &stranger
            .call("passkey/sign-in/finish", &[("nonce", &nonce)])
            .await,
        "no longer valid",
    );
    assert_refused(
        &stranger
            .call("passkey/sign-in/finish", &[("nonce", "forged")])
            .await,
        "no longer valid",
    );
    assert!(stranger.cookie.is_none());

    // Signing out ends the session.
    ada.call("sign-out", &[]).await;
    let (_, body) = ada.call("account", &[]).await;
    assert_eq!(body, "null");
}

#[tokio::test]
async fn sign_up_refuses_bad_input_and_a_taken_email() {
    let app = spawn_app().await;
    let mut visitor = Visitor::new(&app);

    assert_refused(
        &visitor
            .call(
                "sign-up",
                &[("email", "not-an-email"), ("password", "long enough")],
            )
            .await,
        "Enter an email address",
    );
    assert_refused(
        &visitor
            .call(
                "sign-up",
                &[("email", "ada@example.com"), ("password", "short")],
            )
            .await,
        "at least 8 characters",
    );
    visitor.sign_up("ada@example.com").await;
    let mut again = Visitor::new(&app);
    assert_refused(
        &again
            .call(
                "sign-up",
                &[("email", "Ada@Example.com"), ("password", "long enough")],
            )
            .await,
        "exists already",
    );
    assert_refused(
        &again
            .call(
                "sign-in",
                &[("email", "ada@example.com"), ("password", "wrong password")],
            )
            .await,
        "is wrong",
    );
    assert_refused(
        &again
            .call(
                "sign-in",
                &[
                    ("email", "nobody@example.com"),
                    ("password", "wrong password"),
                ],
            )
            .await,
        "is wrong",
    );
    assert!(again.cookie.is_none());
}

#[tokio::test]
async fn server_functions_refuse_cross_site_requests() {
    let app = spawn_app().await;
    let call = |headers: &[(&str, &str)]| {
        let mut request = app.http.post(app.url("/site/account")).form(&[("x", "y")]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };

    for evil in [
        &[("origin", "https://evil-example.com")][..],
        &[("sec-fetch-site", "cross-site")],
    ] {
        let response = call(evil).await.unwrap();
        assert_eq!(response.status(), 403);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "cross_site_request");
    }
    assert_eq!(
        call(&[("origin", SITE_ORIGIN)]).await.unwrap().status(),
        200
    );
    assert_eq!(
        call(&[("sec-fetch-site", "same-origin")])
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn pages_carry_a_csp_with_the_hydration_nonce_and_refuse_framing() {
    let app = spawn_app().await;

    let response = app.get("/signin").await;

    let headers = response.headers().clone();
    let html = response.text().await.unwrap();
    let csp = headers["content-security-policy"].to_str().unwrap();
    let nonce = html
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert!(csp.contains(&format!("'nonce-{nonce}'")), "{csp}");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_lax_and_not_secure_on_localhost() {
    let app = spawn_app().await;

    let response = app
        .http
        .post(app.url("/site/sign-up"))
        .form(&[
            ("email", "ada@example.com"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();

    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("latchkey_site_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "http://localhost cannot carry a Secure cookie: {cookie}"
    );
    let token = cookie.split(';').next().unwrap().split('=').nth(1).unwrap();
    assert_eq!(token.len(), 43, "256 random bits");
}

/// A failure of ours: 500 and the generic sentence, nothing of the cause.
#[track_caller]
fn assert_internal(answer: &(StatusCode, String), causes: &[&str]) {
    assert_eq!(answer.0, StatusCode::INTERNAL_SERVER_ERROR, "{}", answer.1);
    assert!(
        answer.1.contains("Something went wrong on our side"),
        "{}",
        answer.1
    );
    for cause in causes {
        assert!(!answer.1.contains(cause), "{cause} in {}", answer.1);
    }
}

#[tokio::test]
async fn a_broken_store_under_the_passkey_backend_answers_500_and_not_the_cause() {
    let app = spawn_app().await;
    let mut ada = Visitor::new(&app);
    ada.sign_up("ada@example.com").await;
    let nonce = ada.passkey_nonce().await;
    sqlx::query("DROP TABLE nonces")
        .execute(&app.db)
        .await
        .unwrap();

    let confirmed = ada.call("passkey/added", &[("nonce", &nonce)]).await;
    let signed_in = ada
        .call("passkey/sign-in/finish", &[("nonce", &nonce)])
        .await;

    for answer in [confirmed, signed_in] {
        assert_internal(
            &answer,
            &["nonces", "relation", "no such table", "internal"],
        );
    }
}

#[tokio::test]
async fn a_closed_store_under_the_site_answers_500_and_not_the_cause() {
    let app = spawn_app().await;
    let mut ada = Visitor::new(&app);
    ada.sign_up("ada@example.com").await;
    app.store.close().await;

    for (endpoint, form) in [
        ("account", &[][..]),
        ("passkeys", &[]),
        ("passkey/add", &[]),
        ("passkey/sign-in/start", &[("email", "ada@example.com")]),
    ] {
        let answer = ada.call(endpoint, form).await;
        assert_internal(&answer, &["pool", "closed", "database"]);
    }
}

/// The site's server functions called in process, with a passkey backend
/// whose every call fails the way a ceremony does: with webauthn-rs's words.
mod ceremony_failures {
    use std::sync::{Arc, Mutex};

    use app::{
        api::PasskeyView,
        backend::{BackendError, PasskeyBackend, Site},
    };
    use latchkey::{flex::FlexError, site::accounts::SqlAccounts};
    use leptos::prelude::{provide_context, Owner, ServerFnError};
    use leptos_axum::ResponseOptions;
    use webauthn_rs::prelude::WebauthnError;

    use crate::helpers::spawn_app;

    fn webauthn_says() -> String {
        WebauthnError::InvalidRPIDHash.to_string()
    }

    struct CeremonyFails;

    fn failed<T>() -> Result<T, BackendError> {
        Err(FlexError::LoginFailed(webauthn_says()).into())
    }

    #[async_trait::async_trait]
    impl PasskeyBackend for CeremonyFails {
        async fn create_register_transaction(
            &self,
            _: &str,
            _: &str,
        ) -> Result<String, BackendError> {
            failed()
        }
        async fn create_authenticate_transaction(
            &self,
            _: &str,
            _: Option<&serde_json::Value>,
        ) -> Result<String, BackendError> {
            failed()
        }
        async fn verify_nonce(
            &self,
            _: &str,
            _: Option<&serde_json::Value>,
        ) -> Result<String, BackendError> {
            failed()
        }
        async fn list_devices(&self, _: &str) -> Result<Vec<PasskeyView>, BackendError> {
            failed()
        }
        async fn rename_device(&self, _: &str, _: &str, _: &str) -> Result<(), BackendError> {
            failed()
        }
        async fn revoke_device(&self, _: &str, _: &str) -> Result<(), BackendError> {
            failed()
        }
        async fn rename_user(&self, _: &str, _: &str) -> Result<(), BackendError> {
            failed()
        }
        async fn webauthn_signals(
            &self,
            _: &str,
        ) -> Result<app::wire::WebauthnSignals, BackendError> {
            failed()
        }
    }

    /// What the server logs, as text.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Log {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_webauthn_rs_failure_is_logged_and_the_browser_gets_only_the_generic_sentence() {
        let app = spawn_app().await;
        let log = Log::default();
        let writer = log.clone();
        let _logging = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish(),
        );
        let owner = Owner::new();
        owner.set();
        provide_context(Site {
            accounts: Arc::new(SqlAccounts::new(app.store.clone(), app.clock.clone())),
            passkeys: Arc::new(CeremonyFails),
            app_id: app.app_id.clone(),
            secure_cookies: false,
        });
        let response = ResponseOptions::default();
        provide_context(response.clone());

        let error = app::api::passkey_sign_in_finish("a nonce".into())
            .await
            .unwrap_err();

        assert_eq!(
            error,
            ServerFnError::ServerError(
                "Something went wrong on our side. Try again in a moment.".into()
            )
        );
        assert_eq!(
            response.0.read().unwrap().status,
            Some(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
        );
        let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains(&webauthn_says()), "the cause is logged: {log}");
    }
}
