//! Signing in: with an authenticate transaction (identifier-first), or
//! discoverable (one click, or autofill).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use webauthn_rs::prelude::{
    AuthenticationResult, Credential, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PublicKeyCredential,
};

use super::{
    action::{self, Action},
    CeremonyKind, Finished, Handshake,
};
use crate::{
    flex::{
        apps::App,
        events::EventType,
        ids::{ExternalId, HandshakeId, Nonce, TransactionId},
        Flex, FlexError,
    },
    store::{AuthenticationWrite, Finish, NewEvent, NewHandshake},
};

impl Flex {
    /// Creates an authenticate transaction; with an `action`, a step-up whose
    /// sign-in approves exactly that action (`action` module). A user without
    /// passkeys, and an external id Latchkey has never seen, get the same answer.
    pub async fn create_authenticate_transaction(
        &self,
        app: &App,
        external_id: &ExternalId,
        action: Option<&Action>,
    ) -> Result<TransactionId, FlexError> {
        let id = TransactionId::generate();
        let now = self.now();
        let event_type = EventType::TransactionCreated;
        let external_id = external_id.as_str();
        let mut event =
            CeremonyKind::Authenticate.event(&app.id, event_type, Some(external_id), now);
        if let Some(action) = action {
            // The digest, not the action: its contents are the app's business.
            event.detail["action_hash"] = action.digest_text(&id).into();
        }
        let created = self
            .store
            .insert_authenticate_transaction(
                &app.id,
                external_id,
                &id.hash(),
                (now, now + app.transaction_ttl_ms),
                action.map(Action::canonical),
                &event,
            )
            .await
            .map_err(FlexError::from)
            .and_then(|created| created.then_some(id).ok_or(FlexError::UserHasNoPasskeys));
        self.recorded(&app.id, event_type, Some(external_id), created)
            .await
    }

    /// Starts a sign-in: with a transaction, for that user's passkeys only; without
    /// one, a discoverable sign-in (one click, or autofill).
    pub async fn start_authentication(
        &self,
        app: &App,
        transaction: Option<&TransactionId>,
    ) -> Result<Handshake, FlexError> {
        let started = self.try_start_authentication(app, transaction).await;
        self.recorded(&app.id, EventType::HandshakeStarted, None, started)
            .await
    }

    async fn try_start_authentication(
        &self,
        app: &App,
        transaction: Option<&TransactionId>,
    ) -> Result<Handshake, FlexError> {
        let id = HandshakeId::generate();
        let now = self.now();
        let expires_at = now + app.webauthn_timeout_ms;
        let options = match transaction {
            Some(transaction) => {
                let kind = CeremonyKind::Authenticate;
                self.store
                    .start_with_transaction(
                        &app.id,
                        &transaction.hash(),
                        kind.as_str(),
                        now,
                        |used| {
                            let event = kind.event(
                                &app.id,
                                EventType::HandshakeStarted,
                                Some(&used.external_id),
                                now,
                            );
                            let passkeys = used
                                .passkeys
                                .iter()
                                .map(|(_, credential)| serde_json::from_str(credential))
                                .collect::<Result<Vec<Passkey>, _>>()?;
                            if passkeys.is_empty() {
                                return Err(FlexError::UserHasNoPasskeys);
                            }
                            let (mut options, mut state) = app
                                .webauthn()
                                .start_passkey_authentication(&passkeys)
                                .map_err(|e| anyhow::anyhow!("could not start a sign-in: {e}"))?;
                            if let Some(approved) = &used.action {
                                let digest = Action::stored(approved.clone()).digest(transaction);
                                state = action::bind_challenge(&mut options, &state, &digest)?;
                            }
                            let handshake = NewHandshake {
                                id_hash: id.hash(),
                                kind: kind.as_str(),
                                user_id: Some(used.user_id),
                                transaction_hash: Some(transaction.hash()),
                                state: serde_json::to_string(&state)?,
                                expires_at,
                                action: used.action,
                                mediation: None,
                            };
                            Ok((handshake, event, options))
                        },
                    )
                    .await?
                    .ok_or(FlexError::TransactionNotFound)?
            }
            None => {
                let (options, state) = app
                    .webauthn()
                    .start_discoverable_authentication()
                    .map_err(|e| anyhow::anyhow!("could not start a sign-in: {e}"))?;
                let kind = CeremonyKind::Discoverable;
                let handshake = NewHandshake {
                    id_hash: id.hash(),
                    kind: kind.as_str(),
                    user_id: None,
                    transaction_hash: None,
                    state: serde_json::to_string(&state)?,
                    expires_at,
                    action: None,
                    mediation: None,
                };
                let event = kind.event(&app.id, EventType::HandshakeStarted, None, now);
                self.store
                    .insert_handshake(&app.id, &handshake, now, &event)
                    .await?;
                options
            }
        };
        // The browser decides the mediation (modal or autofill); the options are the same.
        let challenge = serde_json::json!({ "publicKey": options.public_key });
        Ok(Handshake { id, challenge })
    }

