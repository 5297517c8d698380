//! Transactions, handshakes and nonces: the ceremonies of Passkey Flex.
//!
//! An app's backend creates a transaction for a user; the browser starts a
//! handshake with it (the transaction is used up), answers the WebAuthn
//! challenge, and finishes the handshake for a nonce; the backend verifies the
//! nonce once for the user's external id. Every consume is one conditional
//! statement inside the database transaction that writes its outcome, so two
//! concurrent finishes (or verifies) cannot both succeed, on either engine and
//! across instances. Verification happens before the consume, so a rejected
//! response changes nothing. What verification read (the passkey, its counter,
//! the user's passkey count) is checked again by the conditional writes of that
//! same database transaction: if it no longer holds at commit, the transaction
//! rolls back, the handshake stays unconsumed (until it expires) and no nonce is
//! issued.

use serde_json::Value;
use sqlx::{Any, Row};
use webauthn_rs::prelude::Passkey;

use super::{
    apps::App,
    clock::Millis,
    ids::{HandshakeId, Nonce, TransactionId},
    users, FlexError,
};
use crate::store::Store;

mod authenticate;
mod register;

pub use authenticate::{
    create_authenticate_transaction, finish_authentication, start_authentication,
};
pub use register::{create_register_transaction, finish_registration, start_registration};

/// Which authenticators a registration asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Attachment {
    Platform,
    CrossPlatform,
    #[default]
    Any,
}

impl Attachment {
    pub fn parse(text: Option<&str>) -> Result<Self, FlexError> {
        match text {
            None | Some("any") => Ok(Self::Any),
            Some("platform") => Ok(Self::Platform),
            Some("cross-platform") => Ok(Self::CrossPlatform),
            Some(other) => Err(FlexError::invalid(format!(
                "authenticator_attachment must be platform, cross-platform or any, not `{other}`"
            ))),
        }
    }
}

/// A started ceremony: its id, and the options for `navigator.credentials`
/// as JSON (`{"publicKey": {...}}`, binary fields in base64url).
#[derive(Debug)]
pub struct Handshake {
    pub id: HandshakeId,
    pub challenge: Value,
}

const REGISTER: &str = "register";
const AUTHENTICATE: &str = "authenticate";
const DISCOVERABLE: &str = "discoverable";

