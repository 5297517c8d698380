//! Transactions, handshakes and nonces: the ceremonies of Passkey Flex.
//!
//! An app's backend creates a transaction for a user; the browser starts a
//! handshake with it (the transaction is used up), answers the WebAuthn
//! challenge, and finishes the handshake for a nonce; the backend verifies the
//! nonce once for the user's external id. Every consume is one conditional
//! statement inside the database transaction that writes its outcome, so two
//! concurrent finishes (or verifies) cannot both succeed, on either engine and
//! across instances. Verification happens before the consume, so a rejected
//! response changes nothing.

use serde_json::Value;
use sqlx::{Any, Row};
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid,
};

use super::{
    aaguid,
    apps::App,
    clock::Millis,
    ids::{DeviceId, DisplayName, ExternalId, HandshakeId, Nonce, TransactionId},
    users::{self, PasskeyKind, PASSKEY_COLUMNS},
    FlexError,
};
use crate::store::Store;

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

/// Creates a register transaction for a user, creating the user if new.
pub async fn create_register_transaction(
    store: &Store,
    app: &App,
    external_id: &ExternalId,
    display_name: &DisplayName,
    now: Millis,
) -> Result<TransactionId, FlexError> {
    let user = users::upsert_user(store, app, external_id, display_name, now).await?;
    insert_transaction(store, app, &user.id, REGISTER, display_name.as_str(), now).await
}

/// Creates an authenticate transaction. A user without passkeys, and an
/// external id Latchkey has never seen, get the same answer.
pub async fn create_authenticate_transaction(
    store: &Store,
    app: &App,
    external_id: &ExternalId,
    now: Millis,
) -> Result<TransactionId, FlexError> {
    let user = users::find_user_by_external_id(store, app, external_id)
        .await?
        .ok_or(FlexError::UserHasNoPasskeys)?;
    if users::list_passkeys(store, app, &user.id).await?.is_empty() {
        return Err(FlexError::UserHasNoPasskeys);
    }
    insert_transaction(store, app, &user.id, AUTHENTICATE, &user.display_name, now).await
}

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

/// Starts adding a passkey: uses up the register transaction, excludes the
/// user's existing passkeys, and asks for a discoverable credential.
pub async fn start_registration(
    store: &Store,
    app: &App,
    transaction_id: &str,
    attachment: Attachment,
    now: Millis,
) -> Result<Handshake, FlexError> {
    let webauthn = app.webauthn()?;
    let mut tx = store.pool().begin().await?;
    let used = consume_transaction(&mut tx, app, transaction_id, REGISTER, now).await?;
    let (user_id, display_name) = (&used.user_id, &used.display_name);
    let exclude = sqlx::query("SELECT cred_id FROM passkeys WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get::<Vec<u8>, _>("cred_id"))
        .collect::<Result<Vec<_>, _>>()?;
    let user_handle =
        Uuid::parse_str(user_id).map_err(|e| anyhow::anyhow!("user id is not a UUID: {e}"))?;
    let (options, state) = webauthn
        .start_passkey_registration(user_handle, display_name, display_name, Some(exclude))
        .map_err(|e| anyhow::anyhow!("could not start a registration: {e}"))?;
    let mut challenge = serde_json::to_value(options)?;
    // Passkeys are discoverable, so that one-click and autofill sign-in find them.
    let selection = &mut challenge["publicKey"]["authenticatorSelection"];
    selection["residentKey"] = "required".into();
    selection["requireResidentKey"] = true.into();
    match attachment {
        Attachment::Platform => selection["authenticatorAttachment"] = "platform".into(),
        Attachment::CrossPlatform => selection["authenticatorAttachment"] = "cross-platform".into(),
        Attachment::Any => {}
    }
    let id = insert_handshake(
        &mut tx,
        app,
        REGISTER,
        used.hash.clone(),
        Some(user_id),
        serde_json::to_string(&state)?,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Handshake { id, challenge })
}

/// Finishes adding a passkey: verifies the attestation, stores the passkey and
/// issues a nonce for its user.
pub async fn finish_registration(
    store: &Store,
    app: &App,
    transaction_id: &str,
    handshake_id: &str,
    response: &RegisterPublicKeyCredential,
    now: Millis,
) -> Result<Nonce, FlexError> {
    let handshake = find_handshake(store, app, handshake_id, Some(transaction_id), now).await?;
    if handshake.kind != REGISTER {
        return Err(FlexError::HandshakeNotFound);
    }
    let user_id = handshake
        .user_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("a register handshake without a user"))?;
    let state: PasskeyRegistration = serde_json::from_str(&handshake.state)?;
    let passkey = app
        .webauthn()?
        .finish_passkey_registration(response, &state)
        .map_err(|e| FlexError::RegistrationFailed(e.to_string()))?;

    let credential = Credential::from(passkey.clone());
    let aaguid = aaguid_of(&response.response.attestation_object);
    // The browser's transport hints, as sent (webauthn-rs keeps them only for trusted attestations).
    let transports: Vec<String> = response
        .response
        .transports
        .iter()
        .flatten()
        .filter_map(|t| serde_json::to_value(t).ok()?.as_str().map(str::to_owned))
        .collect();
    let kind = PasskeyKind::classify(credential.backup_eligible, &transports);
    let friendly_name = aaguid::provider(&aaguid)
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "Passkey".to_owned());

    let mut tx = store.pool().begin().await?;
    consume_handshake(&mut tx, app, &handshake, now).await?;
    let inserted = sqlx::query(
        "INSERT INTO passkeys (id, app_id, user_id, cred_id, credential, friendly_name, aaguid, transports, \
         backup_eligible, backup_state, counter, kind, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(DeviceId::generate().as_str())
    .bind(app.id.as_str())
    .bind(&user_id)
    .bind(credential.cred_id.to_vec())
    .bind(serde_json::to_string(&passkey)?)
    .bind(friendly_name)
    .bind(aaguid)
    .bind(serde_json::to_string(&transports)?)
    .bind(i64::from(credential.backup_eligible))
    .bind(i64::from(credential.backup_state))
    .bind(i64::from(credential.counter))
    .bind(kind.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(FlexError::CredentialAlreadyRegistered)
        }
        other => other?,
    };
    let nonce = insert_nonce(&mut tx, app, &user_id, now).await?;
    tx.commit().await?;
    Ok(nonce)
}

