//! The console's operators: invited by a one-time link (`latchkey admin
//! invite`), they register a passkey in the console's own app through the same
//! ceremonies every app uses, and sign in with it for a console session. An
//! operator is the console app's user whose external id is the operator's id.
//!
//! Invite and session tokens are random, shown once (the link, the cookie) and
//! stored as SHA-256 hashes. An invite is used up by one conditional statement
//! in the database transaction that creates its operator.

use std::sync::Arc;

use super::{
    apps::App,
    clock::Millis,
    events::{self, EventType, Outcome},
    ids::{self, ConsoleToken, DisplayName, ExternalId, Nonce, TransactionId},
    Flex, FlexError,
};
use crate::store::{NewEvent, NewSession, OperatorRow};

/// An operator event (no app: the console's own), about `operator_id` if known.
fn operator_event(event_type: EventType, operator_id: Option<&str>, at: Millis) -> NewEvent {
    NewEvent {
        detail: match operator_id {
            Some(id) => serde_json::json!({ "operator_id": id }),
            None => serde_json::json!({}),
        },
        ..events::success(None, event_type, at)
    }
}

/// How long an invite lives unless `--ttl` says otherwise.
pub const DEFAULT_INVITE_TTL_MS: Millis = 60 * 60 * 1000;
/// The longest an invite may live.
pub const MAX_INVITE_TTL_MS: Millis = 7 * 24 * 60 * 60 * 1000;
/// A console session ends this long after its last request…
pub const SESSION_IDLE_MS: Millis = 2 * 60 * 60 * 1000;
/// …and this long after it began, whatever happens.
pub const SESSION_ABSOLUTE_MS: Millis = 12 * 60 * 60 * 1000;

/// Bytes of randomness in an invite or session token.

#[derive(Clone, Debug)]
pub struct Operator {
    pub id: String,
    pub name: String,
    pub created_at: Millis,
    pub last_sign_in_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    /// Passkeys held in the console's app.
    pub passkeys: i64,
}

impl From<OperatorRow> for Operator {
    fn from(row: OperatorRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_sign_in_at: row.last_sign_in_at,
            revoked_at: row.revoked_at,
            passkeys: row.passkeys,
        }
    }
}

/// What the console refuses, by what the operator does about it.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("This invite link has expired or was used already. Ask for a new one (latchkey admin invite).")]
    InviteInvalid,
    #[error("You are not signed in to the console, or your session ended. Sign in again.")]
    NotSignedIn,
    #[error("That passkey is not an operator's passkey, or its operator was revoked.")]
    NotAnOperator,
    #[error("No operator has this id, or they are revoked already.")]
    NoSuchOperator,
    #[error(transparent)]
    Flex(#[from] FlexError),
}

impl From<sqlx::Error> for OperatorError {
    fn from(error: sqlx::Error) -> Self {
        Self::Flex(error.into())
    }
}

/// A new invite: the token for the link, and when it ends.
#[derive(Debug)]
pub struct Invite {
    pub token: ConsoleToken,
    pub expires_at: Millis,
}

/// A signed-in operator and their new session's token (for the cookie).
#[derive(Debug)]
pub struct SignedIn {
    pub operator: Operator,
    pub session: ConsoleToken,
}

impl Flex {
    /// A one-time invite for an operator called `name`, living `ttl_ms`.
    pub async fn invite_operator(&self, name: &str, ttl_ms: Millis) -> Result<Invite, FlexError> {
        let name = DisplayName::parse("name", name)?;
        if !(1_000..=MAX_INVITE_TTL_MS).contains(&ttl_ms) {
            return Err(FlexError::invalid(format!(
                "an invite lives from 1 second to {} days",
                MAX_INVITE_TTL_MS / 86_400_000
            )));
        }
        let token = ConsoleToken::generate();
        let now = self.now();
        let expires_at = now + ttl_ms;
        let event = NewEvent {
            detail: serde_json::json!({ "name": name.as_str(), "expires_at": expires_at }),
            ..operator_event(EventType::OperatorInvited, None, now)
        };
        self.store
            .insert_invite(&token.hash(), name.as_str(), now, expires_at, &event)
            .await?;
        self.wrote(&event);
        Ok(Invite { token, expires_at })
    }

    /// Records a refused operator step (nothing changed): its own event.
    async fn record_operator_refusal(
        &self,
        event_type: EventType,
        code: &'static str,
        operator_id: Option<&str>,
    ) {
        let event = NewEvent {
            outcome: Outcome::Failure.as_str(),
            code: Some(code),
            ..operator_event(event_type, operator_id, self.now())
        };
        self.write_refusal(&event).await;
    }

    /// The name of a live invite (not used up by looking).
    pub async fn check_invite(&self, token: &str) -> Result<String, OperatorError> {
        self.store
            .find_live_invite(&ids::hash(token), self.now())
            .await?
            .map(|invite| invite.name)
            .ok_or(OperatorError::InviteInvalid)
    }

