//! The writes that finish a ceremony: the handshake is consumed and its outcome
//! written (a passkey, a sign-in, a nonce) in one database transaction, all or
//! nothing.

use super::{
    ceremonies::Query, events::insert_event_query, is_duplicate, on_pool, users::NewPasskey,
    NewEvent, Store,
};
use crate::flex::ids::AppId;

/// What a finished sign-in writes.
pub struct AuthenticationWrite<'a> {
    pub handshake_hash: &'a [u8],
    pub app_id: &'a AppId,
    pub passkey_id: &'a str,
    pub user_id: &'a str,
    pub external_id: &'a str,
    /// The updated webauthn-rs `Passkey`, as JSON.
    pub credential: &'a str,
    pub counter: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub nonce_hash: &'a [u8],
    pub nonce_expires_at: i64,
    /// The action the sign-in approved (canonical JSON), which the nonce carries.
    pub action: Option<&'a str>,
    pub now: i64,
    /// The finish's event, written with it.
    pub event: &'a NewEvent,
}

/// What a finished registration writes.
pub struct RegistrationWrite<'a> {
    pub handshake_hash: &'a [u8],
    pub app_id: &'a AppId,
    pub max_passkeys_per_user: i64,
    pub passkey: NewPasskey<'a>,
    pub nonce_hash: &'a [u8],
    pub nonce_expires_at: i64,
    pub now: i64,
    /// The finish's event, written with it.
    pub event: &'a NewEvent,
}

/// How a finish's write ended: written (and committed), or rolled back because
/// what verification read no longer holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Finish {
    Written,
    HandshakeGone,
    /// The passkey was removed, or a newer sign-in with it came first.
    PasskeyChanged,
    UserGone,
    TooManyPasskeys,
    CredentialTaken,
}

impl Store {
    /// Consumes the handshake, updates the passkey (only if it is still this
    /// user's and its counter moves forward; both zero is "no counter") and the
    /// user, and stores the nonce and the event: all or nothing.
    pub async fn write_authentication(
        &self,
        w: &AuthenticationWrite<'_>,
    ) -> Result<Finish, sqlx::Error> {
        if let super::Pool::Sqlite { writer, .. } = &self.pool {
            return write_authentication_sqlite(writer, w).await;
        }
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            if !consume_handshake_query(w.app_id, w.handshake_hash, w.now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1
            {
                return Ok(Finish::HandshakeGone);
            }
            let updated = sqlx::query(
                "UPDATE passkeys SET credential = $1, counter = $2, backup_eligible = $3, backup_state = $4, \
                 usage_count = usage_count + 1, last_used_at = $5, updated_at = $5 \
                 WHERE id = $6 AND app_id = $7 AND user_id = $8 AND (counter < $2 OR (counter = 0 AND $2 = 0))",
            )
            .bind(w.credential)
            .bind(w.counter)
            .bind(w.backup_eligible)
            .bind(w.backup_state)
            .bind(w.now)
            .bind(w.passkey_id)
            .bind(w.app_id.as_str())
            .bind(w.user_id)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Ok(Finish::PasskeyChanged);
            }
            let updated = sqlx::query(
                "UPDATE users SET login_count = login_count + 1, last_login_at = $1, updated_at = $1 \
                 WHERE id = $2 AND app_id = $3",
            )
            .bind(w.now)
            .bind(w.user_id)
            .bind(w.app_id.as_str())
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Ok(Finish::UserGone);
            }
            insert_nonce_query(
                w.app_id,
                w.nonce_hash,
                w.user_id,
                w.external_id,
                (w.now, w.nonce_expires_at),
                w.action,
            )
            .execute(&mut *tx)
            .await?;
            insert_event_query(w.event).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Finish::Written)
        })
    }

    /// Consumes the handshake, stores the passkey (within the app's cap per
    /// user, counted with the user's row locked), the nonce and the event: all or
    /// nothing.
    pub async fn write_registration(
        &self,
        w: &RegistrationWrite<'_>,
    ) -> Result<Finish, sqlx::Error> {
        let p = &w.passkey;
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            if !consume_handshake_query(w.app_id, w.handshake_hash, w.now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1
            {
                return Ok(Finish::HandshakeGone);
            }
            // A no-op update locks the user's row, so concurrent finishes for one
            // user count one after another.
            let external_id: Option<String> = sqlx::query_scalar(
                "UPDATE users SET updated_at = updated_at WHERE id = $1 AND app_id = $2 RETURNING external_id",
            )
            .bind(p.user_id)
            .bind(w.app_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(external_id) = external_id else {
                return Ok(Finish::UserGone);
            };
            let held: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM passkeys WHERE user_id = $1 AND app_id = $2",
            )
            .bind(p.user_id)
            .bind(w.app_id.as_str())
            .fetch_one(&mut *tx)
            .await?;
            if held >= w.max_passkeys_per_user {
                return Ok(Finish::TooManyPasskeys);
            }
            let inserted = sqlx::query(
                "INSERT INTO passkeys (id, app_id, user_id, cred_id, credential, friendly_name, aaguid, transports, \
                 backup_eligible, backup_state, counter, kind, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
            )
            .bind(p.id.as_str())
            .bind(w.app_id.as_str())
            .bind(p.user_id)
            .bind(p.cred_id)
            .bind(p.credential)
            .bind(p.friendly_name)
            .bind(p.aaguid)
            .bind(super::Json(p.transports))
            .bind(p.backup_eligible)
            .bind(p.backup_state)
            .bind(p.counter)
            .bind(p.kind)
            .bind(w.now)
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if is_duplicate(&e) => return Ok(Finish::CredentialTaken),
                other => other?,
            };
            insert_nonce_query(
                w.app_id,
                w.nonce_hash,
                p.user_id,
                &external_id,
                (w.now, w.nonce_expires_at),
                None,
            )
            .execute(&mut *tx)
            .await?;
            insert_event_query(w.event).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Finish::Written)
        })
    }
}

