//! Apps and their API keys.

use super::{
    insert_event_query, is_duplicate, on_pool, on_reader, signing::insert_signing_key_query,
    with_event, Json, NewEvent, NewSigningKey, Store,
};
use crate::flex::{
    apps::AuthenticatorPolicy,
    ids::{ApiKeyId, AppId},
};

/// An app as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct AppRow {
    pub id: String,
    pub name: String,
    pub rp_id: String,
    pub origins: Json<Vec<String>>,
    /// Web origins outside the RP ID it accepts too (Related Origin Requests).
    pub related_origins: Json<Vec<String>>,
    pub webauthn_timeout_ms: i64,
    pub transaction_ttl_ms: i64,
    pub nonce_ttl_ms: i64,
    pub max_passkeys_per_user: i64,
    pub is_builtin: bool,
    /// The console's own app (its operators' passkeys), hidden from app lists.
    pub is_console: bool,
    pub created_at: i64,
    /// A signed JWT beside the nonce of each finish (`signing_keys` holds the keys).
    pub signed_results: bool,
    /// The authenticator policy: `none`, `allow` or `deny` the AAGUIDs listed.
    pub aaguid_policy: String,
    pub aaguids: Json<Vec<String>>,
    pub attested_only: bool,
}

/// What a new app is created with.
pub struct NewAppRow<'a> {
    pub id: &'a AppId,
    pub name: &'a str,
    pub rp_id: &'a str,
    pub origins: Vec<&'a str>,
    pub related_origins: Vec<&'a str>,
    pub webauthn_timeout_ms: i64,
    pub transaction_ttl_ms: i64,
    pub nonce_ttl_ms: i64,
    pub max_passkeys_per_user: i64,
    pub is_builtin: bool,
    pub is_console: bool,
    pub created_at: i64,
    pub signed_results: bool,
    /// Its first signing key, when it starts with signed results on.
    pub signing_key: Option<&'a NewSigningKey>,
    pub policy: &'a AuthenticatorPolicy,
}

/// What an app is changed to: everything but its id and creation.
pub struct AppUpdateRow<'a> {
    pub name: &'a str,
    pub rp_id: &'a str,
    pub origins: Vec<&'a str>,
    pub related_origins: Vec<&'a str>,
    pub webauthn_timeout_ms: i64,
    pub transaction_ttl_ms: i64,
    pub nonce_ttl_ms: i64,
    pub max_passkeys_per_user: i64,
    pub signed_results: bool,
    /// A signing key to add as the current one, unless the app has one
    /// (signed results turned on for the first time).
    pub signing_key: Option<&'a NewSigningKey>,
    pub policy: &'a AuthenticatorPolicy,
}

/// An API key of an app, as listed (never its secret or hash).
#[derive(Debug, sqlx::FromRow)]
pub struct ApiKeyListRow {
    pub id: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A live API key: whose it is.
#[derive(Debug, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub app_id: String,
}

const APP_COLUMNS: &str = "id, name, rp_id, origins, webauthn_timeout_ms, transaction_ttl_ms, \
                           nonce_ttl_ms, max_passkeys_per_user, is_builtin, is_console, created_at, \
                           signed_results, related_origins, aaguid_policy, aaguids, attested_only";

impl Store {
    /// Creates an app and its first API key, in one database transaction.
    /// `Ok(false)`: a built-in app exists already (another instance created it).
    pub async fn insert_app(
        &self,
        app: &NewAppRow<'_>,
        key: Option<(&ApiKeyId, &[u8])>,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO apps (id, name, rp_id, origins, webauthn_timeout_ms, \
                 transaction_ttl_ms, nonce_ttl_ms, max_passkeys_per_user, is_builtin, is_console, \
                 created_at, signed_results, related_origins, aaguid_policy, aaguids, attested_only) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(app.id.as_str())
            .bind(app.name)
            .bind(app.rp_id)
            .bind(Json(&app.origins))
            .bind(app.webauthn_timeout_ms)
            .bind(app.transaction_ttl_ms)
            .bind(app.nonce_ttl_ms)
            .bind(app.max_passkeys_per_user)
            .bind(app.is_builtin)
            .bind(app.is_console)
            .bind(app.created_at)
            .bind(app.signed_results)
            .bind(Json(&app.related_origins))
            .bind(app.policy.mode.as_str())
            .bind(Json(&app.policy.aaguids))
            .bind(app.policy.attested_only)
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if (app.is_builtin || app.is_console) && is_duplicate(&e) => {
                    return Ok(false)
                }
                other => other?,
            };
            if let Some((key_id, key_hash)) = key {
                sqlx::query(
                    "INSERT INTO api_keys (id, app_id, key_hash, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(key_id.as_str())
                .bind(app.id.as_str())
                .bind(key_hash)
                .bind(app.created_at)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(signing_key) = app.signing_key {
                insert_signing_key_query(app.id, signing_key, app.created_at)
                    .execute(&mut *tx)
                    .await?;
            }
            insert_event_query(event).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn find_app(&self, id: &AppId) -> Result<Option<AppRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(&format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1"))
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
        })
    }

