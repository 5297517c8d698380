//! Adding a passkey: a register transaction, a handshake, an attestation.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    AttestedPasskeyRegistration, Credential, Passkey, PasskeyRegistration,
    RegisterPublicKeyCredential, Uuid, WebauthnError,
};

use super::{Attachment, CeremonyKind, Finished, Handshake, Mediation};
use crate::{
    flex::{
        aaguid,
        apps::App,
        events::EventType,
        ids::{DeviceId, DisplayName, ExternalId, HandshakeId, Nonce, TransactionId},
        users::PasskeyKind,
        Flex, FlexError,
    },
    store::{Finish, NewEvent, NewHandshake, NewPasskey, RegistrationWrite},
};

impl Flex {
    /// Creates a register transaction for a user, creating the user if new; a user
    /// who already holds as many passkeys as the app allows is refused (and unchanged).
    pub async fn create_register_transaction(
        &self,
        app: &App,
        external_id: &ExternalId,
        display_name: &DisplayName,
    ) -> Result<TransactionId, FlexError> {
        let created = async {
            let held = self
                .store
                .count_passkeys_of(&app.id, external_id.as_str())
                .await?;
            if held >= app.max_passkeys_per_user {
                return Err(FlexError::TooManyPasskeys(app.max_passkeys_per_user));
            }
            let user_id = self
                .store
                .upsert_user(
                    &app.id,
                    &Uuid::new_v4().to_string(),
                    external_id.as_str(),
                    display_name.as_str(),
                    self.now(),
                )
                .await?;
            self.insert_transaction(
                app,
                (&user_id, external_id.as_str()),
                CeremonyKind::Register,
                display_name.as_str(),
            )
            .await
        }
        .await;
        let external_id = Some(external_id.as_str());
        self.recorded(&app.id, EventType::TransactionCreated, external_id, created)
            .await
    }

    /// Starts adding a passkey: uses up the register transaction, excludes the
    /// user's existing passkeys, and asks for a discoverable credential. The
    /// handshake remembers whether it is an automatic upgrade (`mediation`).
    pub async fn start_registration(
        &self,
        app: &App,
        transaction: &TransactionId,
        attachment: Attachment,
        mediation: Mediation,
    ) -> Result<Handshake, FlexError> {
        let id = HandshakeId::generate();
        let now = self.now();
        let kind = CeremonyKind::Register;
        let started = self
            .store
            .start_with_transaction(&app.id, &transaction.hash(), kind.as_str(), now, |used| {
                let event = kind.event(
                    &app.id,
                    EventType::HandshakeStarted,
                    Some(&used.external_id),
                    now,
                );
                if used.passkeys.len() as i64 >= app.max_passkeys_per_user {
                    return Err(FlexError::TooManyPasskeys(app.max_passkeys_per_user));
                }
                let user_handle = Uuid::parse_str(&used.user_id)
                    .map_err(|e| anyhow::anyhow!("user id is not a UUID: {e}"))?;
                let exclude = used
                    .passkeys
                    .into_iter()
                    .map(|(cred_id, _)| cred_id)
                    .collect();
                let name = &used.display_name;
                let webauthn = app.webauthn();
                let (options, state) = match app.policy.attested_only {
                    // Attestation `direct`, to be verified against the trusted CAs.
                    true => webauthn
                        .start_attested_passkey_registration(
                            user_handle,
                            name,
                            name,
                            Some(exclude),
                            self.attestation_cas().clone(),
                            None,
                        )
                        .map(|(options, state)| (options, RegistrationState::Attested(state))),
                    false => webauthn
                        .start_passkey_registration(user_handle, name, name, Some(exclude))
                        .map(|(options, state)| (options, RegistrationState::Plain(state))),
                }
                .map_err(|e| anyhow::anyhow!("could not start a registration: {e}"))?;
                let mut challenge = serde_json::to_value(options)?;
                // The user's own handle (an imported user's may not be a UUID),
                // so that every passkey of one user carries the same handle.
                challenge["publicKey"]["user"]["id"] =
                    URL_SAFE_NO_PAD.encode(&used.user_handle).into();
                // Passkeys are discoverable, so that one-click and autofill sign-in find them.
                let selection = &mut challenge["publicKey"]["authenticatorSelection"];
                selection["residentKey"] = "required".into();
                selection["requireResidentKey"] = true.into();
                match attachment {
                    Attachment::Platform => {
                        selection["authenticatorAttachment"] = "platform".into()
                    }
                    Attachment::CrossPlatform => {
                        selection["authenticatorAttachment"] = "cross-platform".into()
                    }
                    Attachment::Any => {}
                }
                let handshake = NewHandshake {
                    id_hash: id.hash(),
                    kind: kind.as_str(),
                    user_id: Some(used.user_id),
                    transaction_hash: Some(transaction.hash()),
                    state: serde_json::to_string(&state)?,
                    expires_at: now + app.webauthn_timeout_ms,
                    action: None,
                    mediation: mediation.stored(),
                };
                Ok((handshake, event, challenge))
            })
            .await
            .and_then(|started| started.ok_or(FlexError::TransactionNotFound))
            .map(|challenge| Handshake { id, challenge });
        self.recorded(&app.id, EventType::HandshakeStarted, None, started)
            .await
    }