/// The AAGUID in a (verified) attestation object, lower-case and hyphenated;
/// all zeros when the authenticator did not say.
fn aaguid_of(attestation_object: &[u8]) -> String {
    let aaguid = ciborium::from_reader::<ciborium::Value, _>(attestation_object)
        .ok()
        .and_then(|value| {
            value.into_map().ok()?.into_iter().find_map(|(key, value)| {
                (key.as_text() == Some("authData"))
                    .then(|| value.into_bytes().ok())
                    .flatten()
            })
        })
        .filter(|data| data.len() >= 53 && data[32] & 0x40 != 0)
        .and_then(|data| Uuid::from_slice(&data[37..53]).ok())
        .unwrap_or_default();
    aaguid.hyphenated().to_string()
}

/// Starts a sign-in: with a transaction, for that user's passkeys only; without
/// one, a discoverable sign-in (one click, or autofill).
pub async fn start_authentication(
    store: &Store,
    app: &App,
    transaction_id: Option<&str>,
    now: Millis,
) -> Result<Handshake, FlexError> {
    let webauthn = app.webauthn()?;
    let mut tx = store.pool().begin().await?;
    let (id, options) = match transaction_id {
        Some(transaction_id) => {
            let used = consume_transaction(&mut tx, app, transaction_id, AUTHENTICATE, now).await?;
            let passkeys = sqlx::query(&format!(
                "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 AND app_id = $2"
            ))
            .bind(&used.user_id)
            .bind(app.id.as_str())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| users::passkey_from_row(row).and_then(|r| stored_passkey(&r)))
            .collect::<Result<Vec<_>, _>>()?;
            if passkeys.is_empty() {
                return Err(FlexError::UserHasNoPasskeys);
            }
            let (options, state) = webauthn
                .start_passkey_authentication(&passkeys)
                .map_err(|e| anyhow::anyhow!("could not start a sign-in: {e}"))?;
            let id = insert_handshake(
                &mut tx,
                app,
                AUTHENTICATE,
                used.hash,
                Some(&used.user_id),
                serde_json::to_string(&state)?,
                now,
            )
            .await?;
            (id, serde_json::to_value(options)?)
        }
        None => {
            let (options, state) = webauthn
                .start_discoverable_authentication()
                .map_err(|e| anyhow::anyhow!("could not start a sign-in: {e}"))?;
            let id = insert_handshake(
                &mut tx,
                app,
                DISCOVERABLE,
                Vec::new(),
                None,
                serde_json::to_string(&state)?,
                now,
            )
            .await?;
            (id, serde_json::to_value(options)?)
        }
    };
    tx.commit().await?;
    // The browser decides the mediation (modal or autofill); the options are the same.
    let challenge = serde_json::json!({ "publicKey": options["publicKey"] });
    Ok(Handshake { id, challenge })
}