    /// Finishes a sign-in: verifies the assertion, updates the passkey (counter,
    /// backup state, use) and the user, and issues a nonce, in one database transaction.
    pub async fn finish_authentication(
        &self,
        app: &App,
        transaction: Option<&TransactionId>,
        handshake_id: &HandshakeId,
        response: &PublicKeyCredential,
    ) -> Result<Finished, FlexError> {
        let mut external_id = None;
        let finished = self
            .try_finish_authentication(app, transaction, handshake_id, response, &mut external_id)
            .await;
        let event_type = EventType::AuthenticationFinished;
        let finished = self
            .recorded(&app.id, event_type, external_id.as_deref(), finished)
            .await;
        // Counted in the metrics as `authenticate` with a transaction, else `discoverable`.
        let kind = match transaction {
            Some(_) => CeremonyKind::Authenticate,
            None => CeremonyKind::Discoverable,
        };
        self.counted(kind.as_str(), finished)
    }

    /// `finish_authentication`, naming the user in `external_id` once known
    /// (the transaction's; in a discoverable sign-in, the passkey's owner).
    async fn try_finish_authentication(
        &self,
        app: &App,
        transaction: Option<&TransactionId>,
        handshake_id: &HandshakeId,
        response: &PublicKeyCredential,
        known_user: &mut Option<String>,
    ) -> Result<Finished, FlexError> {
        let cred_id: &[u8] = response.raw_id.as_ref();
        let handshake = self
            .find_handshake(app, handshake_id, transaction, Some(cred_id))
            .await?;
        let (kind, row) = (handshake.kind, handshake.row);
        known_user.clone_from(&row.user_external_id);
        let refused = |why: &str| match kind {
            CeremonyKind::Discoverable => FlexError::DiscoverableLoginFailed(why.into()),
            _ => FlexError::LoginFailed(why.into()),
        };
        let found = &row.passkey;
        let (Some(passkey_id), Some(owner), Some(credential), Some(external_id)) = (
            &found.passkey_id,
            &found.passkey_user_id,
            &found.credential,
            &found.external_id,
        ) else {
            return Err(match kind {
                CeremonyKind::Register => FlexError::HandshakeNotFound,
                CeremonyKind::Authenticate => refused("the passkey is not this user's"),
                // Latchkey does not know this credential: the browser may tell
                // the password manager to drop it (`signalUnknownCredential`).
                CeremonyKind::Discoverable => {
                    FlexError::CredentialNotFound(URL_SAFE_NO_PAD.encode(cred_id))
                }
            });
        };
        if known_user.is_none() {
            known_user.clone_from(&found.external_id);
        }
        let stored: Passkey = serde_json::from_str(credential)?;
        let approved = row.action.map(Action::stored);
        // A step-up's handshake is found with its transaction only (`find_handshake`).
        let step_up = match (&approved, transaction) {
            (Some(action), Some(transaction)) => Some((action, transaction)),
            (Some(_), None) => return Err(refused("a step-up needs its transaction")),
            (None, _) => None,
        };
        let result = verify_assertion(
            app,
            kind,
            (&row.state, step_up),
            row.user_id.as_deref(),
            (owner, found.user_handle.as_deref()),
            &stored,
            response,
        )?;
        if result.cred_id().as_slice() != cred_id {
            return Err(refused("the passkey is not the one that signed"));
        }

        // What was verified must still hold at commit: the passkey is still this
        // user's (not revoked meanwhile), and its counter only moves forward,
        // whatever other sign-ins committed since it was read. Otherwise nothing
        // is written and no nonce is issued.
        let mut passkey = stored;
        passkey.update_credential(&result);
        let nonce = Nonce::generate();
        let now = self.now();
        // Signed before the write: a failure to sign writes nothing, and the
        // token is handed out only if the write commits.
        // A step-up's token names the action it approved by its digest.
        let action_hash = step_up.map(|(action, transaction)| action.digest_text(transaction));
        let signed_result = self
            .sign_result(
                app,
                Some(external_id),
                passkey_id,
                now,
                action_hash.as_deref(),
            )
            .await?;
        let event = NewEvent {
            device_id: Some(passkey_id.clone()),
            ..kind.event(
                &app.id,
                EventType::AuthenticationFinished,
                Some(external_id),
                now,
            )
        };
        let written = self
            .store
            .write_authentication(&AuthenticationWrite {
                handshake_hash: &handshake_id.hash(),
                app_id: &app.id,
                passkey_id,
                user_id: owner,
                external_id,
                credential: &serde_json::to_string(&passkey)?,
                counter: i64::from(result.counter()),
                backup_eligible: result.backup_eligible(),
                backup_state: result.backup_state(),
                nonce_hash: &nonce.hash(),
                nonce_expires_at: now + app.nonce_ttl_ms,
                action: approved.as_ref().map(Action::canonical),
                now,
                event: &event,
            })
            .await?;
        match written {
            Finish::Written => Ok(Finished {
                nonce,
                signed_result,
                // The handle the authenticator keeps the passkey under: the
                // passkey's (its user's, or an imported one's own), else the
                // one it answered with.
                signals: self
                    .webauthn_signals(
                        app,
                        owner,
                        found
                            .user_handle
                            .as_deref()
                            .filter(|h| !h.is_empty())
                            .or(response.get_user_unique_id()),
                    )
                    .await?,
            }),
            Finish::HandshakeGone => Err(FlexError::HandshakeNotFound),
            Finish::UserGone => Err(refused("the user was removed")),
            _ => Err(refused(
                "the passkey was removed, or a newer sign-in with it came first",
            )),
        }
    }
}