    /// Finishes adding a passkey: verifies the attestation, stores the passkey and
    /// issues a nonce for its user.
    pub async fn finish_registration(
        &self,
        app: &App,
        transaction: &TransactionId,
        handshake_id: &HandshakeId,
        response: &RegisterPublicKeyCredential,
    ) -> Result<Finished, FlexError> {
        let mut external_id = None;
        let finished = self
            .try_finish_registration(app, transaction, handshake_id, response, &mut external_id)
            .await;
        let event_type = EventType::RegistrationFinished;
        let finished = self
            .recorded(&app.id, event_type, external_id.as_deref(), finished)
            .await;
        self.counted(CeremonyKind::Register.as_str(), finished)
    }

    /// `finish_registration`, naming the user in `external_id` once known.
    async fn try_finish_registration(
        &self,
        app: &App,
        transaction: &TransactionId,
        handshake_id: &HandshakeId,
        response: &RegisterPublicKeyCredential,
        external_id: &mut Option<String>,
    ) -> Result<Finished, FlexError> {
        let handshake = self
            .find_handshake(app, handshake_id, Some(transaction), None)
            .await?;
        if handshake.kind != CeremonyKind::Register {
            return Err(FlexError::HandshakeNotFound);
        }
        external_id.clone_from(&handshake.row.user_external_id);
        let user_id = handshake
            .row
            .user_id
            .ok_or_else(|| anyhow::anyhow!("a register handshake without a user"))?;
        let state: RegistrationState = serde_json::from_str(&handshake.row.state)?;
        let mediation = Mediation::parse(handshake.row.mediation.as_deref())
            .map_err(|_| anyhow::anyhow!("stored mediation is unknown"))?;
        let conditional = mediation == Mediation::Conditional;
        // webauthn-rs 0.6 requires the user-present flag of every registration
        // (webauthn-rs-core 0.6.2, src/core.rs, `register_credential_internal`),
        // so an automatic upgrade whose password manager leaves it clear is
        // refused like any other: the browser then offers the visible "Add a passkey".
        let refused = |e: WebauthnError| match e {
            WebauthnError::UserNotPresent if conditional => FlexError::RegistrationFailed(
                "an automatic upgrade without user presence: webauthn-rs 0.6 cannot verify it"
                    .into(),
            ),
            e => FlexError::RegistrationFailed(e.to_string()),
        };
        let passkey: Passkey = match &state {
            RegistrationState::Plain(state) => app
                .webauthn()
                .finish_passkey_registration(response, state)
                .map_err(refused)?,
            // Stored as the same `Passkey` record as any other, so sign-in,
            // export and import read it alike.
            RegistrationState::Attested(state) => app
                .webauthn()
                .finish_attested_passkey_registration(response, state)
                .map(Passkey::from)
                .map_err(|e| attestation_refused(e, refused))?,
        };

        let credential = Credential::from(passkey.clone());
        let aaguid = aaguid_of(&response.response.attestation_object);
        // Checked after webauthn-rs's verification: without a trusted
        // attestation, the AAGUID is what the authenticator says it is.
        if !app.policy.admits(&aaguid) {
            return Err(FlexError::AuthenticatorNotAllowed(format!(
                "AAGUID {aaguid} is {} by the app's policy",
                match app.policy.mode {
                    crate::flex::apps::AaguidMode::Allow => "not on the allow-list",
                    _ => "on the deny-list",
                }
            )));
        }
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
        let nonce = Nonce::generate();
        let now = self.now();
        let device_id = DeviceId::generate();
        // Signed before the write: a failure to sign writes nothing, and the
        // token is handed out only if the write commits.
        let signed_result = self
            .sign_result(app, external_id.as_deref(), device_id.as_str(), now, None)
            .await?;
        let mut detail = serde_json::json!({ "aaguid": aaguid, "kind": kind.as_str() });
        if let Some(stored) = mediation.stored() {
            detail["mediation"] = stored.into();
        }
        let event = NewEvent {
            device_id: Some(device_id.as_str().to_owned()),
            detail,
            ..CeremonyKind::Register.event(
                &app.id,
                EventType::RegistrationFinished,
                external_id.as_deref(),
                now,
            )
        };
        let written = self
            .store
            .write_registration(&RegistrationWrite {
                handshake_hash: &handshake_id.hash(),
                app_id: &app.id,
                max_passkeys_per_user: app.max_passkeys_per_user,
                passkey: NewPasskey {
                    id: &device_id,
                    user_id: &user_id,
                    cred_id: credential.cred_id.as_ref(),
                    credential: &serde_json::to_string(&passkey)?,
                    friendly_name: &friendly_name,
                    aaguid: &aaguid,
                    transports: &transports,
                    backup_eligible: credential.backup_eligible,
                    backup_state: credential.backup_state,
                    counter: i64::from(credential.counter),
                    kind: kind.as_str(),
                },
                nonce_hash: &nonce.hash(),
                nonce_expires_at: now + app.nonce_ttl_ms,
                now,
                event: &event,
            })
            .await?;
        match written {
            Finish::Written => Ok(Finished {
                nonce,
                signed_result,
                signals: None,
            }),
            Finish::HandshakeGone => Err(FlexError::HandshakeNotFound),
            Finish::UserGone => Err(FlexError::UserNotFound),
            Finish::TooManyPasskeys => Err(FlexError::TooManyPasskeys(app.max_passkeys_per_user)),
            Finish::CredentialTaken => Err(FlexError::CredentialAlreadyRegistered),
            Finish::PasskeyChanged => {
                Err(anyhow::anyhow!("a registration updated a passkey").into())
            }
        }
    }
}

