//! The in-process numbers: the same sign-ins through the core without HTTP,
//! the bare webauthn-rs verification (the bound the targets are stated
//! against), each on one core; and the loop `make profile` records.

use std::time::{Duration, Instant};

use latchkey::{
    flex::{
        apps::{App, NewApp},
        ceremonies::{Attachment, Mediation},
        clock::Clock,
        ids::{DisplayName, ExternalId},
        Flex,
    },
    store::Store,
};
use softkey::Authenticator;

use crate::cpu;

const ORIGIN: &str = "http://localhost:3000";

#[derive(Debug)]
pub struct Bounds {
    /// Full discoverable sign-ins per second through the core (SQLite), one core.
    pub discoverable_per_second: f64,
    /// Full identifier-first sign-ins per second through the core (SQLite), one core.
    pub identifier_first_per_second: f64,
    /// `finish_passkey_authentication` calls per second, one core.
    pub webauthn_per_second: f64,
    /// The software passkey's `authenticate` (what the load generator signs with), per second.
    pub softkey_per_second: f64,
}

impl Bounds {
    /// The bare verification, in milliseconds.
    pub fn webauthn_ms(&self) -> f64 {
        1000.0 / self.webauthn_per_second
    }
}

pub async fn measure(duration: Duration) -> anyhow::Result<Bounds> {
    on_one_core(move || async move {
        let mut core = Core::new().await?;
        let discoverable_per_second = core.repeat(true, duration).await?;
        let identifier_first_per_second = core.repeat(false, duration).await?;
        core.close().await;
        Ok(Bounds {
            discoverable_per_second,
            identifier_first_per_second,
            webauthn_per_second: bare_webauthn(),
            softkey_per_second: softkey_signing(),
        })
    })
    .await
}

/// `make profile`: `iterations` discoverable sign-ins through the core on
/// SQLite and nothing else, for `perf record` or callgrind.
pub async fn profile(iterations: u64) -> anyhow::Result<()> {
    on_one_core(move || async move {
        let mut core = Core::new().await?;
        let cpu_before = cpu::used("self");
        let started = Instant::now();
        for _ in 0..iterations {
            core.sign_in(true).await?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let spent = cpu::Spent::between(cpu_before, cpu::used("self"), iterations as usize);
        core.close().await;
        eprintln!(
            "{iterations} discoverable sign-ins in process (SQLite): {:.0}/s, {:.3} ms wall and \
             {:.3} ms CPU each (signing by the software passkey included)",
            iterations as f64 / elapsed,
            elapsed * 1000.0 / iterations as f64,
            spent.ms_per_unit,
        );
        Ok(())
    })
    .await
}

/// Runs `work` on a current-thread runtime of its own (SQLite's worker threads aside).
async fn on_one_core<T, F, Fut>(work: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(work())
    })
    .await?
}

/// Every call into the core's ceremonies is here.
struct Core {
    _dir: tempfile::TempDir,
    flex: Flex,
    app: App,
    user: ExternalId,
    authenticator: Authenticator,
}

