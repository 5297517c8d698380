//! Transactions, handshakes and nonces: short-lived, single-use ceremony state.
//! Every consume is one conditional statement inside the database transaction
//! that writes its outcome; ids are stored as SHA-256 hashes only.

use super::{events::insert_event_query, on_pool, on_reader, NewEvent, Store};
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
    /// The action a step-up sign-in approves (canonical JSON).
    pub action: Option<String>,
    /// `conditional` for a registration started as an automatic upgrade.
    pub mediation: Option<&'static str>,
}

/// A used-up transaction: whose it was, and that user's passkeys as
/// (credential id, webauthn-rs `Passkey` JSON).
pub struct UsedTransaction {
    pub user_id: String,
    /// The user's WebAuthn user handle.
    pub user_handle: Vec<u8>,
    pub external_id: String,
    pub display_name: String,
    pub passkeys: Vec<(Vec<u8>, String)>,
    /// The action a step-up sign-in approves (canonical JSON).
    pub action: Option<String>,
}

/// The row `start_with_transaction` uses up.
#[derive(sqlx::FromRow)]
struct UsedRow {
    user_id: String,
    display_name: String,
    user_handle: Vec<u8>,
    external_id: String,
    action: Option<String>,
}

/// What taking a nonce found.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// Used up: its user, and the action it approves (canonical JSON).
    Nonce {
        external_id: String,
        action: Option<String>,
    },
    /// A live nonce, of another action (or of none): left as it is.
    OtherAction,
    /// No live nonce has this hash.
    Nothing,
}

/// A live handshake, and the stored passkey with the credential id the browser answered with.
#[derive(Debug, sqlx::FromRow)]
pub struct HandshakeRow {
    pub kind: String,
    pub user_id: Option<String>,
    /// The external id of the handshake's user (none for a discoverable sign-in).
    pub user_external_id: Option<String>,
    pub state: String,
    /// The action a step-up sign-in approves (canonical JSON).
    pub action: Option<String>,
    /// `conditional` for a registration started as an automatic upgrade.
    pub mediation: Option<String>,
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
    /// The WebAuthn user handle the passkey was made with: its user's, or its
    /// own if imported; empty when unknown (any is accepted).
    pub user_handle: Option<Vec<u8>>,
}