/// A registration's state as its handshake keeps it: plain (any attestation,
/// none asked for), or attested (attestation `direct`, and the CAs trusted when
/// it started). A plain state has no `ca_list`, so it never reads as attested.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum RegistrationState {
    Attested(AttestedPasskeyRegistration),
    Plain(PasskeyRegistration),
}

/// Why webauthn-rs refused an attested registration: a missing, self-made,
/// untrusted or synced-passkey attestation is the app's policy refusing the
/// authenticator; anything else (a bad signature, a wrong challenge) is a
/// failed registration as without the policy.
fn attestation_refused(
    error: WebauthnError,
    otherwise: impl FnOnce(WebauthnError) -> FlexError,
) -> FlexError {
    match error {
        WebauthnError::AttestationNotVerifiable
        | WebauthnError::AttestationNotSupported
        | WebauthnError::AttestationTrustFailure
        | WebauthnError::AttestationChainNotTrusted(_)
        | WebauthnError::AttestationUntrustedAaguid
        | WebauthnError::AttestationFormatMissingAaguid
        | WebauthnError::AttestationCertificateTrustStoreEmpty
        | WebauthnError::MissingAttestationCaList
        | WebauthnError::CredentialMayNotBeHardwareBound => {
            FlexError::AuthenticatorNotAllowed(format!("attestation not trusted: {error}"))
        }
        other => otherwise(other),
    }
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
