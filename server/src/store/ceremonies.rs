//! Transactions, handshakes and nonces: short-lived, single-use ceremony state.
//! Every consume is one conditional statement inside the database transaction
//! that writes its outcome; ids are stored as SHA-256 hashes only.

use super::{is_duplicate, on_pool, on_reader, users::NewPasskey, Store};
use crate::flex::ids::AppId;

/// A transaction to store.
pub struct NewTransaction<'a> {
    pub id_hash: &'a [u8],
    pub app_id: &'a AppId,
    pub user_id: &'a str,
    pub kind: &'a str,
    pub display_name: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// A handshake to store (`user_id` and `transaction_hash` are absent for a
/// discoverable sign-in).
pub struct NewHandshake {
    pub id_hash: Vec<u8>,
    pub kind: &'static str,
    pub user_id: Option<String>,
    pub transaction_hash: Option<Vec<u8>>,
    pub state: String,
    pub expires_at: i64,
}

/// A used-up transaction: whose it was, and that user's passkeys as
/// (credential id, webauthn-rs `Passkey` JSON).
pub struct UsedTransaction {
    pub user_id: String,
    pub display_name: String,
    pub passkeys: Vec<(Vec<u8>, String)>,
}

/// A live handshake, and the stored passkey with the credential id the browser answered with.
#[derive(Debug, sqlx::FromRow)]
pub struct HandshakeRow {
    pub kind: String,
    pub user_id: Option<String>,
    pub state: String,
    #[sqlx(flatten)]
    pub passkey: PasskeyInHandshake,
}

