//! `spawn_app()` and friends: a fresh database and a real server on port 0 per test.

use latchkey::{
    config::{Config, PublicUrl},
    startup::Application,
};
use sqlx::{migrate::MigrateDatabase, Any};
use tempfile::TempDir;

/// A database of its own for one test, on the engine `LATCHKEY_TEST_DATABASE` names.
pub struct TestDatabase {
    pub url: String,
    // Holds the SQLite file's folder until the test ends.
    _dir: Option<TempDir>,
}

impl TestDatabase {
    pub async fn fresh() -> Self {
        sqlx::any::install_default_drivers();
        let engine = std::env::var("LATCHKEY_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into());
        match engine.as_str() {
            "sqlite" => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
                Self { url, _dir: Some(dir) }
            }
            "postgres" => {
                let server = std::env::var("LATCHKEY_TEST_POSTGRES_URL").expect(
                    "LATCHKEY_TEST_POSTGRES_URL must name a PostgreSQL server (postgres://user@host:port)",
                );
                let name = format!("latchkey_test_{}", uuid::Uuid::new_v4().simple());
                let url = format!("{}/{name}", server.trim_end_matches('/'));
                Any::create_database(&url).await.expect("a fresh PostgreSQL database");
                Self { url, _dir: None }
            }
            other => panic!("LATCHKEY_TEST_DATABASE must be sqlite or postgres, not {other}"),
        }
    }
}

pub struct TestApp {
    /// `http://localhost:PORT`, as a browser would name it.
    pub address: String,
    pub client: reqwest::Client,
    // Keeps the database (for SQLite, its file) alive while the server runs.
    _database: TestDatabase,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the request reaches the server")
    }
}

pub fn test_config(database_url: &str) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.into(),
        public_url: PublicUrl::parse("http://localhost:3000").unwrap(),
        site_root: "target/site".into(),
    }
}

/// Starts the real server on a random port over a fresh database.
pub async fn spawn_app() -> TestApp {
    let database = TestDatabase::fresh().await;
    let app = Application::build(test_config(&database.url))
        .await
        .expect("the application builds");
    let address = format!("http://localhost:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _database: database,
    }
}