impl Store {
    /// Stores a transaction and its event.
    pub async fn insert_transaction(
        &self,
        new: &NewTransaction<'_>,
        event: &NewEvent,
    ) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
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
            .execute(&mut *tx)
            .await?;
            insert_event_query(event).execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    /// An authenticate transaction for the user of `external_id`, with its
    /// event, if that user holds a passkey; `false` (nothing written) otherwise.
    pub async fn insert_authenticate_transaction(
        &self,
        app_id: &AppId,
        external_id: &str,
        id_hash: &[u8],
        (now, expires_at): (i64, i64),
        action: Option<&str>,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO transactions (id_hash, app_id, user_id, kind, display_name, created_at, expires_at, action) \
                 SELECT $1, u.app_id, u.id, 'authenticate', u.display_name, $2, $3, $6 FROM users u \
                 WHERE u.app_id = $4 AND u.external_id = $5 \
                 AND EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id)",
            )
            .bind(id_hash)
            .bind(now)
            .bind(expires_at)
            .bind(app_id.as_str())
            .bind(external_id)
            .bind(action)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !inserted {
                return Ok(false);
            }
            insert_event_query(event).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// A handshake that needs no transaction (a discoverable sign-in), and its event.
    pub async fn insert_handshake(
        &self,
        app_id: &AppId,
        new: &NewHandshake,
        now: i64,
        event: &NewEvent,
    ) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            insert_handshake_query(app_id, new, now)
                .execute(&mut *tx)
                .await?;
            insert_event_query(event).execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    /// Uses up a live transaction of this app and kind, hands its user and
    /// passkeys to `prepare`, and stores the handshake and the event `prepare`
    /// makes, in one database transaction: if `prepare` refuses, the
    /// transaction stays unused.
    /// `Ok(None)`: no such live transaction.
    pub async fn start_with_transaction<T, E: From<sqlx::Error>>(
        &self,
        app_id: &AppId,
        id_hash: &[u8],
        kind: &str,
        now: i64,
        prepare: impl FnOnce(UsedTransaction) -> Result<(NewHandshake, NewEvent, T), E>,
    ) -> Result<Option<T>, E> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let used: Option<UsedRow> = sqlx::query_as(
                "UPDATE transactions SET used_at = $1 \
                 WHERE id_hash = $2 AND app_id = $3 AND kind = $4 AND used_at IS NULL AND expires_at > $1 \
                 RETURNING user_id, display_name, \
                 (SELECT u.user_handle FROM users u WHERE u.id = transactions.user_id) AS user_handle, \
                 (SELECT u.external_id FROM users u WHERE u.id = transactions.user_id) AS external_id, action",
            )
            .bind(now)
            .bind(id_hash)
            .bind(app_id.as_str())
            .bind(kind)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(UsedRow {
                user_id,
                display_name,
                user_handle,
                external_id,
                action,
            }) = used
            else {
                return Ok(None);
            };
            let passkeys = sqlx::query_as(
                "SELECT cred_id, credential FROM passkeys WHERE user_id = $1 AND app_id = $2",
            )
            .bind(&user_id)
            .bind(app_id.as_str())
            .fetch_all(&mut *tx)
            .await?;
            let (handshake, event, made) = prepare(UsedTransaction {
                user_id,
                user_handle,
                external_id,
                display_name,
                passkeys,
                action,
            })?;
            insert_handshake_query(app_id, &handshake, now)
                .execute(&mut *tx)
                .await?;
            insert_event_query(&event).execute(&mut *tx).await?;
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
                "SELECT h.kind, h.user_id, hu.external_id AS user_external_id, h.state, h.action, h.mediation, p.id AS passkey_id, \
                 p.user_id AS passkey_user_id, p.credential, u.external_id, \
                 COALESCE(p.user_handle, u.user_handle) AS user_handle FROM handshakes h \
                 LEFT JOIN passkeys p ON p.cred_id = $1 AND p.app_id = h.app_id \
                 LEFT JOIN users u ON u.id = p.user_id \
                 LEFT JOIN users hu ON hu.id = h.user_id \
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

    /// Uses up a live nonce of this app and writes `event` for its user, in one
    /// database transaction: any nonce when `action` is `None`, else only one
    /// that approves exactly that action (canonical JSON). Returns the user's
    /// external id and the nonce's action; [`Taken::OtherAction`] changes nothing.
    pub async fn take_nonce(
        &self,
        app_id: &AppId,
        hash: &[u8],
        now: i64,
        action: Option<&str>,
        mut event: NewEvent,
    ) -> Result<Taken, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let taken: Option<(String, Option<String>)> = sqlx::query_as(
                "DELETE FROM nonces WHERE hash = $1 AND app_id = $2 AND expires_at > $3 \
                 AND ($4 IS NULL OR action = $4) RETURNING external_id, action",
            )
            .bind(hash)
            .bind(app_id.as_str())
            .bind(now)
            .bind(action)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((external_id, action)) = taken else {
                // Tell a live nonce of another action from no nonce at all.
                let live: Option<i32> = sqlx::query_scalar(
                    "SELECT 1 FROM nonces WHERE hash = $1 AND app_id = $2 AND expires_at > $3",
                )
                .bind(hash)
                .bind(app_id.as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                return Ok(match live {
                    Some(_) => Taken::OtherAction,
                    None => Taken::Nothing,
                });
            };
            event.external_id = Some(external_id.clone());
            insert_event_query(&event).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Taken::Nonce {
                external_id,
                action,
            })
        })
    }

    /// Deletes the transactions, handshakes and nonces that have expired.
    pub async fn sweep_expired(&self, now: i64) -> Result<u64, sqlx::Error> {
        let mut swept = 0;
        // A retired signing key has an `expires_at` (a current one none): swept
        // once every token it signed has expired.
        for table in ["handshakes", "nonces", "transactions", "signing_keys"] {
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

pub(super) type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

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
        "INSERT INTO handshakes (id_hash, app_id, kind, transaction_hash, user_id, state, created_at, expires_at, action, mediation) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new.id_hash.as_slice())
    .bind(app_id.as_str())
    .bind(new.kind)
    .bind(new.transaction_hash.as_deref())
    .bind(new.user_id.as_deref())
    .bind(new.state.as_str())
    .bind(now)
    .bind(new.expires_at)
    .bind(new.action.as_deref())
    .bind(new.mediation)
}
