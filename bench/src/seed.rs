//! Fresh databases, and stored passkeys by the hundred thousand.

use anyhow::Context;
use sqlx::{migrate::MigrateDatabase, Any, AnyPool};
use tempfile::TempDir;

pub struct Database {
    pub url: String,
    _dir: Option<TempDir>,
}

impl Database {
    pub async fn fresh(engine: &str) -> anyhow::Result<Self> {
        match engine {
            "sqlite" => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                Ok(Self {
                    url,
                    _dir: Some(dir),
                })
            }
            "postgres" => {
                let server = std::env::var("LATCHKEY_TEST_POSTGRES_URL")
                    .context("the postgres engine needs LATCHKEY_TEST_POSTGRES_URL")?;
                let url = format!(
                    "{}/bench_{}",
                    server.trim_end_matches('/'),
                    uuid::Uuid::new_v4().simple()
                );
                Any::create_database(&url).await?;
                Ok(Self { url, _dir: None })
            }
            other => anyhow::bail!("unknown engine {other}"),
        }
    }

    /// Removes the database: a PostgreSQL one is dropped (with `FORCE`, should
    /// a server still hold connections), a SQLite one goes with its folder.
    pub async fn remove(self) -> anyhow::Result<()> {
        if self._dir.is_none() {
            Any::force_drop_database(&self.url).await?;
        }
        Ok(())
    }
}

/// Stores `count` passkeys for `count / 2` users of one app, as the store holds
/// them after real registrations (the credential JSON is a real one's, with the
/// credential id changed), in batched inserts.
pub async fn passkeys(database_url: &str, count: usize) -> anyhow::Result<()> {
    // Migrate by opening the store the server uses.
    latchkey::store::Store::connect(database_url)
        .await?
        .close()
        .await;
    let pool = AnyPool::connect(database_url).await?;
    let template = template_credential();
    let app_id = "0".repeat(32);
    sqlx::query(
        "INSERT INTO apps (id, name, rp_id, origins, user_verification, webauthn_timeout_ms, \
         transaction_ttl_ms, nonce_ttl_ms, is_builtin, created_at) \
         VALUES ($1, 'seed', 'localhost', '[\"http://localhost:3000\"]', 'required', 300000, 300000, 60000, 0, 0)",
    )
    .bind(&app_id)
    .execute(&pool)
    .await?;
    let started = std::time::Instant::now();
    let users = count / 2;
    let batch = 500;
    for first in (0..users).step_by(batch) {
        let mut tx = pool.begin().await?;
        let last = (first + batch).min(users);
        let mut user_sql = String::from("INSERT INTO users (id, app_id, external_id, display_name, created_at, updated_at) VALUES ");
        let mut passkey_sql = String::from(
            "INSERT INTO passkeys (id, app_id, user_id, cred_id, credential, friendly_name, aaguid, transports, \
             backup_eligible, backup_state, counter, kind, created_at, updated_at) VALUES ",
        );
        for n in first..last {
            let user_id = uuid::Uuid::new_v4();
            let sep = if n == first { "" } else { "," };
            user_sql.push_str(&format!(
                "{sep}('{user_id}', '{app_id}', 'seed-{n}', 'seed {n}', 0, 0)"
            ));
            for k in 0..2 {
                let cred = uuid::Uuid::new_v4().simple().to_string();
                let credential = template.replace("CRED_ID", &cred);
                let sep = if n == first && k == 0 { "" } else { "," };
                passkey_sql.push_str(&format!(
                    "{sep}('{}', '{app_id}', '{user_id}', {}, '{credential}', 'Passkey', \
                     '00000000-0000-0000-0000-000000000000', '[\"internal\"]', 1, 1, 0, 'passkey', 0, 0)",
                    uuid::Uuid::new_v4().simple(),
                    blob_literal(database_url, cred.as_bytes()),
                ));
            }
        }
        sqlx::query(&user_sql).execute(&mut *tx).await?;
        sqlx::query(&passkey_sql).execute(&mut *tx).await?;
        tx.commit().await?;
    }
    pool.close().await;
    eprintln!(
        "    seeded {count} passkeys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn blob_literal(database_url: &str, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if database_url.starts_with("sqlite") {
        format!("X'{hex}'")
    } else {
        format!("'\\x{hex}'::bytea")
    }
}

/// A stored passkey's JSON, from a real registration, with its id replaced by `CRED_ID`.
fn template_credential() -> String {
    use webauthn_rs::prelude::{Url, WebauthnBuilder};
    let origin = Url::parse("http://localhost:3000").unwrap();
    let webauthn = WebauthnBuilder::new("localhost", &origin)
        .unwrap()
        .build()
        .unwrap();
    let (options, state) = webauthn
        .start_passkey_registration(uuid::Uuid::new_v4(), "seed", "seed", None)
        .unwrap();
    let options = serde_json::to_value(options).unwrap();
    let response =
        softkey::Authenticator::new().register("http://localhost:3000", &options["publicKey"]);
    let passkey = webauthn
        .finish_passkey_registration(&serde_json::from_value(response).unwrap(), &state)
        .unwrap();
    let mut json = serde_json::to_value(&passkey).unwrap();
    json["cred"]["cred_id"] = "CRED_ID".into();
    json.to_string().replace('\'', "''")
}
