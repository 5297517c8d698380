//! Apps' signing keys (signed results): public halves as JWKs, private halves
//! sealed by the core before they reach the store.

use super::{ceremonies::Query, on_pool, on_reader, with_event, NewEvent, Store};
use crate::flex::ids::{AppId, SigningKeyId};

/// A new signing key, its private half sealed (never the key itself).
pub struct NewSigningKey {
    pub id: SigningKeyId,
    /// The public key as a JWK (JSON).
    pub public_jwk: String,
    /// The PKCS#8 private key, sealed with AES-256-GCM under the secret key.
    pub sealed_private_key: Vec<u8>,
}

/// An app's current signing key, still sealed.
#[derive(Debug, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub id: String,
    pub private_key: Vec<u8>,
}

/// The statement that adds `key` as the current key of `app`, unless it has
/// one: to run inside the database transaction of the change that needs it.
pub(super) fn insert_signing_key_query<'q, DB: sqlx::Database>(
    app: &'q AppId,
    key: &'q NewSigningKey,
    now: i64,
) -> Query<'q, DB>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO signing_keys (id, app_id, public_jwk, private_key, created_at) \
         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS \
         (SELECT 1 FROM signing_keys WHERE app_id = $2 AND retired_at IS NULL)",
    )
    .bind(key.id.as_str())
    .bind(app.as_str())
    .bind(key.public_jwk.as_str())
    .bind(key.sealed_private_key.as_slice())
    .bind(now)
}

impl Store {
    pub async fn find_current_signing_key(
        &self,
        app: &AppId,
    ) -> Result<Option<SigningKeyRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT id, private_key FROM signing_keys WHERE app_id = $1 AND retired_at IS NULL",
            )
            .bind(app.as_str())
            .fetch_optional(pool)
            .await
        })
    }

    /// The public keys (JWK JSON) of `app` still served at `now`: the current
    /// one first, then retired ones until they expire, newest first.
    pub async fn list_served_signing_keys(
        &self,
        app: &AppId,
        now: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_scalar(
                "SELECT public_jwk FROM signing_keys \
                 WHERE app_id = $1 AND (retired_at IS NULL OR expires_at > $2) \
                 ORDER BY retired_at IS NOT NULL, created_at DESC, id",
            )
            .bind(app.as_str())
            .bind(now)
            .fetch_all(pool)
            .await
        })
    }

    /// Retires `old` (served until `served_until`) and makes `new` the current
    /// key, with the event, in one database transaction; `false` when `old` is
    /// no longer current (another rotation came first).
    pub async fn rotate_signing_key(
        &self,
        app: &AppId,
        old: &str,
        new: &NewSigningKey,
        now: i64,
        served_until: i64,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let retired = sqlx::query(
                "UPDATE signing_keys SET retired_at = $1, expires_at = $2 \
                 WHERE id = $3 AND app_id = $4 AND retired_at IS NULL",
            )
            .bind(now)
            .bind(served_until)
            .bind(old)
            .bind(app.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if retired != 1 {
                return Ok(false);
            }
            let inserted = insert_signing_key_query(app, new, now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            with_event(tx, inserted, event).await
        })
    }
}