/// The passkey a finish names, if it is one of this app's (all `None` otherwise).
#[derive(Debug, sqlx::FromRow)]
pub struct PasskeyInHandshake {
    pub passkey_id: Option<String>,
    pub passkey_user_id: Option<String>,
    pub credential: Option<String>,
    pub external_id: Option<String>,
}

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
    pub now: i64,
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
    pub async fn insert_transaction(&self, new: &NewTransaction<'_>) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO transactions (id_hash, app_id, user_id, kind, display_name, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(new.id_hash)
            .bind(new.app_id.as_str())
            .bind(new.user_id)
            .bind(new.kind)
            .bind(new.display_name)
            .bind(new.now)
            .bind(new.expires_at)
            .execute(pool)
            .await
            .map(drop)
        })
    }

    /// An authenticate transaction for the user of `external_id`, if that user
    /// holds a passkey: one statement; `false` (nothing written) otherwise.
    pub async fn insert_authenticate_transaction(
        &self,
        app_id: &AppId,
        external_id: &str,
        id_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO transactions (id_hash, app_id, user_id, kind, display_name, created_at, expires_at) \
                 SELECT $1, u.app_id, u.id, 'authenticate', u.display_name, $2, $3 FROM users u \
                 WHERE u.app_id = $4 AND u.external_id = $5 \
                 AND EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id)",
            )
            .bind(id_hash)
            .bind(now)
            .bind(expires_at)
            .bind(app_id.as_str())
            .bind(external_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1)
        })
    }

    /// A handshake that needs no transaction (a discoverable sign-in): one statement.
    pub async fn insert_handshake(
        &self,
        app_id: &AppId,
        new: &NewHandshake,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            insert_handshake_query(app_id, new, now)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    /// Uses up a live transaction of this app and kind, hands its user and
    /// passkeys to `prepare`, and stores the handshake `prepare` makes, in one
    /// database transaction: if `prepare` refuses, the transaction stays unused.
    /// `Ok(None)`: no such live transaction.
    pub async fn start_with_transaction<T, E: From<sqlx::Error>>(
        &self,
        app_id: &AppId,
        id_hash: &[u8],
        kind: &str,
        now: i64,
        prepare: impl FnOnce(UsedTransaction) -> Result<(NewHandshake, T), E>,
    ) -> Result<Option<T>, E> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let used: Option<(String, String)> = sqlx::query_as(
                "UPDATE transactions SET used_at = $1 \
                 WHERE id_hash = $2 AND app_id = $3 AND kind = $4 AND used_at IS NULL AND expires_at > $1 \
                 RETURNING user_id, display_name",
            )
            .bind(now)
            .bind(id_hash)
            .bind(app_id.as_str())
            .bind(kind)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((user_id, display_name)) = used else {
                return Ok(None);
            };
            let passkeys = sqlx::query_as(
                "SELECT cred_id, credential FROM passkeys WHERE user_id = $1 AND app_id = $2",
            )
            .bind(&user_id)
            .bind(app_id.as_str())
            .fetch_all(&mut *tx)
            .await?;
            let (handshake, made) = prepare(UsedTransaction {
                user_id,
                display_name,
                passkeys,
            })?;
            insert_handshake_query(app_id, &handshake, now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(made))
        })
    }

    /// A live handshake of this app (not consumed: verification comes first),
    /// with the passkey of `cred_id` if it is this app's, and that passkey's
    /// user's external id: one statement.
    pub async fn find_handshake(
        &self,
        app_id: &AppId,
        id_hash: &[u8],
        transaction_hash: Option<&[u8]>,
        cred_id: Option<&[u8]>,
        now: i64,
    ) -> Result<Option<HandshakeRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT h.kind, h.user_id, h.state, p.id AS passkey_id, p.user_id AS passkey_user_id, \
                 p.credential, u.external_id FROM handshakes h \
                 LEFT JOIN passkeys p ON p.cred_id = $1 AND p.app_id = h.app_id \
                 LEFT JOIN users u ON u.id = p.user_id \
                 WHERE h.id_hash = $2 AND h.app_id = $3 AND h.expires_at > $4 \
                 AND h.transaction_hash IS NOT DISTINCT FROM $5",
            )
            .bind(cred_id)
            .bind(id_hash)
            .bind(app_id.as_str())
            .bind(now)
            .bind(transaction_hash)
            .fetch_optional(pool)
            .await
        })
    }

    /// Consumes the handshake, updates the passkey (only if it is still this
    /// user's and its counter moves forward; both zero is "no counter") and the
    /// user, and stores the nonce: all or nothing.
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
                w.now,
                w.nonce_expires_at,
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Finish::Written)
        })
    }

    /// Consumes the handshake, stores the passkey (within the app's cap per
    /// user, counted with the user's row locked) and the nonce: all or nothing.
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
                w.now,
                w.nonce_expires_at,
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Finish::Written)
        })
    }

    /// Uses up a live nonce of this app: one statement. Returns its user's external id.
    pub async fn take_nonce(
        &self,
        app_id: &AppId,
        hash: &[u8],
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "DELETE FROM nonces WHERE hash = $1 AND app_id = $2 AND expires_at > $3 RETURNING external_id",
            )
            .bind(hash)
            .bind(app_id.as_str())
            .bind(now)
            .fetch_optional(pool)
            .await
        })
    }

    /// Deletes the transactions, handshakes and nonces that have expired.
    pub async fn sweep_expired(&self, now: i64) -> Result<u64, sqlx::Error> {
        let mut swept = 0;
        for table in ["handshakes", "nonces", "transactions"] {
            swept += on_pool!(self, |pool| {
                sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= $1"))
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
        }
        Ok(swept)
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
         INSERT INTO nonces (hash, app_id, user_id, external_id, created_at, expires_at) \
         SELECT $10, $7, $8, $11, $5, $12 WHERE changes() = 1",
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
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let refused = match changed {
        4 => {
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

type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

fn insert_handshake_query<'q, DB: sqlx::Database>(
    app_id: &'q AppId,
    new: &'q NewHandshake,
    now: i64,
) -> Query<'q, DB>
where
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q [u8]>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO handshakes (id_hash, app_id, kind, transaction_hash, user_id, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.id_hash.as_slice())
    .bind(app_id.as_str())
    .bind(new.kind)
    .bind(new.transaction_hash.as_deref())
    .bind(new.user_id.as_deref())
    .bind(new.state.as_str())
    .bind(now)
    .bind(new.expires_at)
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
    now: i64,
    expires_at: i64,
) -> Query<'q, DB>
where
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO nonces (hash, app_id, user_id, external_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash)
    .bind(app_id.as_str())
    .bind(user_id)
    .bind(external_id)
    .bind(now)
    .bind(expires_at)
}
