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

use app::wire::WebauthnSignals;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::Value;

use super::{
    apps::App,
    clock::Millis,
    events::{self, EventType},
    ids::{AppId, HandshakeId, Nonce, TransactionId},
    Flex, FlexError,
};
use crate::store::{HandshakeRow, NewEvent, NewTransaction, Taken};

pub mod action;
mod authenticate;
mod register;

pub use action::Action;

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

/// How the browser is asked to create a passkey.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mediation {
    /// A dialog the person answers (Passage's only kind).
    #[default]
    Modal,
    /// An automatic upgrade (`mediation: "conditional"`): the password
    /// manager may create the passkey without a dialog, right after a password
    /// sign-in. Nothing is relaxed for it: webauthn-rs 0.6 still requires the
    /// user-present flag (README, "Automatic passkey upgrade").
    Conditional,
}

impl Mediation {
    pub fn parse(text: Option<&str>) -> Result<Self, FlexError> {
        match text {
            None => Ok(Self::Modal),
            Some("conditional") => Ok(Self::Conditional),
            Some(other) => Err(FlexError::invalid(format!(
                "mediation must be conditional or absent, not `{other}`"
            ))),
        }
    }

    /// As a handshake keeps it: `NULL` for a modal registration.
    fn stored(self) -> Option<&'static str> {
        match self {
            Self::Modal => None,
            Self::Conditional => Some("conditional"),
        }
    }
}

/// What a transaction or a handshake is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Adding a passkey.
    Register,
    /// Signing in as the transaction's user (identifier-first).
    Authenticate,
    /// Signing in with whichever passkey the browser offers (no transaction).
    Discoverable,
}

impl CeremonyKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Authenticate => "authenticate",
            Self::Discoverable => "discoverable",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Register, Self::Authenticate, Self::Discoverable]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// The successful event of a step of this ceremony, for the user of
    /// `external_id` (if known), its kind in the detail.
    fn event(
        self,
        app: &AppId,
        event_type: EventType,
        external_id: Option<&str>,
        now: Millis,
    ) -> NewEvent {
        NewEvent {
            external_id: external_id.map(str::to_owned),
            detail: serde_json::json!({ "kind": self.as_str() }),
            ..events::success(Some(app), event_type, now)
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

/// A verified nonce: whose it was, and the action it approved (step-up).
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub external_id: String,
    pub action: Option<Action>,
}

/// What a successful finish answers: the nonce for the app's backend, and the
/// signed result (a JWT) when the app has signed results on.
#[derive(Debug)]
pub struct Finished {
    pub nonce: Nonce,
    pub signed_result: Option<String>,
    /// A sign-in's: what the browser passes to the WebAuthn Signal API.
    pub signals: Option<WebauthnSignals>,
}

/// A live handshake, read (not consumed) before verification.
struct Pending {
    kind: CeremonyKind,
    row: HandshakeRow,
}

impl Flex {
    async fn insert_transaction(
        &self,
        app: &App,
        (user_id, external_id): (&str, &str),
        kind: CeremonyKind,
        display_name: &str,
    ) -> Result<TransactionId, FlexError> {
        let id = TransactionId::generate();
        let now = self.now();
        self.store
            .insert_transaction(
                &NewTransaction {
                    id_hash: &id.hash(),
                    app_id: &app.id,
                    user_id,
                    kind: kind.as_str(),
                    display_name,
                    now,
                    expires_at: now + app.transaction_ttl_ms,
                },
                &kind.event(
                    &app.id,
                    EventType::TransactionCreated,
                    Some(external_id),
                    now,
                ),
            )
            .await?;
        Ok(id)
    }

    /// The live handshake of this app (and of this transaction, or of none),
    /// with the passkey of `cred_id` if it is this app's.
    async fn find_handshake(
        &self,
        app: &App,
        id: &HandshakeId,
        transaction: Option<&TransactionId>,
        cred_id: Option<&[u8]>,
    ) -> Result<Pending, FlexError> {
        let transaction_hash = transaction.map(TransactionId::hash);
        let row = self
            .store
            .find_handshake(
                &app.id,
                &id.hash(),
                transaction_hash.as_deref(),
                cred_id,
                self.now(),
            )
            .await?
            .ok_or(FlexError::HandshakeNotFound)?;
        let kind = CeremonyKind::parse(&row.kind)
            .ok_or_else(|| anyhow::anyhow!("stored handshake kind {} is unknown", row.kind))?;
        Ok(Pending { kind, row })
    }

    /// What the WebAuthn Signal API takes for a user of this app: their user
    /// handle (`handle`, else their own), names, and every credential id they
    /// still have. `None` for no such user. Only for the user who just proved
    /// possession of one of their passkeys, or for the app's backend.
    pub async fn webauthn_signals(
        &self,
        app: &App,
        user_id: &str,
        handle: Option<&[u8]>,
    ) -> Result<Option<WebauthnSignals>, FlexError> {
        let rows = self.store.user_credentials(&app.id, user_id).await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let user_handle = handle.unwrap_or(&first.user_handle);
        Ok(Some(WebauthnSignals {
            rp_id: app.rp_id.clone(),
            user_id: URL_SAFE_NO_PAD.encode(user_handle),
            name: first.display_name.clone(),
            display_name: first.display_name.clone(),
            all_accepted_credential_ids: rows
                .iter()
                .filter_map(|row| row.cred_id.as_deref())
                .map(|id| URL_SAFE_NO_PAD.encode(id))
                .collect(),
        }))
    }

    /// Trades a nonce, once, for the external id of its user and the action it
    /// approves (none for a plain sign-in). With `expected`, only a nonce that
    /// approves exactly that action is taken; any other answers
    /// `ActionMismatch` and stays as it is.
    pub async fn verify_nonce(
        &self,
        app: &App,
        nonce: &Nonce,
        expected: Option<&Action>,
    ) -> Result<Verified, FlexError> {
        let now = self.now();
        let mut event = events::success(Some(&app.id), EventType::NonceVerified, now);
        if expected.is_some() {
            event.detail = serde_json::json!({ "step_up": true });
        }
        let taken = self
            .store
            .take_nonce(
                &app.id,
                &nonce.hash(),
                now,
                expected.map(Action::canonical),
                event,
            )
            .await
            .map_err(FlexError::from)
            .and_then(|taken| match taken {
                Taken::Nonce {
                    external_id,
                    action,
                } => Ok(Verified {
                    external_id,
                    action: action.map(Action::stored),
                }),
                Taken::OtherAction => Err(FlexError::ActionMismatch),
                Taken::Nothing => Err(FlexError::InvalidNonce),
            });
        let verified = self
            .recorded(&app.id, EventType::NonceVerified, None, taken)
            .await;
        self.counted("nonce", verified)
    }

    /// Counts a ceremony's outcome (`metrics::Metrics::ceremony`) and passes it on.
    fn counted<T>(
        &self,
        kind: &'static str,
        outcome: Result<T, FlexError>,
    ) -> Result<T, FlexError> {
        self.metrics
            .ceremony(kind, outcome.as_ref().err().map(FlexError::code));
        outcome
    }

    /// Deletes what has expired; run periodically. Returns how many rows went.
    pub async fn sweep_expired(&self) -> Result<u64, FlexError> {
        Ok(self.store.sweep_expired(self.now()).await?)
    }
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
    fn ceremony_kinds_read_back_as_written() {
        for kind in [
            CeremonyKind::Register,
            CeremonyKind::Authenticate,
            CeremonyKind::Discoverable,
        ] {
            assert_eq!(CeremonyKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(CeremonyKind::parse(""), None);
    }
}