    /// Starts registering an invited operator's passkey: a register transaction
    /// in the console's app for a new operator id. The invite stays unused
    /// until [`Flex::finish_operator_registration`].
    pub async fn start_operator_registration(
        &self,
        token: &str,
    ) -> Result<(Arc<App>, TransactionId), OperatorError> {
        let name = self.check_invite(token).await?;
        let app = self.console_app().await?;
        let operator_id = ExternalId::parse(&format!("op_{}", ids::random_token(16)))?;
        let display = DisplayName::parse("name", &name)?;
        let transaction = self
            .create_register_transaction(&app, &operator_id, &display)
            .await?;
        Ok((app, transaction))
    }

    /// Finishes an invite: the nonce of the registration names the new
    /// operator's id; the invite is used up, the operator created and signed
    /// in, all in one database transaction. A second use of the invite (even a
    /// concurrent one) is refused, and its passkey left to no operator.
    pub async fn finish_operator_registration(
        &self,
        token: &str,
        nonce: &str,
    ) -> Result<SignedIn, OperatorError> {
        let app = self.console_app().await?;
        let nonce = Nonce::parse(nonce).ok_or(FlexError::InvalidNonce)?;
        let operator_id = self.verify_nonce(&app, &nonce, None).await?.external_id;
        events::Context::set_actor(format!("operator:{operator_id}"));
        let session = ConsoleToken::generate();
        let now = self.now();
        let session_hash = session.hash();
        let registered = operator_event(EventType::OperatorRegistered, Some(&operator_id), now);
        let consumed = self
            .store
            .consume_invite(
                &ids::hash(token),
                &operator_id,
                &NewSession {
                    token_hash: &session_hash,
                    now,
                    expires_at: now + SESSION_ABSOLUTE_MS,
                },
                &registered,
            )
            .await?;
        if consumed.is_some() {
            self.wrote(&registered);
        } else {
            self.record_operator_refusal(
                EventType::OperatorRegistered,
                "invite_invalid",
                Some(&operator_id),
            )
            .await;
            // The passkey just made belongs to no operator: remove it.
            if let Ok(Some(user)) = self
                .find_user_by_external_id(&app, &ExternalId::parse(&operator_id)?)
                .await
            {
                self.revoke_all_passkeys(&app, &user).await?;
            }
            return Err(OperatorError::InviteInvalid);
        }
        let operator = self.operator_of_session(session.as_str()).await?;
        Ok(SignedIn { operator, session })
    }

    /// Signs an operator in with the nonce of a sign-in to the console's app.
    pub async fn operator_sign_in(&self, nonce: &str) -> Result<SignedIn, OperatorError> {
        let app = self.console_app().await?;
        let nonce = Nonce::parse(nonce).ok_or(FlexError::InvalidNonce)?;
        let operator_id = self.verify_nonce(&app, &nonce, None).await?.external_id;
        events::Context::set_actor(format!("operator:{operator_id}"));
        let session = ConsoleToken::generate();
        let now = self.now();
        let session_hash = session.hash();
        let signed_in = operator_event(EventType::OperatorSignedIn, Some(&operator_id), now);
        let started = self
            .store
            .start_console_session(
                &operator_id,
                &NewSession {
                    token_hash: &session_hash,
                    now,
                    expires_at: now + SESSION_ABSOLUTE_MS,
                },
                &signed_in,
            )
            .await?;
        if started.is_some() {
            self.wrote(&signed_in);
        } else {
            self.record_operator_refusal(
                EventType::OperatorSignedIn,
                "not_an_operator",
                Some(&operator_id),
            )
            .await;
            return Err(OperatorError::NotAnOperator);
        }
        let operator = self.operator_of_session(session.as_str()).await?;
        Ok(SignedIn { operator, session })
    }

    /// The operator of a live session; a revoked operator's session is over at once.
    pub async fn operator_of_session(&self, token: &str) -> Result<Operator, OperatorError> {
        let app = self.console_app().await?;
        let now = self.now();
        let operator = self
            .store
            .find_session_operator(&app.id, &ids::hash(token), now, now - SESSION_IDLE_MS)
            .await?
            .map(Operator::from)
            .ok_or(OperatorError::NotSignedIn)?;
        // What the rest of the request changes, this operator did.
        events::Context::set_actor(format!("operator:{}", operator.id));
        Ok(operator)
    }

    pub async fn end_operator_session(&self, token: &str) -> Result<(), FlexError> {
        Ok(self.store.delete_console_session(&ids::hash(token)).await?)
    }

    pub async fn list_operators(&self) -> Result<Vec<Operator>, FlexError> {
        let app = self.console_app().await?;
        Ok(self
            .store
            .list_operators(&app.id)
            .await?
            .into_iter()
            .map(Operator::from)
            .collect())
    }

    /// Revokes an operator: their sessions end and their passkeys go, at once.
    pub async fn revoke_operator(&self, id: &str) -> Result<(), OperatorError> {
        let app = self.console_app().await?;
        let now = self.now();
        let event = operator_event(EventType::OperatorRevoked, Some(id), now);
        if !self.store.revoke_operator(&app.id, id, now, &event).await? {
            return Err(OperatorError::NoSuchOperator);
        }
        self.wrote(&event);
        Ok(())
    }

    /// Deletes expired console sessions and unused invites past their end.
    pub async fn sweep_console(&self) -> Result<u64, FlexError> {
        Ok(self.store.sweep_console(self.now()).await?)
    }
}
