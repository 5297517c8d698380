//! Fresh databases, and stored passkeys by the hundred thousand.

use anyhow::Context;
use sqlx::{migrate::MigrateDatabase, Any};
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
/// credential id changed), in batches, through the store.
pub async fn passkeys(database_url: &str, count: usize) -> anyhow::Result<()> {
    use latchkey::{
        flex::{apps::NewApp, clock::Clock, ids::DeviceId, Flex},
        store::{NewPasskey, NewUser, Store},
    };
    let flex = Flex::new(Store::connect(database_url).await?, Clock::system());
    let (app, _) = flex
        .create_app(&NewApp::parse(
            "seed",
            &["http://localhost:3000".to_owned()],
            None,
        )?)
        .await?;
    let template = template_credential();
    let transports = ["internal".to_owned()];
    let started = std::time::Instant::now();
    let batch = 500;
    for first in (0..count / 2).step_by(batch) {
        let last = (first + batch).min(count / 2);
        let ids: Vec<_> = (first..last)
            .map(|n| {
                (
                    uuid::Uuid::new_v4().to_string(),
                    format!("seed-{n}"),
                    format!("seed {n}"),
                )
            })
            .collect();
        let creds: Vec<_> = (0..ids.len() * 2)
            .map(|_| {
                let cred = uuid::Uuid::new_v4().simple().to_string();
                (
                    DeviceId::generate(),
                    template.replace("CRED_ID", &cred),
                    cred,
                )
            })
            .collect();
        let users: Vec<_> = ids
            .iter()
            .zip(creds.chunks(2))
            .map(|((id, external_id, name), creds)| NewUser {
                id,
                external_id,
                display_name: name,
                passkeys: creds
                    .iter()
                    .map(|(device, credential, cred)| NewPasskey {
                        id: device,
                        user_id: id,
                        cred_id: cred.as_bytes(),
                        credential,
                        friendly_name: "Passkey",
                        aaguid: "00000000-0000-0000-0000-000000000000",
                        transports: &transports,
                        backup_eligible: true,
                        backup_state: true,
                        counter: 0,
                        kind: "passkey",
                    })
                    .collect(),
            })
            .collect();
        flex.store()
            .insert_users_with_passkeys(&app.id, &users, Clock::system().now())
            .await?;
    }
    flex.store().close().await;
    eprintln!(
        "    seeded {count} passkeys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
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
    json.to_string()
}