impl Core {
    /// A fresh SQLite store, an app, one user with one passkey.
    async fn new() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let store = Store::connect(&format!(
            "sqlite://{}",
            dir.path().join("bound.db").display()
        ))
        .await?;
        let flex = Flex::new(store, Clock::system());
        let (app, _) = flex
            .create_app(&NewApp::parse("bound", &[ORIGIN.to_owned()], None)?)
            .await?;
        let user = ExternalId::parse("user")?;
        let name = DisplayName::parse("name", "user")?;
        let mut authenticator = Authenticator::new();
        let tx = flex.create_register_transaction(&app, &user, &name).await?;
        let handshake = flex
            .start_registration(&app, &tx, Attachment::Any, Mediation::Modal)
            .await?;
        let response = authenticator.register(ORIGIN, &handshake.challenge["publicKey"]);
        let finished = flex
            .finish_registration(&app, &tx, &handshake.id, &serde_json::from_value(response)?)
            .await?;
        flex.verify_nonce(&app, &finished.nonce, None).await?;
        Ok(Self {
            _dir: dir,
            flex,
            app,
            user,
            authenticator,
        })
    }

    /// One full sign-in: (transaction →) start → sign → finish → verify nonce.
    async fn sign_in(&mut self, discoverable: bool) -> anyhow::Result<()> {
        let (flex, app) = (&self.flex, &self.app);
        let tx = if discoverable {
            None
        } else {
            Some(
                flex.create_authenticate_transaction(app, &self.user, None)
                    .await?,
            )
        };
        let handshake = flex.start_authentication(app, tx.as_ref()).await?;
        let response = self
            .authenticator
            .authenticate(ORIGIN, &handshake.challenge["publicKey"]);
        let finished = flex
            .finish_authentication(
                app,
                tx.as_ref(),
                &handshake.id,
                &serde_json::from_value(response)?,
            )
            .await?;
        let external_id = flex
            .verify_nonce(app, &finished.nonce, None)
            .await?
            .external_id;
        anyhow::ensure!(
            external_id == self.user.as_str(),
            "verified to {external_id}"
        );
        Ok(())
    }

    async fn close(self) {
        self.flex.store().close().await;
    }

    /// Sign-ins per second over `duration`.
    async fn repeat(&mut self, discoverable: bool, duration: Duration) -> anyhow::Result<f64> {
        let started = Instant::now();
        let mut count = 0_u64;
        while started.elapsed() < duration {
            self.sign_in(discoverable).await?;
            count += 1;
        }
        Ok(count as f64 / started.elapsed().as_secs_f64())
    }
}

/// The software passkey's assertion (hash, sign, JSON), per second.
fn softkey_signing() -> f64 {
    let mut authenticator = Authenticator::new();
    let options = serde_json::json!({
        "rp": { "id": "localhost" }, "user": { "id": softkey::b64(b"user") },
        "challenge": softkey::b64(&[7; 32]),
    });
    authenticator.register(ORIGIN, &options);
    let options = serde_json::json!({ "rpId": "localhost", "challenge": softkey::b64(&[8; 32]) });
    let started = Instant::now();
    let rounds = 2000;
    for _ in 0..rounds {
        std::hint::black_box(authenticator.authenticate(ORIGIN, &options));
    }
    rounds as f64 / started.elapsed().as_secs_f64()
}

fn bare_webauthn() -> f64 {
    use webauthn_rs::prelude::{Url, WebauthnBuilder};
    let origin = Url::parse(ORIGIN).unwrap();
    let webauthn = WebauthnBuilder::new("localhost", &origin)
        .unwrap()
        .build()
        .unwrap();
    let mut authenticator = Authenticator::new();
    let (options, state) = webauthn
        .start_passkey_registration(uuid::Uuid::new_v4(), "bound", "bound", None)
        .unwrap();
    let response =
        authenticator.register(ORIGIN, &serde_json::to_value(options).unwrap()["publicKey"]);
    let passkey = webauthn
        .finish_passkey_registration(&serde_json::from_value(response).unwrap(), &state)
        .unwrap();
    // Signing is the authenticator's work: prepare the assertions first, then time only the verification.
    let prepared: Vec<_> = (0..3000)
        .map(|_| {
            let (options, state) = webauthn
                .start_passkey_authentication(std::slice::from_ref(&passkey))
                .unwrap();
            let response = authenticator
                .authenticate(ORIGIN, &serde_json::to_value(options).unwrap()["publicKey"]);
            (state, serde_json::from_value(response).unwrap())
        })
        .collect();
    let started = Instant::now();
    for (state, response) in &prepared {
        webauthn
            .finish_passkey_authentication(response, state)
            .expect("a valid assertion");
    }
    prepared.len() as f64 / started.elapsed().as_secs_f64()
}
