//! The Passkey Flex core: apps and their keys, users, passkeys, and the
//! ceremonies that turn a transaction into a nonce. It knows nothing of HTTP or
//! Leptos: [`Flex`] owns the store and the clock, its methods take typed ids
//! and return typed results or a `FlexError`; adapters (the REST API, the
//! site's in-process backend, the CLI) parse their input once.

pub mod aaguid;
pub mod apps;
pub mod attestation;
mod cache;
pub mod ceremonies;
pub mod clock;
pub mod error;
pub mod events;
pub mod ids;
pub mod operators;
pub mod signing;
pub mod transfer;
pub mod users;
pub mod webhooks;

use std::sync::Arc;

pub use cache::CACHE_TTL_MS;
pub use error::FlexError;

use crate::{metrics::Metrics, store::Store};

/// The core, as one value: cheap to clone, shared by every request of an
/// instance (and its caches with it).
#[derive(Clone, Debug)]
pub struct Flex {
    store: Store,
    clock: clock::Clock,
    cache: Arc<cache::Cache>,
    metrics: Metrics,
    /// Webhooks may reach private addresses (`--webhook-allow-private`).
    webhook_allow_private: bool,
    /// The secret key and issuer of signed results (`with_signing`).
    signing: signing::Signing,
    /// The CAs "attested only" apps trust (`with_attestation_cas`).
    attestation_cas: Arc<webauthn_rs::prelude::AttestationCaList>,
}

impl Flex {
    pub fn new(store: Store, clock: clock::Clock) -> Self {
        Self {
            metrics: Metrics::new(store.clone()),
            store,
            clock,
            cache: Arc::default(),
            webhook_allow_private: false,
            signing: signing::Signing::default(),
            attestation_cas: Arc::new(
                attestation::trusted_cas(None).expect("the bundled attestation CAs parse"),
            ),
        }
    }

    /// Trusts these attestation CAs (the bundled ones and the operator's) for
    /// apps with "attested only" on.
    pub fn with_attestation_cas(self, cas: webauthn_rs::prelude::AttestationCaList) -> Self {
        Self {
            attestation_cas: Arc::new(cas),
            ..self
        }
    }

    pub(crate) fn attestation_cas(&self) -> &webauthn_rs::prelude::AttestationCaList {
        &self.attestation_cas
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &clock::Clock {
        &self.clock
    }

    /// The instance's metrics (`GET /metrics`), which the core counts its ceremonies in.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    fn now(&self) -> clock::Millis {
        self.clock.now()
    }
}
