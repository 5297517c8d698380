//! `spawn_app()` and friends: a fresh database and the real server on port 0 per
//! test, a test app whose origin is the server's, and one helper per endpoint.

use app::wire::{
    AuthenticateFinishRequest, AuthenticateStartRequest, HandshakeResponse, NonceResponse,
    RegisterFinishRequest, RegisterStartRequest,
};
use latchkey::{
    client::LatchkeyFlex,
    config::{Config, PublicUrl, SiteFiles},
    flex::{apps::NewApp, clock::Clock},
    startup::Application,
    store::Store,
    traffic::limits::{Limits, RateLimitConfig},
};
use reqwest::StatusCode;
use serde_json::Value;
use softkey::Authenticator;
use sqlx::{migrate::MigrateDatabase, Any, AnyConnection, AnyPool, Connection, Row};
use tempfile::TempDir;

/// A database of its own for one test, on the engine `LATCHKEY_TEST_DATABASE` names.
pub struct TestDatabase {
    pub url: String,
    // Holds the SQLite file's folder until the test ends.
    _dir: Option<TempDir>,
    /// On PostgreSQL: the server's URL and the database's name, to drop it.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// Whether the tests run on PostgreSQL (`LATCHKEY_TEST_DATABASE=postgres`).
    pub fn on_postgres() -> bool {
        std::env::var("LATCHKEY_TEST_DATABASE").as_deref() == Ok("postgres")
    }

    pub async fn fresh() -> Self {
        sqlx::any::install_default_drivers();
        let engine = std::env::var("LATCHKEY_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into());
        match engine.as_str() {
            "sqlite" => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            "postgres" => {
                let server = std::env::var("LATCHKEY_TEST_POSTGRES_URL").expect(
                    "LATCHKEY_TEST_POSTGRES_URL must name a PostgreSQL server (postgres://user@host:port)",
                );
                let server = server.trim_end_matches('/').to_owned();
                let name = format!("latchkey_test_{}", uuid::Uuid::new_v4().simple());
                let url = format!("{server}/{name}");
                Any::create_database(&url)
                    .await
                    .expect("a fresh PostgreSQL database");
                Self {
                    url,
                    _dir: None,
                    postgres: Some((server, name)),
                }
            }
            other => panic!("LATCHKEY_TEST_DATABASE must be sqlite or postgres, not {other}"),
        }
    }
}

impl Drop for TestDatabase {
    /// Drops the PostgreSQL database when the test ends, passed or failed (a
    /// failing test unwinds through here too), with `FORCE`: a server the test
    /// left running loses its connections. On a thread and runtime of its own,
    /// since a `Drop` cannot await and the test's runtime may be the one
    /// blocked here; joined, since the test's process exits right after.
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        let dropping = name.clone();
        let dropped = std::thread::spawn(
            move || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    let mut maintenance =
                        AnyConnection::connect(&format!("{server}/postgres")).await?;
                    sqlx::query(&format!(
                        "DROP DATABASE IF EXISTS \"{dropping}\" WITH (FORCE)"
                    ))
                    .execute(&mut maintenance)
                    .await?;
                    maintenance.close().await?;
                    Ok(())
                })
            },
        )
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("the test database {name} was not dropped: {error}"),
            Err(_) => {
                eprintln!("the test database {name} was not dropped: the dropping thread panicked")
            }
        }
    }
}

pub fn test_config_with_limits(
    database_url: &str,
    clock: Clock,
    rate_limits: RateLimitConfig,
) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.into(),
        public_url: PublicUrl::parse("http://localhost:3000").unwrap(),
        site: SiteFiles::Folder("target/site".into()),
        clock,
        rate_limits,
        request_timeout: std::time::Duration::from_secs(5),
        trusted_proxies: Default::default(),
        event_retention_days: 90,
        metrics_token: None,
        webhooks: Default::default(),
        secret_key: None,
        attestation_ca: None,
    }
}

/// What the store holds, summed up: equal before and after a refused request
/// means the request changed nothing.
#[derive(Debug, PartialEq, Eq)]
pub struct Fingerprint(Vec<(String, i64)>);

pub struct TestApp {
    /// `http://localhost:PORT`, as a browser would name it; also the test app's origin.
    pub address: String,
    pub http: reqwest::Client,
    pub clock: Clock,
    pub app_id: String,
    pub api_key: String,
    /// The Rust backend client, pointed at this server.
    pub flex: LatchkeyFlex,
    pub db: AnyPool,
    pub store: Store,
    /// The server's own core: what a test changes through it, the server sees at once.
    pub core: latchkey::flex::Flex,
    /// The server's rate limits (tests read their key count and prune them).
    pub limits: std::sync::Arc<Limits>,
    /// Every path the server's router has a route for (`Application::served_paths`).
    pub served_paths: Vec<String>,
    // Keeps the database (for SQLite, its file) alive while the server runs.
    _database: TestDatabase,
}