/// Finishes a sign-in: verifies the assertion, updates the passkey (counter,
/// backup state, use) and the user, and issues a nonce, in one database transaction.
pub async fn finish_authentication(
    store: &Store,
    app: &App,
    transaction_id: Option<&str>,
    handshake_id: &str,
    response: &PublicKeyCredential,
    now: Millis,
) -> Result<Nonce, FlexError> {
    let handshake = find_handshake(store, app, handshake_id, transaction_id, now).await?;
    let webauthn = app.webauthn()?;
    let (record, result) = match handshake.kind.as_str() {
        AUTHENTICATE => {
            let user_id = handshake.user_id.as_deref().unwrap_or_default();
            let state: PasskeyAuthentication = serde_json::from_str(&handshake.state)?;
            let result = webauthn
                .finish_passkey_authentication(response, &state)
                .map_err(|e| FlexError::LoginFailed(e.to_string()))?;
            let record = find_passkey_by_cred_id(store, app, result.cred_id())
                .await?
                .filter(|record| record.user_id == user_id)
                .ok_or_else(|| FlexError::LoginFailed("the passkey is not this user's".into()))?;
            (record, result)
        }
        DISCOVERABLE => {
            let state: DiscoverableAuthentication = serde_json::from_str(&handshake.state)?;
            let (user_handle, cred_id) = webauthn
                .identify_discoverable_authentication(response)
                .map_err(|e| FlexError::DiscoverableLoginFailed(e.to_string()))?;
            let record = find_passkey_by_cred_id(store, app, cred_id)
                .await?
                .ok_or_else(|| {
                    FlexError::DiscoverableLoginFailed("the passkey is not registered".into())
                })?;
            if record.user_id != user_handle.to_string() {
                return Err(FlexError::DiscoverableLoginFailed(
                    "the user handle does not own this passkey".into(),
                ));
            }
            let credential = Credential::from(stored_passkey(&record)?);
            let result = webauthn
                .finish_discoverable_authentication_v2(response, state, &credential)
                .map_err(|e| FlexError::DiscoverableLoginFailed(e.to_string()))?;
            (record, result)
        }
        _ => return Err(FlexError::HandshakeNotFound),
    };

    let mut passkey = stored_passkey(&record)?;
    passkey.update_credential(&result);
    let mut tx = store.pool().begin().await?;
    consume_handshake(&mut tx, app, &handshake, now).await?;
    sqlx::query(
        "UPDATE passkeys SET credential = $1, counter = $2, backup_eligible = $3, backup_state = $4, \
         usage_count = usage_count + 1, last_used_at = $5, updated_at = $5 WHERE id = $6",
    )
    .bind(serde_json::to_string(&passkey)?)
    .bind(i64::from(result.counter()))
    .bind(i64::from(result.backup_eligible()))
    .bind(i64::from(result.backup_state()))
    .bind(now)
    .bind(record.id.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE users SET login_count = login_count + 1, last_login_at = $1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&record.user_id)
        .execute(&mut *tx)
        .await?;
    let nonce = insert_nonce(&mut tx, app, &record.user_id, now).await?;
    tx.commit().await?;
    Ok(nonce)
}

async fn find_passkey_by_cred_id(
    store: &Store,
    app: &App,
    cred_id: &[u8],
) -> Result<Option<users::PasskeyRecord>, FlexError> {
    sqlx::query(&format!(
        "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE cred_id = $1 AND app_id = $2"
    ))
    .bind(cred_id.to_vec())
    .bind(app.id.as_str())
    .fetch_optional(store.pool())
    .await?
    .as_ref()
    .map(users::passkey_from_row)
    .transpose()
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

    #[test]
    fn the_aaguid_comes_from_the_attested_credential_data() {
        let mut auth_data = vec![0_u8; 32];
        auth_data.push(0x45); // UP, UV, AT
        auth_data.extend_from_slice(&[0, 0, 0, 0]);
        auth_data.extend_from_slice(&[0xea; 16]);
        let mut object = Vec::new();
        ciborium::into_writer(
            &ciborium::Value::Map(vec![(
                ciborium::Value::Text("authData".into()),
                ciborium::Value::Bytes(auth_data),
            )]),
            &mut object,
        )
        .unwrap();
        assert_eq!(aaguid_of(&object), "eaeaeaea-eaea-eaea-eaea-eaeaeaeaeaea");
        assert_eq!(
            aaguid_of(b"not cbor"),
            "00000000-0000-0000-0000-000000000000"
        );
    }
}
