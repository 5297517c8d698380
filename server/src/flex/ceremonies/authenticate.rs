//! Signing in: with an authenticate transaction (identifier-first), or
//! discoverable (one click, or autofill).

use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, PasskeyAuthentication, PublicKeyCredential,
};

use super::{
    consume_handshake, consume_transaction, find_handshake, insert_handshake, insert_nonce,
    insert_transaction, stored_passkey, Handshake, AUTHENTICATE, DISCOVERABLE,
};
use crate::{
    flex::{
        apps::App,
        clock::Millis,
        ids::{ExternalId, Nonce, TransactionId},
        users::{self, PASSKEY_COLUMNS},
        FlexError,
    },
    store::Store,
};

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

    // What was verified must still hold at commit: the passkey is still this
    // user's (not revoked meanwhile), and its counter only moves forward (both
    // zero is webauthn-rs's "no counter"), whatever other sign-ins committed
    // since it was read. Otherwise nothing is written and no nonce is issued.
    let refused = |why: &str| match handshake.kind.as_str() {
        DISCOVERABLE => FlexError::DiscoverableLoginFailed(why.into()),
        _ => FlexError::LoginFailed(why.into()),
    };
    let mut passkey = stored_passkey(&record)?;
    passkey.update_credential(&result);
    let counter = i64::from(result.counter());
    let mut tx = store.pool().begin().await?;
    consume_handshake(&mut tx, app, &handshake, now).await?;
    let updated = sqlx::query(
        "UPDATE passkeys SET credential = $1, counter = $2, backup_eligible = $3, backup_state = $4, \
         usage_count = usage_count + 1, last_used_at = $5, updated_at = $5 \
         WHERE id = $6 AND app_id = $7 AND user_id = $8 AND (counter < $2 OR (counter = 0 AND $2 = 0))",
    )
    .bind(serde_json::to_string(&passkey)?)
    .bind(counter)
    .bind(i64::from(result.backup_eligible()))
    .bind(i64::from(result.backup_state()))
    .bind(now)
    .bind(record.id.as_str())
    .bind(app.id.as_str())
    .bind(&record.user_id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        tx.rollback().await?;
        return Err(refused(
            "the passkey was removed, or a newer sign-in with it came first",
        ));
    }
    let updated = sqlx::query(
        "UPDATE users SET login_count = login_count + 1, last_login_at = $1, updated_at = $1 \
         WHERE id = $2 AND app_id = $3",
    )
    .bind(now)
    .bind(&record.user_id)
    .bind(app.id.as_str())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        tx.rollback().await?;
        return Err(refused("the user was removed"));
    }
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