async fn insert_transaction(
    store: &Store,
    app: &App,
    user_id: &str,
    kind: &str,
    display_name: &str,
    now: Millis,
) -> Result<TransactionId, FlexError> {
    let id = TransactionId::generate();
    sqlx::query(
        "INSERT INTO transactions (id_hash, app_id, user_id, kind, display_name, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.hash())
    .bind(app.id.as_str())
    .bind(user_id)
    .bind(kind)
    .bind(display_name)
    .bind(now)
    .bind(now + app.transaction_ttl_ms)
    .execute(store.pool())
    .await?;
    Ok(id)
}

/// A transaction, used up: whose it was, and its hash (which the handshake keeps).
struct UsedTransaction {
    hash: Vec<u8>,
    user_id: String,
    display_name: String,
}

/// Uses up a live transaction of this app and kind.
async fn consume_transaction(
    tx: &mut sqlx::Transaction<'_, Any>,
    app: &App,
    transaction_id: &str,
    kind: &str,
    now: Millis,
) -> Result<UsedTransaction, FlexError> {
    let hash = TransactionId::parse(transaction_id)
        .ok_or(FlexError::TransactionNotFound)?
        .hash();
    let row = sqlx::query(
        "UPDATE transactions SET used_at = $1 \
         WHERE id_hash = $2 AND app_id = $3 AND kind = $4 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id, display_name",
    )
    .bind(now)
    .bind(&hash)
    .bind(app.id.as_str())
    .bind(kind)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(FlexError::TransactionNotFound)?;
    Ok(UsedTransaction {
        hash,
        user_id: row.try_get("user_id")?,
        display_name: row.try_get("display_name")?,
    })
}

async fn insert_handshake(
    tx: &mut sqlx::Transaction<'_, Any>,
    app: &App,
    kind: &str,
    transaction_hash: Vec<u8>,
    user_id: Option<&str>,
    state: String,
    now: Millis,
) -> Result<HandshakeId, FlexError> {
    let id = HandshakeId::generate();
    sqlx::query(
        "INSERT INTO handshakes (id_hash, app_id, kind, transaction_hash, user_id, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.hash())
    .bind(app.id.as_str())
    .bind(kind)
    .bind(transaction_hash)
    .bind(user_id)
    .bind(state)
    .bind(now)
    .bind(now + app.webauthn_timeout_ms)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A live handshake of this app, read (not consumed) before verification.
struct PendingHandshake {
    id_hash: Vec<u8>,
    kind: String,
    user_id: Option<String>,
    state: String,
}

async fn find_handshake(
    store: &Store,
    app: &App,
    handshake_id: &str,
    transaction_id: Option<&str>,
    now: Millis,
) -> Result<PendingHandshake, FlexError> {
    let id = HandshakeId::parse(handshake_id).ok_or(FlexError::HandshakeNotFound)?;
    let transaction_hash = match transaction_id {
        Some(t) => TransactionId::parse(t)
            .ok_or(FlexError::HandshakeNotFound)?
            .hash(),
        None => Vec::new(),
    };
    let row = sqlx::query(
        "SELECT kind, user_id, state FROM handshakes \
         WHERE id_hash = $1 AND app_id = $2 AND transaction_hash = $3 AND expires_at > $4",
    )
    .bind(id.hash())
    .bind(app.id.as_str())
    .bind(transaction_hash)
    .bind(now)
    .fetch_optional(store.pool())
    .await?
    .ok_or(FlexError::HandshakeNotFound)?;
    Ok(PendingHandshake {
        id_hash: id.hash(),
        kind: row.try_get("kind")?,
        user_id: row.try_get("user_id")?,
        state: row.try_get("state")?,
    })
}

/// Uses up a handshake inside the transaction that records its outcome.
async fn consume_handshake(
    tx: &mut sqlx::Transaction<'_, Any>,
    app: &App,
    handshake: &PendingHandshake,
    now: Millis,
) -> Result<(), FlexError> {
    let deleted = sqlx::query(
        "DELETE FROM handshakes WHERE id_hash = $1 AND app_id = $2 AND expires_at > $3",
    )
    .bind(&handshake.id_hash)
    .bind(app.id.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if deleted.rows_affected() != 1 {
        return Err(FlexError::HandshakeNotFound);
    }
    Ok(())
}

async fn insert_nonce(
    tx: &mut sqlx::Transaction<'_, Any>,
    app: &App,
    user_id: &str,
    now: Millis,
) -> Result<Nonce, FlexError> {
    let nonce = Nonce::generate();
    sqlx::query("INSERT INTO nonces (hash, app_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(nonce.hash())
        .bind(app.id.as_str())
        .bind(user_id)
        .bind(now)
        .bind(now + app.nonce_ttl_ms)
        .execute(&mut **tx)
        .await?;
    Ok(nonce)
}

fn stored_passkey(record: &users::PasskeyRecord) -> Result<Passkey, FlexError> {
    Ok(serde_json::from_str(&record.credential)?)
}

/// Trades a nonce, once, for the external id of its user.
pub async fn verify_nonce(
    store: &Store,
    app: &App,
    nonce: &str,
    now: Millis,
) -> Result<String, FlexError> {
    let nonce = Nonce::parse(nonce).ok_or(FlexError::InvalidNonce)?;
    let row = sqlx::query(
        "DELETE FROM nonces WHERE hash = $1 AND app_id = $2 AND expires_at > $3 RETURNING user_id",
    )
    .bind(nonce.hash())
    .bind(app.id.as_str())
    .bind(now)
    .fetch_optional(store.pool())
    .await?
    .ok_or(FlexError::InvalidNonce)?;
    let user_id: String = row.try_get("user_id")?;
    Ok(users::find_user(store, app, &user_id).await?.external_id)
}

/// Deletes what has expired; run periodically. Returns how many rows went.
pub async fn sweep_expired(store: &Store, now: Millis) -> Result<u64, FlexError> {
    let mut swept = 0;
    for table in ["handshakes", "nonces", "transactions"] {
        swept += sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= $1"))
            .bind(now)
            .execute(store.pool())
            .await?
            .rows_affected();
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_parse_as_passage_names_them() {
        assert_eq!(Attachment::parse(None).unwrap(), Attachment::Any);
        assert_eq!(
            Attachment::parse(Some("platform")).unwrap(),
            Attachment::Platform
        );
        assert_eq!(
            Attachment::parse(Some("cross-platform")).unwrap(),
            Attachment::CrossPlatform
        );
        assert!(Attachment::parse(Some("usb")).is_err());
    }
}
