//! Apps (one per application using Latchkey, each with its WebAuthn settings)
//! and their API keys.

use std::time::Duration;

use sqlx::Row;
use url::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::{
    clock::Millis,
    ids::{self, ApiKey, ApiKeyId, AppId},
    FlexError,
};
use crate::store::Store;

mod settings;

pub use settings::{Lifetimes, NewApp, Origin};

#[derive(Clone, Debug)]
pub struct App {
    pub id: AppId,
    pub name: String,
    pub rp_id: String,
    pub origins: Vec<String>,
    pub webauthn_timeout_ms: i64,
    pub transaction_ttl_ms: i64,
    pub nonce_ttl_ms: i64,
    /// How many passkeys one user may hold.
    pub max_passkeys_per_user: i64,
    pub is_builtin: bool,
    pub created_at: Millis,
}

impl App {
    /// The WebAuthn relying party of this app: its RP ID and exact origins.
    pub fn webauthn(&self) -> Result<Webauthn, FlexError> {
        let urls = self
            .origins
            .iter()
            .map(|o| Url::parse(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("stored origin is not a URL: {e}"))?;
        let first_web = urls
            .iter()
            .find(|u| u.host_str().is_some())
            .ok_or_else(|| anyhow::anyhow!("app {} has no web origin", self.id))?;
        let mut builder = WebauthnBuilder::new(&self.rp_id, first_web)
            .map_err(|e| anyhow::anyhow!("app {} has an invalid RP configuration: {e}", self.id))?
            .rp_name(&self.name)
            .timeout(Duration::from_millis(self.webauthn_timeout_ms as u64));
        for url in urls.iter().filter(|u| *u != first_web) {
            builder = builder.append_allowed_origin(url);
        }
        Ok(builder
            .build()
            .map_err(|e| anyhow::anyhow!("app {}: {e}", self.id))?)
    }

    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }
}

/// An API key as created: the secret is shown once and never stored.
#[derive(Debug)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub key: ApiKey,
}

const APP_COLUMNS: &str = "id, name, rp_id, origins, webauthn_timeout_ms, transaction_ttl_ms, \
                           nonce_ttl_ms, max_passkeys_per_user, is_builtin, created_at";

fn app_from_row(row: &sqlx::any::AnyRow) -> Result<App, FlexError> {
    let id: String = row.try_get("id")?;
    let origins: String = row.try_get("origins")?;
    Ok(App {
        id: AppId::parse(&id).ok_or_else(|| anyhow::anyhow!("stored app id {id} is malformed"))?,
        name: row.try_get("name")?,
        rp_id: row.try_get("rp_id")?,
        origins: serde_json::from_str(&origins)?,
        webauthn_timeout_ms: row.try_get("webauthn_timeout_ms")?,
        transaction_ttl_ms: row.try_get("transaction_ttl_ms")?,
        nonce_ttl_ms: row.try_get("nonce_ttl_ms")?,
        max_passkeys_per_user: row.try_get("max_passkeys_per_user")?,
        is_builtin: row.try_get::<i64, _>("is_builtin")? == 1,
        created_at: row.try_get("created_at")?,
    })
}

/// Creates an app and its first API key, in one database transaction.
pub async fn create_app(
    store: &Store,
    new: &NewApp,
    now: Millis,
) -> Result<(App, NewApiKey), FlexError> {
    let mut tx = store.pool().begin().await?;
    let app = insert_app(&mut tx, new, false, now).await?;
    let key = insert_api_key(&mut tx, &app.id, now).await?;
    tx.commit().await?;
    Ok((app, key))
}

async fn insert_app(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    new: &NewApp,
    is_builtin: bool,
    now: Millis,
) -> Result<App, FlexError> {
    let app = App {
        id: AppId::generate(),
        name: new.name.as_str().to_owned(),
        rp_id: new.rp_id.clone(),
        origins: new.origins.iter().map(|o| o.as_str().to_owned()).collect(),
        webauthn_timeout_ms: new.lifetimes.webauthn_timeout_ms,
        transaction_ttl_ms: new.lifetimes.transaction_ttl_ms,
        nonce_ttl_ms: new.lifetimes.nonce_ttl_ms,
        max_passkeys_per_user: new.max_passkeys_per_user,
        is_builtin,
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO apps (id, name, rp_id, origins, user_verification, webauthn_timeout_ms, \
         transaction_ttl_ms, nonce_ttl_ms, max_passkeys_per_user, is_builtin, created_at) \
         VALUES ($1, $2, $3, $4, 'required', $5, $6, $7, $8, $9, $10)",
    )
    .bind(app.id.as_str())
    .bind(&app.name)
    .bind(&app.rp_id)
    .bind(serde_json::to_string(&app.origins)?)
    .bind(app.webauthn_timeout_ms)
    .bind(app.transaction_ttl_ms)
    .bind(app.nonce_ttl_ms)
    .bind(app.max_passkeys_per_user)
    .bind(i64::from(is_builtin))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(app)
}