/// `write_authentication` on SQLite in one round trip to its writer thread:
/// the same four writes, each run only if the one before changed its row
/// (`changes()`); the count of rows changed says which one refused, and then
/// the database transaction rolls back.
async fn write_authentication_sqlite(
    writer: &sqlx::SqlitePool,
    w: &AuthenticationWrite<'_>,
) -> Result<Finish, sqlx::Error> {
    let mut tx = writer.begin().await?;
    let changed = sqlx::query(
        "DELETE FROM handshakes WHERE id_hash = $9 AND app_id = $7 AND expires_at > $5; \
         UPDATE passkeys SET credential = $1, counter = $2, backup_eligible = $3, backup_state = $4, \
         usage_count = usage_count + 1, last_used_at = $5, updated_at = $5 \
         WHERE changes() = 1 AND id = $6 AND app_id = $7 AND user_id = $8 \
         AND (counter < $2 OR (counter = 0 AND $2 = 0)); \
         UPDATE users SET login_count = login_count + 1, last_login_at = $5, updated_at = $5 \
         WHERE changes() = 1 AND id = $8 AND app_id = $7; \
         INSERT INTO nonces (hash, app_id, user_id, external_id, created_at, expires_at, action) \
         SELECT $10, $7, $8, $11, $5, $12, $13 WHERE changes() = 1",
    )
    .bind(w.credential)
    .bind(w.counter)
    .bind(w.backup_eligible)
    .bind(w.backup_state)
    .bind(w.now)
    .bind(w.passkey_id)
    .bind(w.app_id.as_str())
    .bind(w.user_id)
    .bind(w.handshake_hash)
    .bind(w.nonce_hash)
    .bind(w.external_id)
    .bind(w.nonce_expires_at)
    .bind(w.action)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let refused = match changed {
        4 => {
            insert_event_query(w.event).execute(&mut *tx).await?;
            tx.commit().await?;
            return Ok(Finish::Written);
        }
        0 => Finish::HandshakeGone,
        1 => Finish::PasskeyChanged,
        _ => Finish::UserGone,
    };
    tx.rollback().await?;
    Ok(refused)
}

fn consume_handshake_query<'q, DB: sqlx::Database>(
    app_id: &'q AppId,
    id_hash: &'q [u8],
    now: i64,
) -> Query<'q, DB>
where
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query("DELETE FROM handshakes WHERE id_hash = $1 AND app_id = $2 AND expires_at > $3")
        .bind(id_hash)
        .bind(app_id.as_str())
        .bind(now)
}

fn insert_nonce_query<'q, DB: sqlx::Database>(
    app_id: &'q AppId,
    hash: &'q [u8],
    user_id: &'q str,
    external_id: &'q str,
    (now, expires_at): (i64, i64),
    action: Option<&'q str>,
) -> Query<'q, DB>
where
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO nonces (hash, app_id, user_id, external_id, created_at, expires_at, action) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(hash)
    .bind(app_id.as_str())
    .bind(user_id)
    .bind(external_id)
    .bind(now)
    .bind(expires_at)
    .bind(action)
}
