//! The in-process bound: the same sign-in through the core without HTTP, and
//! the bare webauthn-rs verification, each on one core.

use std::time::{Duration, Instant};

use latchkey::{
    flex::{
        apps::{create_app, NewApp},
        ceremonies::{self, Attachment},
        ids::{DisplayName, ExternalId},
    },
    store::Store,
};
use softkey::Authenticator;

const ORIGIN: &str = "http://localhost:3000";

#[derive(Debug)]
pub struct Bounds {
    /// Full sign-in ceremonies per second through the core (SQLite), one core.
    pub core_per_second: f64,
    /// `finish_passkey_authentication` calls per second, one core.
    pub webauthn_per_second: f64,
}

pub async fn measure(duration: Duration) -> anyhow::Result<Bounds> {
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            Ok(Bounds {
                core_per_second: core(duration).await?,
                webauthn_per_second: bare_webauthn(),
            })
        })
    })
    .await?
}

async fn core(duration: Duration) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("bound.db").display()
    ))
    .await?;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    let (app, _) = create_app(
        &store,
        &NewApp::parse("bound", &[ORIGIN.to_owned()], None)?,
        now(),
    )
    .await?;
    let user = ExternalId::parse("user")?;
    let name = DisplayName::parse("name", "user")?;
    let mut authenticator = Authenticator::new();
    let tx = ceremonies::create_register_transaction(&store, &app, &user, &name, now()).await?;
    let handshake =
        ceremonies::start_registration(&store, &app, tx.as_str(), Attachment::Any, now()).await?;
    let response = authenticator.register(ORIGIN, &handshake.challenge["publicKey"]);
    ceremonies::finish_registration(
        &store,
        &app,
        tx.as_str(),
        handshake.id.as_str(),
        &serde_json::from_value(response)?,
        now(),
    )
    .await?;

    let started = Instant::now();
    let mut count = 0_u64;
    while started.elapsed() < duration {
        let tx = ceremonies::create_authenticate_transaction(&store, &app, &user, now()).await?;
        let handshake =
            ceremonies::start_authentication(&store, &app, Some(tx.as_str()), now()).await?;
        let response = authenticator.authenticate(ORIGIN, &handshake.challenge["publicKey"]);
        let nonce = ceremonies::finish_authentication(
            &store,
            &app,
            Some(tx.as_str()),
            handshake.id.as_str(),
            &serde_json::from_value(response)?,
            now(),
        )
        .await?;
        ceremonies::verify_nonce(&store, &app, nonce.as_str(), now()).await?;
        count += 1;
    }
    store.close().await;
    Ok(count as f64 / started.elapsed().as_secs_f64())
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