async fn insert_api_key(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    app_id: &AppId,
    now: Millis,
) -> Result<NewApiKey, FlexError> {
    let key = NewApiKey {
        id: ApiKeyId::generate(),
        key: ApiKey::generate(),
    };
    sqlx::query("INSERT INTO api_keys (id, app_id, key_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(key.id.as_str())
        .bind(app_id.as_str())
        .bind(key.key.hash())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(key)
}

/// The app with this id; `AppNotFound` for an id of the wrong shape too.
pub async fn find_app(store: &Store, id: &str) -> Result<App, FlexError> {
    let id = AppId::parse(id).ok_or(FlexError::AppNotFound)?;
    let row = sqlx::query(&format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(store.pool())
        .await?
        .ok_or(FlexError::AppNotFound)?;
    app_from_row(&row)
}

pub async fn list_apps(store: &Store) -> Result<Vec<App>, FlexError> {
    sqlx::query(&format!(
        "SELECT {APP_COLUMNS} FROM apps ORDER BY created_at, id"
    ))
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(app_from_row)
    .collect()
}

/// The app of the built-in site, created on first start (once, even when
/// several instances start together: a unique index allows one).
pub async fn ensure_builtin_app(
    store: &Store,
    origin: &Origin,
    now: Millis,
) -> Result<App, FlexError> {
    if let Some(app) = find_builtin_app(store).await? {
        return Ok(app);
    }
    let new = NewApp::parse("Latchkey site", &[origin.as_str().to_owned()], None)?;
    let mut tx = store.pool().begin().await?;
    match insert_app(&mut tx, &new, true, now).await {
        Ok(_) => tx.commit().await?,
        Err(FlexError::Internal(_)) => tx.rollback().await?, // another instance won the race
        Err(other) => return Err(other),
    }
    find_builtin_app(store)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the built-in app was not created").into())
}

async fn find_builtin_app(store: &Store) -> Result<Option<App>, FlexError> {
    sqlx::query(&format!(
        "SELECT {APP_COLUMNS} FROM apps WHERE is_builtin = 1"
    ))
    .fetch_optional(store.pool())
    .await?
    .as_ref()
    .map(app_from_row)
    .transpose()
}

pub async fn create_api_key(
    store: &Store,
    app_id: &str,
    now: Millis,
) -> Result<NewApiKey, FlexError> {
    let app = find_app(store, app_id).await?;
    let mut tx = store.pool().begin().await?;
    let key = insert_api_key(&mut tx, &app.id, now).await?;
    tx.commit().await?;
    Ok(key)
}

/// Revokes a key of an app; the key stops working at once.
pub async fn revoke_api_key(
    store: &Store,
    app_id: &str,
    key_id: &str,
    now: Millis,
) -> Result<(), FlexError> {
    let app = find_app(store, app_id).await?;
    let key_id = ApiKeyId::parse(key_id).ok_or_else(|| FlexError::invalid("no such API key"))?;
    let revoked = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND app_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(key_id.as_str())
    .bind(app.id.as_str())
    .execute(store.pool())
    .await?;
    if revoked.rows_affected() == 0 {
        return Err(FlexError::invalid(
            "no such API key for this app, or already revoked",
        ));
    }
    Ok(())
}

/// The app a management request acts for, and the id of the key: the key must
/// be a live key of the app in the path. Keys are looked up by their SHA-256
/// hash, so the secret is never compared byte by byte.
pub async fn authorize(
    store: &Store,
    app_id: &str,
    bearer: Option<&str>,
) -> Result<(App, ApiKeyId), FlexError> {
    let app = find_app(store, app_id).await?;
    let key = bearer
        .and_then(ApiKey::parse)
        .ok_or(FlexError::InvalidAccessToken)?;
    let live =
        sqlx::query("SELECT id, app_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(ids::hash(key.as_str()))
            .fetch_optional(store.pool())
            .await?;
    match live {
        Some(row) if row.try_get::<String, _>("app_id")? == app.id.as_str() => {
            let id: String = row.try_get("id")?;
            let id = ApiKeyId::parse(&id)
                .ok_or_else(|| anyhow::anyhow!("stored API key id {id} is malformed"))?;
            Ok((app, id))
        }
        _ => Err(FlexError::InvalidAccessToken),
    }
}