/// Verifies an assertion against the handshake's state: for an
/// identifier-first sign-in, the passkey must be the transaction user's, and a
/// step-up's signed challenge must commit to the action it approves (with the
/// transaction it was made for); for a discoverable one, the user handle must own it.
fn verify_assertion(
    app: &App,
    kind: CeremonyKind,
    (state, approved): (&str, Option<(&Action, &TransactionId)>),
    handshake_user: Option<&str>,
    (owner, owner_handle): (&str, Option<&[u8]>),
    stored: &Passkey,
    response: &PublicKeyCredential,
) -> Result<AuthenticationResult, FlexError> {
    match kind {
        CeremonyKind::Authenticate => {
            let state: PasskeyAuthentication = serde_json::from_str(state)?;
            if let Some((action, transaction)) = approved {
                if !action::challenge_commits_to(&state, &action.digest(transaction)) {
                    return Err(FlexError::LoginFailed(
                        "the challenge does not commit to the approved action".into(),
                    ));
                }
            }
            let result = app
                .webauthn()
                .finish_passkey_authentication(response, &state)
                .map_err(|e| FlexError::LoginFailed(e.to_string()))?;
            if handshake_user != Some(owner) {
                return Err(FlexError::LoginFailed(
                    "the passkey is not this user's".into(),
                ));
            }
            Ok(result)
        }
        CeremonyKind::Discoverable => {
            let state: DiscoverableAuthentication = serde_json::from_str(state)?;
            // The handle as bytes, not webauthn-rs's UUID: an imported user's
            // handle may be any bytes.
            let user_handle = response
                .get_user_unique_id()
                .ok_or_else(|| FlexError::DiscoverableLoginFailed("no user handle".into()))?;
            // An imported passkey whose handle its source never kept (empty)
            // is named by its credential id alone, as it was there.
            if owner_handle.is_none_or(|h| !h.is_empty() && h != user_handle) {
                return Err(FlexError::DiscoverableLoginFailed(
                    "the user handle does not own this passkey".into(),
                ));
            }
            app.webauthn()
                .finish_discoverable_authentication_v2(
                    response,
                    state,
                    Credential::from(stored.clone()),
                )
                .map_err(|e| FlexError::DiscoverableLoginFailed(e.to_string()))
        }
        CeremonyKind::Register => Err(FlexError::HandshakeNotFound),
    }
}