impl Drop for TestApp {
    /// Every test that ran a server ends by scanning every column of every
    /// event its server wrote for every secret it was issued.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_no_secret_in_events(&self._database.url);
        }
    }
}

/// Starts the real server on a random port over a fresh database, with a
/// hand-moved clock and an app for `http://localhost:PORT`.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_limits(RateLimitConfig::off()).await
}

/// `spawn_app`, with rate limits (all off in `spawn_app`).
pub async fn spawn_app_with_limits(rate_limits: RateLimitConfig) -> TestApp {
    spawn_app_with(|config| config.rate_limits = rate_limits).await
}

/// `spawn_app`, with its configuration changed by `configure` first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(TestDatabase::fresh().await, configure).await
}

/// `spawn_app_with`, on a database the test made (and perhaps filled) first.
pub async fn spawn_app_on(database: TestDatabase, configure: impl FnOnce(&mut Config)) -> TestApp {
    let clock = Clock::manual();
    let mut config = test_config_with_limits(&database.url, clock.clone(), RateLimitConfig::off());
    configure(&mut config);
    let app = Application::build(config)
        .await
        .expect("the application builds");
    let address = format!("http://localhost:{}", app.port());
    let store = app.store();
    let core = app.flex();
    let limits = app.limits();
    let served_paths = app.served_paths();
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    let new_app = NewApp::parse("Test app", std::slice::from_ref(&address), None).unwrap();
    let (test_app, key) = core.create_app(&new_app).await.unwrap();
    issued(key.key.as_str());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        flex: LatchkeyFlex::with_client(
            http.clone(),
            &address,
            test_app.id.as_str(),
            key.key.as_str(),
        ),
        app_id: test_app.id.as_str().to_owned(),
        api_key: key.key.as_str().to_owned(),
        db: AnyPool::connect(&database.url).await.unwrap(),
        address,
        http,
        clock,
        store,
        core,
        limits,
        served_paths,
        _database: database,
    }
}

/// A registration response as passage-flex-js sends it: `transports` beside
/// `response`, not inside it.
pub fn as_passage_flex_js_sends(mut response: Value) -> Value {
    let transports = response["response"]
        .as_object_mut()
        .and_then(|inner| inner.remove("transports"))
        .expect("a registration response with transports");
    response["transports"] = transports;
    response
}

/// Every secret this test's server issued through the helpers (API keys,
/// transaction and handshake ids, nonces, challenges): when the test ends, no
/// event may contain one ([`TestApp`]'s `Drop`). One test per process
/// (nextest), so one list per test.
static ISSUED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Notes a secret the server issued.
pub fn issued(secret: &str) {
    ISSUED.lock().unwrap().push(secret.to_owned());
}

/// Notes the secrets in an answer: every value of a field that holds one.
fn issued_in(body: &Value) {
    match body {
        Value::Object(fields) => {
            for (name, value) in fields {
                match (name.as_str(), value) {
                    (
                        "transaction_id" | "nonce" | "challenge" | "api_key" | "key" | "secret"
                        | "signed_result",
                        Value::String(secret),
                    ) => issued(secret),
                    // A handshake's id (43 characters; public ids are 32 hex digits).
                    ("id", Value::String(id)) if id.len() == 43 => issued(id),
                    _ => issued_in(value),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(issued_in),
        _ => {}
    }
}

/// Panics if an event of the database holds a secret the test was issued.
fn assert_no_secret_in_events(url: &str) {
    let secrets = ISSUED.lock().unwrap().clone();
    let url = url.to_owned();
    let found = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut db = AnyConnection::connect(&url).await.unwrap();
            let rows = sqlx::query(
                "SELECT id, COALESCE(app_id, ''), type, outcome, COALESCE(code, ''), \
                 COALESCE(external_id, ''), COALESCE(device_id, ''), COALESCE(actor, ''), \
                 COALESCE(ip, ''), COALESCE(user_agent, ''), COALESCE(request_id, ''), \
                 CAST(detail AS TEXT) FROM events",
            )
            .fetch_all(&mut db)
            .await
            .unwrap();
            let _ = db.close().await;
            let mut found = Vec::new();
            for row in &rows {
                for column in 0..row.len() {
                    let value: String = row.try_get(column).unwrap();
                    for secret in &secrets {
                        if value.contains(secret.as_str()) {
                            found.push(format!("{value} holds {secret}"));
                        }
                    }
                }
            }
            (rows.len(), found)
        })
    })
    .join()
    .expect("the scan of the events runs");
    assert!(
        found.0 > 0,
        "no events to scan: every test app's creation writes one"
    );
    assert!(found.1.is_empty(), "events hold secrets: {:?}", found.1);
}

