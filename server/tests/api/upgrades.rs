//! Upgrades: migrations are forward-only and keep everything. From every schema
//! version (each migration is one: nothing was released before them), a store
//! filled at the first and migrated to that version is then brought to head by
//! the server, and its passkey still signs in. A store a newer Latchkey
//! migrated is refused at start with a message that says what to do.

use std::path::Path;

use latchkey::{
    flex::ids::{ApiKeyId, AppId},
    store::{Engine, Store},
};
use softkey::Authenticator;
use sqlx::{migrate::Migrator, AnyPool};

use crate::helpers::{spawn_app, spawn_app_on, TestApp, TestDatabase};

fn migrations_dir(engine: Engine) -> std::path::PathBuf {
    let name = match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(name)
}

/// Applies the first `count` migrations of the engine's folder, as an older
/// Latchkey that had only those would have.
async fn migrate_to(url: &str, engine: Engine, count: usize) {
    let mut files: Vec<_> = std::fs::read_dir(migrations_dir(engine))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let older = tempfile::tempdir().unwrap();
    for file in &files[..count] {
        std::fs::copy(file, older.path().join(file.file_name().unwrap())).unwrap();
    }
    // A new SQLite file is created, as the server creates it.
    let url = match engine {
        Engine::Sqlite => format!("{url}?mode=rwc"),
        Engine::Postgres => url.to_owned(),
    };
    let pool = AnyPool::connect(&url).await.unwrap();
    Migrator::new(older.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    pool.close().await;
}

fn migration_count(engine: Engine) -> usize {
    std::fs::read_dir(migrations_dir(engine)).unwrap().count()
}

/// What the first schema held, written with its own columns: the test app,
/// an API key, a user who signed in once, and that user's passkey, copied from
/// a store of today's schema where they were made for real.
async fn fill_first_schema(url: &str, made: &TestApp, external_id: &str) {
    let app_id = AppId::parse(&made.app_id).unwrap();
    let app = made.store.find_app(&app_id).await.unwrap().unwrap();
    let user = made
        .store
        .find_user_by_external_id(&app_id, external_id)
        .await
        .unwrap()
        .unwrap();
    let passkey = made
        .store
        .list_passkeys(&app_id, &user.id)
        .await
        .unwrap()
        .remove(0);
    let pool = AnyPool::connect(url).await.unwrap();
    sqlx::query(
        "INSERT INTO apps (id, name, rp_id, origins, user_verification, webauthn_timeout_ms, \
         transaction_ttl_ms, nonce_ttl_ms, is_builtin, created_at) \
         VALUES ($1, $2, $3, $4, 'required', $5, $6, $7, 0, $8)",
    )
    .bind(&app.id)
    .bind(&app.name)
    .bind(&app.rp_id)
    .bind(serde_json::to_string(&app.origins.0).unwrap())
    .bind(app.webauthn_timeout_ms)
    .bind(app.transaction_ttl_ms)
    .bind(app.nonce_ttl_ms)
    .bind(app.created_at)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO api_keys (id, app_id, key_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(ApiKeyId::generate().as_str())
        .bind(&app.id)
        .bind(latchkey::flex::ids::hash(&made.api_key))
        .bind(app.created_at)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO users (id, app_id, external_id, display_name, login_count, created_at, \
         updated_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&user.id)
    .bind(&app.id)
    .bind(&user.external_id)
    .bind(&user.display_name)
    .bind(user.login_count)
    .bind(user.created_at)
    .bind(user.updated_at)
    .bind(user.last_login_at)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO passkeys (id, app_id, user_id, cred_id, credential, friendly_name, aaguid, \
         transports, backup_eligible, backup_state, counter, kind, usage_count, created_at, \
         updated_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&passkey.id)
    .bind(&app.id)
    .bind(&user.id)
    .bind(&passkey.cred_id)
    .bind(&passkey.credential)
    .bind(&passkey.friendly_name)
    .bind(&passkey.aaguid)
    .bind(serde_json::to_string(&passkey.transports.0).unwrap())
    .bind(i64::from(passkey.backup_eligible))
    .bind(i64::from(passkey.backup_state))
    .bind(passkey.counter)
    .bind(&passkey.kind)
    .bind(passkey.usage_count)
    .bind(passkey.created_at)
    .bind(passkey.updated_at)
    .bind(passkey.last_used_at)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn a_store_from_every_schema_version_migrates_to_head_and_keeps_its_passkeys() {
    // A passkey made and used for real, on today's schema.
    let made = spawn_app().await;
    let mut authenticator = Authenticator::new();
    made.add_passkey(&mut authenticator, "upgrade-user").await;
    made.sign_in(&mut authenticator, Some("upgrade-user")).await;
    let engine = Engine::of_url(made.database_url()).unwrap();
    let app_id = AppId::parse(&made.app_id).unwrap();
    let before = made
        .store
        .list_passkeys(&app_id, &made.user_id("upgrade-user").await)
        .await
        .unwrap();

    let versions = migration_count(engine);
    assert!(versions >= 5, "the migrations were not found");
    for start in 1..=versions {
        let database = TestDatabase::fresh().await;
        migrate_to(&database.url, engine, 1).await;
        fill_first_schema(&database.url, &made, "upgrade-user").await;
        migrate_to(&database.url, engine, start).await;

        // Today's server brings it to head on start.
        let upgraded = spawn_app_on(database, |_| {}).await;
        let status = upgraded.store.schema_status().await.unwrap();
        assert_eq!(status.applied.len(), versions, "from version {start}");
        let app = upgraded.core.find_app(&made.app_id).await.unwrap();
        let user = upgraded
            .store
            .find_user_by_external_id(&app_id, "upgrade-user")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.login_count, 1, "from version {start}");
        let after = upgraded
            .store
            .list_passkeys(&app_id, &user.id)
            .await
            .unwrap();
        assert_eq!(after.len(), 1);
        for (a, b) in before.iter().zip(&after) {
            assert_eq!(
                (
                    &a.id,
                    &a.cred_id,
                    &a.credential,
                    &a.friendly_name,
                    a.counter,
                    a.usage_count,
                    a.backup_state,
                    &a.transports.0
                ),
                (
                    &b.id,
                    &b.cred_id,
                    &b.credential,
                    &b.friendly_name,
                    b.counter,
                    b.usage_count,
                    b.backup_state,
                    &b.transports.0
                ),
                "from version {start}"
            );
        }
        assert!(
            upgraded
                .core
                .authorize(&app.id, Some(made.api_key.as_str()))
                .await
                .is_ok(),
            "from version {start}: the API key"
        );

        // And the passkey signs in both ways (a discoverable sign-in finds the
        // user by the user handle the migrations kept), with the origin it was made on.
        for external_id in [Some("upgrade-user"), None] {
            let signed_in = upgraded
                .sign_in_to(&mut authenticator, &made.app_id, &made.address, external_id)
                .await;
            assert_eq!(
                signed_in, "upgrade-user",
                "from version {start}, {external_id:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_store_a_newer_latchkey_migrated_is_refused_with_what_to_do() {
    let database = TestDatabase::fresh().await;
    let store = Store::connect(&database.url).await.unwrap();
    let known = store.schema_status().await.unwrap().known;
    store.close().await;
    migrated_by_a_newer_latchkey(&database.url).await;

    let refused = Store::connect(&database.url).await.unwrap_err();
    assert!(
        matches!(refused, latchkey::store::StoreError::NewerSchema { applied: 99, known: k } if k == known),
        "{refused}"
    );

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &database.url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("migrated by a newer Latchkey"), "{stderr}");
    assert!(stderr.contains("restore a backup"), "{stderr}");
}

/// Records schema version 99 as applied, as a newer Latchkey would have.
pub async fn migrated_by_a_newer_latchkey(database_url: &str) {
    let pool = AnyPool::connect(database_url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES (99, 'from a newer Latchkey', CURRENT_TIMESTAMP, TRUE, $1, 0)",
    )
    .bind(vec![0_u8; 4])
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}
