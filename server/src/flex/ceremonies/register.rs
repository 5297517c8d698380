//! Adding a passkey: a register transaction, a handshake, an attestation.

use sqlx::{Any, Executor, Row};
use webauthn_rs::prelude::{Credential, PasskeyRegistration, RegisterPublicKeyCredential, Uuid};

use super::{
    consume_handshake, consume_transaction, find_handshake, insert_handshake, insert_nonce,
    insert_transaction, Attachment, Handshake, REGISTER,
};
use crate::{
    flex::{
        aaguid,
        apps::App,
        clock::Millis,
        ids::{DeviceId, DisplayName, ExternalId, Nonce, TransactionId},
        users::{self, PasskeyKind},
        FlexError,
    },
    store::Store,
};

/// Creates a register transaction for a user, creating the user if new; a user
/// who already holds as many passkeys as the app allows is refused (and unchanged).
pub async fn create_register_transaction(
    store: &Store,
    app: &App,
    external_id: &ExternalId,
    display_name: &DisplayName,
    now: Millis,
) -> Result<TransactionId, FlexError> {
    if let Some(user) = users::find_user_by_external_id(store, app, external_id).await? {
        check_passkey_cap(store.pool(), app, &user.id).await?;
    }
    let user = users::upsert_user(store, app, external_id, display_name, now).await?;
    insert_transaction(store, app, &user.id, REGISTER, display_name.as_str(), now).await
}

/// `TooManyPasskeys` when the user already holds the most passkeys the app allows.
async fn check_passkey_cap<'c>(
    executor: impl Executor<'c, Database = Any>,
    app: &App,
    user_id: &str,
) -> Result<(), FlexError> {
    let held: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM passkeys WHERE user_id = $1 AND app_id = $2")
            .bind(user_id)
            .bind(app.id.as_str())
            .fetch_one(executor)
            .await?
            .try_get("n")?;
    if held >= app.max_passkeys_per_user {
        return Err(FlexError::TooManyPasskeys(app.max_passkeys_per_user));
    }
    Ok(())
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
    if exclude.len() as i64 >= app.max_passkeys_per_user {
        return Err(FlexError::TooManyPasskeys(app.max_passkeys_per_user));
    }
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
    // The cap holds under concurrency: the user's row is locked (a no-op update)
    // before counting, so concurrent finishes for one user count one after another.
    let locked =
        sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1 AND app_id = $2")
            .bind(&user_id)
            .bind(app.id.as_str())
            .execute(&mut *tx)
            .await?;
    if locked.rows_affected() != 1 {
        return Err(FlexError::UserNotFound);
    }
    check_passkey_cap(&mut *tx, app, &user_id).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