/// A JSON answer: its status and body (`Value::Null` when empty).
pub type Answer = (StatusCode, Value);

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    issued_in(&body);
    (status, body)
}

impl TestApp {
    /// Another app on the same server, with the same origin: (app id, API key).
    pub async fn other_app(&self) -> (String, String) {
        let new_app =
            NewApp::parse("Other app", std::slice::from_ref(&self.address), None).unwrap();
        let (app, key) = self.core.create_app(&new_app).await.unwrap();
        issued(key.key.as_str());
        (app.id.as_str().to_owned(), key.key.as_str().to_owned())
    }

    /// The URL of the database the server runs on.
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    /// The id of the user with this external id in the test app.
    pub async fn user_id(&self, external_id: &str) -> String {
        let app_id = latchkey::flex::ids::AppId::parse(&self.app_id).unwrap();
        self.store
            .find_user_by_external_id(&app_id, external_id)
            .await
            .unwrap()
            .expect("the user exists")
            .id
    }

    /// A sign-in to another app of this server, its ceremony signed for
    /// `origin`: identifier-first for `Some(external id)`, else discoverable.
    /// Returns the external id its nonce names.
    pub async fn sign_in_to(
        &self,
        authenticator: &mut Authenticator,
        app_id: &str,
        origin: &str,
        external_id: Option<&str>,
    ) -> String {
        let app = self.core.find_app(app_id).await.unwrap();
        let transaction = match external_id {
            Some(external_id) => {
                let external = latchkey::flex::ids::ExternalId::parse(external_id).unwrap();
                let id = self
                    .core
                    .create_authenticate_transaction(&app, &external, None)
                    .await
                    .unwrap();
                issued(id.as_str());
                Some(id.as_str().to_owned())
            }
            None => None,
        };
        let (status, body) = self
            .client_post_raw(
                app_id,
                "/authenticate/transactions/webauthn/start",
                serde_json::json!({ "transaction_id": transaction }).to_string(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let HandshakeResponse { handshake } = serde_json::from_value(body).unwrap();
        let response = authenticator.authenticate(origin, &handshake.challenge.public_key);
        let (status, body) = self
            .client_post_raw(
                app_id,
                "/authenticate/transactions/webauthn/finish",
                serde_json::json!({
                    "transaction_id": transaction,
                    "handshake_id": handshake.id,
                    "handshake_response": response,
                })
                .to_string(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let nonce = latchkey::flex::ids::Nonce::parse(body["nonce"].as_str().unwrap()).unwrap();
        self.core
            .verify_nonce(&app, &nonce, None)
            .await
            .unwrap()
            .external_id
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("the request reaches the server")
    }

    /// `POST /v1/apps/{app_id}{path}` on the client API, from the app's origin.
    pub async fn client_post(&self, path: &str, body: &impl serde::Serialize) -> Answer {
        let body = serde_json::to_string(body).unwrap();
        self.client_post_raw(&self.app_id, path, body).await
    }

    pub async fn client_post_raw(&self, app_id: &str, path: &str, body: String) -> Answer {
        let response = self
            .http
            .post(self.url(&format!("/v1/apps/{app_id}{path}")))
            .header("content-type", "application/json")
            .header("origin", &self.address)
            .body(body)
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    /// A management API call with this app's key.
    pub async fn manage(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        self.manage_as(&self.app_id, Some(&self.api_key), method, path, body)
            .await
    }

    pub async fn manage_as(
        &self,
        app_id: &str,
        key: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, self.url(&format!("/v1/apps/{app_id}{path}")));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request.send().await.unwrap()).await
    }

    pub async fn register_start(&self, transaction_id: &str) -> Answer {
        self.client_post(
            "/register/transactions/webauthn/start",
            &RegisterStartRequest {
                transaction_id: transaction_id.to_owned(),
                authenticator_attachment: None,
                mediation: None,
            },
        )
        .await
    }

    pub async fn register_finish(
        &self,
        transaction_id: &str,
        handshake_id: &str,
        response: &Value,
    ) -> Answer {
        self.client_post(
            "/register/transactions/webauthn/finish",
            &RegisterFinishRequest {
                transaction_id: transaction_id.to_owned(),
                handshake_id: handshake_id.to_owned(),
                handshake_response: response.clone(),
            },
        )
        .await
    }

    pub async fn authenticate_start(&self, transaction_id: Option<&str>) -> Answer {
        let body = AuthenticateStartRequest {
            transaction_id: transaction_id.map(str::to_owned),
        };
        self.client_post("/authenticate/transactions/webauthn/start", &body)
            .await
    }

    pub async fn authenticate_finish(
        &self,
        transaction_id: Option<&str>,
        handshake_id: &str,
        response: &Value,
    ) -> Answer {
        let body = AuthenticateFinishRequest {
            transaction_id: transaction_id.map(str::to_owned),
            handshake_id: handshake_id.to_owned(),
            handshake_response: response.clone(),
        };
        self.client_post("/authenticate/transactions/webauthn/finish", &body)
            .await
    }

    /// A register handshake for a user, up to the options: (transaction id, handshake id, publicKey).
    pub async fn begin_registration(&self, external_id: &str) -> (String, String, Value) {
        let transaction = self
            .flex
            .auth
            .create_register_transaction(external_id, &format!("{external_id}@example.com"))
            .await
            .unwrap();
        issued(&transaction);
        let (status, body) = self.register_start(&transaction).await;
        assert_eq!(status, 200, "{body}");
        let HandshakeResponse { handshake } = serde_json::from_value(body).unwrap();
        (transaction, handshake.id, handshake.challenge.public_key)
    }

    /// The whole add-passkey flow; returns the nonce.
    pub async fn add_passkey(
        &self,
        authenticator: &mut Authenticator,
        external_id: &str,
    ) -> String {
        self.add_passkey_answer(authenticator, external_id)
            .await
            .nonce
    }

    /// The whole add-passkey flow; returns the finish's answer.
    pub async fn add_passkey_answer(
        &self,
        authenticator: &mut Authenticator,
        external_id: &str,
    ) -> NonceResponse {
        let (transaction, handshake, options) = self.begin_registration(external_id).await;
        let response = authenticator.register(&self.address, &options);
        let (status, body) = self
            .register_finish(&transaction, &handshake, &response)
            .await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).unwrap()
    }

    /// A sign-in handshake, up to the options: (transaction id, handshake id, publicKey).
    /// With an external id it is identifier-first; without, discoverable.
    pub async fn begin_sign_in(
        &self,
        external_id: Option<&str>,
    ) -> (Option<String>, String, Value) {
        let transaction = match external_id {
            Some(external_id) => Some(
                self.flex
                    .auth
                    .create_authenticate_transaction(external_id)
                    .await
                    .unwrap(),
            ),
            None => None,
        };
        transaction.as_deref().map(issued);
        let (status, body) = self.authenticate_start(transaction.as_deref()).await;
        assert_eq!(status, 200, "{body}");
        let HandshakeResponse { handshake } = serde_json::from_value(body).unwrap();
        (transaction, handshake.id, handshake.challenge.public_key)
    }

    /// The whole sign-in flow; returns the nonce.
    pub async fn sign_in(
        &self,
        authenticator: &mut Authenticator,
        external_id: Option<&str>,
    ) -> String {
        self.sign_in_answer(authenticator, external_id).await.nonce
    }

    /// The whole sign-in flow; returns the finish's answer.
    pub async fn sign_in_answer(
        &self,
        authenticator: &mut Authenticator,
        external_id: Option<&str>,
    ) -> NonceResponse {
        let (transaction, handshake, options) = self.begin_sign_in(external_id).await;
        let response = authenticator.authenticate(&self.address, &options);
        let (status, body) = self
            .authenticate_finish(transaction.as_deref(), &handshake, &response)
            .await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).unwrap()
    }

    pub async fn fingerprint(&self) -> Fingerprint {
        let mut facts = Vec::new();
        for (name, sql) in [
            ("apps", "SELECT COUNT(*) AS n FROM apps"),
            (
                "live api keys",
                "SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL",
            ),
            ("users", "SELECT COUNT(*) AS n FROM users"),
            (
                "logins",
                "SELECT CAST(COALESCE(SUM(login_count), 0) AS BIGINT) AS n FROM users",
            ),
            ("passkeys", "SELECT COUNT(*) AS n FROM passkeys"),
            (
                "passkey uses",
                "SELECT CAST(COALESCE(SUM(usage_count), 0) AS BIGINT) AS n FROM passkeys",
            ),
            (
                "passkey counters",
                "SELECT CAST(COALESCE(SUM(counter), 0) AS BIGINT) AS n FROM passkeys",
            ),
            (
                "backed up",
                "SELECT COUNT(*) AS n FROM passkeys WHERE backup_state",
            ),
            ("transactions", "SELECT COUNT(*) AS n FROM transactions"),
            (
                "used transactions",
                "SELECT COUNT(*) AS n FROM transactions WHERE used_at IS NOT NULL",
            ),
            ("handshakes", "SELECT COUNT(*) AS n FROM handshakes"),
            ("nonces", "SELECT COUNT(*) AS n FROM nonces"),
        ] {
            let n: i64 = sqlx::query(sql)
                .fetch_one(&self.db)
                .await
                .unwrap()
                .try_get("n")
                .unwrap();
            facts.push((name.to_owned(), n));
        }
        Fingerprint(facts)
    }
}

/// Asserts a `{code, error}` answer with this status and code.
#[track_caller]
pub fn assert_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    assert!(
        answer.1["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{}",
        answer.1
    );
}