    pub async fn find_builtin_app(&self) -> Result<Option<AppRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(&format!("SELECT {APP_COLUMNS} FROM apps WHERE is_builtin"))
                .fetch_optional(pool)
                .await
        })
    }

    pub async fn find_console_app(&self) -> Result<Option<AppRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(&format!("SELECT {APP_COLUMNS} FROM apps WHERE is_console"))
                .fetch_optional(pool)
                .await
        })
    }

    /// Changes an app's settings (and adds its first signing key), in one
    /// database transaction; `false` when there is no such app (the console's
    /// own app is not changed here).
    pub async fn update_app(
        &self,
        id: &AppId,
        app: &AppUpdateRow<'_>,
        now: i64,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE apps SET name = $1, rp_id = $2, origins = $3, webauthn_timeout_ms = $4, \
                 transaction_ttl_ms = $5, nonce_ttl_ms = $6, max_passkeys_per_user = $7, \
                 signed_results = $8, aaguid_policy = $9, aaguids = $10, attested_only = $11, \
                 related_origins = $13 WHERE id = $12 AND NOT is_console",
            )
            .bind(app.name)
            .bind(app.rp_id)
            .bind(Json(&app.origins))
            .bind(app.webauthn_timeout_ms)
            .bind(app.transaction_ttl_ms)
            .bind(app.nonce_ttl_ms)
            .bind(app.max_passkeys_per_user)
            .bind(app.signed_results)
            .bind(app.policy.mode.as_str())
            .bind(Json(&app.policy.aaguids))
            .bind(app.policy.attested_only)
            .bind(id.as_str())
            .bind(Json(&app.related_origins))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if let (1, Some(signing_key)) = (changed, app.signing_key) {
                insert_signing_key_query(id, signing_key, now)
                    .execute(&mut *tx)
                    .await?;
            }
            with_event(tx, changed, event).await
        })
    }

    /// An app's API keys, newest first, revoked ones included.
    pub async fn list_api_keys(&self, app_id: &AppId) -> Result<Vec<ApiKeyListRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT id, created_at, last_used_at, revoked_at FROM api_keys \
                 WHERE app_id = $1 ORDER BY created_at DESC, id",
            )
            .bind(app_id.as_str())
            .fetch_all(pool)
            .await
        })
    }

    /// Notes that a key authorized a request at `now`.
    pub async fn touch_api_key(&self, key_id: &ApiKeyId, now: i64) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(key_id.as_str())
                .execute(pool)
                .await
                .map(drop)
        })
    }

    pub async fn list_apps(&self) -> Result<Vec<AppRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT {APP_COLUMNS} FROM apps WHERE NOT is_console ORDER BY created_at, id"
            ))
            .fetch_all(pool)
            .await
        })
    }

    /// Adds an API key to an existing app, with its event; `false` when there
    /// is no such app.
    pub async fn insert_api_key(
        &self,
        app_id: &AppId,
        key_id: &ApiKeyId,
        key_hash: &[u8],
        now: i64,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO api_keys (id, app_id, key_hash, created_at) \
                 SELECT $1, id, $3, $4 FROM apps WHERE id = $2",
            )
            .bind(key_id.as_str())
            .bind(app_id.as_str())
            .bind(key_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            with_event(tx, inserted.rows_affected(), event).await
        })
    }

    /// Revokes a live key of an app, with its event; `false` when there is
    /// none to revoke.
    pub async fn revoke_api_key(
        &self,
        app_id: &AppId,
        key_id: &ApiKeyId,
        now: i64,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let revoked = sqlx::query(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND app_id = $3 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(key_id.as_str())
            .bind(app_id.as_str())
            .execute(&mut *tx)
            .await?;
            with_event(tx, revoked.rows_affected(), event).await
        })
    }

    /// The live (unrevoked) key with this hash, whichever app it belongs to.
    pub async fn find_live_api_key(
        &self,
        key_hash: &[u8],
    ) -> Result<Option<ApiKeyRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT id, app_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            )
            .bind(key_hash)
            .fetch_optional(pool)
            .await
        })
    }
}
