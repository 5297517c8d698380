//! The load generator: virtual users with software passkeys, over HTTP.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use reqwest::{
    header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE},
    Url,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use softkey::Authenticator;

use crate::{
    cpu::{self, Spent},
    process, Options,
};

const ORIGIN: &str = "http://localhost:3000";

/// Latencies of one kind of request, in microseconds.
#[derive(Clone, Debug, Default)]
pub struct Samples(pub Vec<u32>);

impl Samples {
    fn push(&mut self, since: Instant) {
        self.0
            .push(since.elapsed().as_micros().min(u32::MAX as u128) as u32);
    }

    fn merge(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    /// The `q` quantile in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        f64::from(sorted[index]) / 1000.0
    }
}

pub const STEPS: [&str; 5] = ["transaction", "start", "finish", "verify", "ceremony"];

#[derive(Clone, Debug, Default)]
pub struct Timings {
    pub steps: [Samples; 5],
    pub errors: usize,
}

impl Timings {
    fn merge(&mut self, other: Timings) {
        for (mine, theirs) in self.steps.iter_mut().zip(other.steps) {
            mine.merge(theirs);
        }
        self.errors += other.errors;
    }
}

impl Measured {
    /// (server, load generator) CPU use over the run, in % of one core.
    pub fn cpu_use(&self) -> (f64, f64) {
        (
            self.server_cpu.seconds * 100.0 / self.elapsed,
            self.generator_cpu.seconds * 100.0 / self.elapsed,
        )
    }
}

/// The two sign-ins the targets name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// No transaction: start without one, sign with a discoverable credential, finish, verify.
    Discoverable,
    /// The backend's authenticate transaction for a user, then start, finish, verify.
    IdentifierFirst,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Discoverable, Kind::IdentifierFirst];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Discoverable => "discoverable",
            Kind::IdentifierFirst => "identifier-first",
        }
    }
}

/// One timed run of one kind of ceremony, and what it cost each process.
#[derive(Debug, Default)]
pub struct Measured {
    pub timings: Timings,
    pub per_second: f64,
    /// Wall-clock seconds the run took.
    pub elapsed: f64,
    /// The server process alone, over the run.
    pub server_cpu: Spent,
    /// This process (the load generator), over the run.
    pub generator_cpu: Spent,
}

#[derive(Debug)]
pub struct Run {
    pub engine: String,
    pub stored: usize,
    pub sign_ins: Vec<(Kind, Measured)>,
    pub register: Measured,
    pub peak_rss: Option<u64>,
}

impl Run {
    pub fn sign_in(&self, kind: Kind) -> Option<&Measured> {
        self.sign_ins
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, m)| m)
    }
}

/// The server under load, and every URL and header the ceremonies use, made once.
///
/// The generator shares the cores with the server, so it is kept lean: URLs
/// parsed once, bodies written from typed structs, answers read into typed
/// structs (only the WebAuthn options stay a JSON value, as the software
/// passkey takes them), and the passkey signs with ring (see `softkey`).
struct Target {
    http: reqwest::Client,
    bearer: HeaderValue,
    urls: Urls,
}

struct Urls {
    register_transaction: Url,
    authenticate_transaction: Url,
    register_start: Url,
    register_finish: Url,
    authenticate_start: Url,
    authenticate_finish: Url,
    verify: Url,
}

impl Urls {
    fn new(base: &str, app_id: &str) -> anyhow::Result<Self> {
        let url = |path: &str| Url::parse(&format!("{base}/v1/apps/{app_id}{path}"));
        Ok(Self {
            register_transaction: url("/transactions/register")?,
            authenticate_transaction: url("/transactions/authenticate")?,
            register_start: url("/register/transactions/webauthn/start")?,
            register_finish: url("/register/transactions/webauthn/finish")?,
            authenticate_start: url("/authenticate/transactions/webauthn/start")?,
            authenticate_finish: url("/authenticate/transactions/webauthn/finish")?,
            verify: url("/authenticate/verify")?,
        })
    }
}

#[derive(Serialize)]
struct TransactionRequest<'a> {
    external_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    passkey_display_name: Option<&'a str>,
}

#[derive(Deserialize)]
struct TransactionAnswer {
    transaction_id: String,
}

#[derive(Serialize)]
struct StartRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct StartAnswer {
    handshake: HandshakeAnswer,
}

#[derive(Deserialize)]
struct HandshakeAnswer {
    id: String,
    challenge: Challenge,
}

#[derive(Deserialize)]
struct Challenge {
    #[serde(rename = "publicKey")]
    public_key: Value,
}

#[derive(Serialize)]
struct FinishRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<&'a str>,
    handshake_id: &'a str,
    handshake_response: &'a Value,
}

#[derive(Serialize, Deserialize)]
struct Nonce {
    nonce: String,
}

#[derive(Deserialize)]
struct Verified {
    external_id: String,
}

/// Which ceremony a run goes through.
enum Ceremony {
    Register,
    Authenticate,
}

impl Target {
    fn new(http: reqwest::Client, base: &str, app_id: &str, key: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http,
            bearer: HeaderValue::from_str(&format!("Bearer {key}"))?,
            urls: Urls::new(base, app_id)?,
        })
    }

    /// POSTs `body` as JSON (with the API key if `manage`); reads the answer as `T`.
    async fn post<T: DeserializeOwned>(
        &self,
        url: &Url,
        manage: bool,
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        let mut request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(serde_json::to_vec(body)?);
        if manage {
            request = request.header(AUTHORIZATION, self.bearer.clone());
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            bail!("{status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    async fn register(
        &self,
        authenticator: &mut Authenticator,
        external_id: &str,
        t: &mut Timings,
    ) -> anyhow::Result<()> {
        let body = TransactionRequest {
            external_id,
            passkey_display_name: Some(external_id),
        };
        self.ceremony(Ceremony::Register, Some(body), external_id, t, |options| {
            authenticator.register(ORIGIN, options)
        })
        .await
    }

    async fn sign_in(
        &self,
        kind: Kind,
        authenticator: &mut Authenticator,
        external_id: &str,
        t: &mut Timings,
    ) -> anyhow::Result<()> {
        let body = match kind {
            Kind::IdentifierFirst => Some(TransactionRequest {
                external_id,
                passkey_display_name: None,
            }),
            Kind::Discoverable => None,
        };
        self.ceremony(Ceremony::Authenticate, body, external_id, t, |options| {
            authenticator.authenticate(ORIGIN, options)
        })
        .await
    }

    /// One full ceremony, timed step by step: transaction (unless
    /// discoverable) → start → the authenticator → finish → verify nonce.
    async fn ceremony(
        &self,
        ceremony: Ceremony,
        transaction: Option<TransactionRequest<'_>>,
        external_id: &str,
        t: &mut Timings,
        sign: impl FnOnce(&Value) -> Value,
    ) -> anyhow::Result<()> {
        let u = &self.urls;
        let (transaction_url, start_url, finish_url) = match ceremony {
            Ceremony::Register => (
                &u.register_transaction,
                &u.register_start,
                &u.register_finish,
            ),
            Ceremony::Authenticate => (
                &u.authenticate_transaction,
                &u.authenticate_start,
                &u.authenticate_finish,
            ),
        };
        let started = Instant::now();
        let transaction_id = match transaction {
            Some(body) => {
                let now = Instant::now();
                let answer: TransactionAnswer = self.post(transaction_url, true, &body).await?;
                t.steps[0].push(now);
                Some(answer.transaction_id)
            }
            None => None,
        };
        let transaction_id = transaction_id.as_deref();
        let now = Instant::now();
        let start: StartAnswer = self
            .post(start_url, false, &StartRequest { transaction_id })
            .await?;
        t.steps[1].push(now);
        let response = sign(&start.handshake.challenge.public_key);
        let now = Instant::now();
        let finish: Nonce = self
            .post(
                finish_url,
                false,
                &FinishRequest {
                    transaction_id,
                    handshake_id: &start.handshake.id,
                    handshake_response: &response,
                },
            )
            .await?;
        t.steps[2].push(now);
        let now = Instant::now();
        let verified: Verified = self.post(&u.verify, true, &finish).await?;
        t.steps[3].push(now);
        if verified.external_id != external_id {
            bail!("the nonce verified to {}", verified.external_id);
        }
        t.steps[4].push(started);
        Ok(())
    }
}

/// Runs `work` on `concurrency` virtual users until `seconds` pass; measures
/// the ceremonies completed, per second, and the CPU of the server and of this process.
async fn measure<F, Fut>(server_pid: &str, concurrency: usize, seconds: u64, work: F) -> Measured
where
    F: Fn(usize, Instant) -> Fut,
    Fut: std::future::Future<Output = Timings> + Send + 'static,
{
    let until = Instant::now() + Duration::from_secs(seconds);
    let server_before = cpu::used(server_pid);
    let generator_before = cpu::used("self");
    let started = Instant::now();
    let timings = join(concurrency, |n| work(n, until)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let completed = timings.steps[4].0.len();
    Measured {
        per_second: completed as f64 / elapsed,
        elapsed,
        server_cpu: Spent::between(server_before, cpu::used(server_pid), completed),
        generator_cpu: Spent::between(generator_before, cpu::used("self"), completed),
        timings,
    }
}

/// [`run`] on a current-thread runtime of its own: the virtual users are
/// tasks on one thread, with no work-stealing or cross-thread wake-ups (the
/// generator needs a fraction of one core).
pub async fn run_on_one_thread(
    options: &Options,
    latchkey: &std::path::Path,
    database_url: &str,
    engine: &str,
    stored: usize,
) -> anyhow::Result<Run> {
    let (options, latchkey, database_url, engine) = (
        options.clone(),
        latchkey.to_owned(),
        database_url.to_owned(),
        engine.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(run(&options, &latchkey, &database_url, &engine, stored))
    })
    .await?
}

/// Runs registration then both kinds of sign-in against a fresh `latchkey`
/// (the binary at `latchkey`) on `database_url`.
pub async fn run(
    options: &Options,
    latchkey: &std::path::Path,
    database_url: &str,
    engine: &str,
    stored: usize,
) -> anyhow::Result<Run> {
    let (app_id, key) = process::create_app(latchkey, database_url, ORIGIN).await?;
    let server = process::Server::start(latchkey, database_url).await?;
    let pid = server.pid().context("the server's pid")?.to_string();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency * 2)
        // A local server: no proxy matching per request.
        .no_proxy()
        .build()?;
    let target = Arc::new(Target::new(http, &server.base, &app_id, &key)?);

    // Registration: each virtual user keeps adding passkeys for new users.
    let register = measure(
        &pid,
        options.concurrency,
        options.register_duration,
        |n, until| {
            let target = target.clone();
            async move {
                let mut t = Timings::default();
                let mut i = 0;
                while Instant::now() < until {
                    let mut authenticator = Authenticator::new();
                    if target
                        .register(&mut authenticator, &format!("r{n}-{i}"), &mut t)
                        .await
                        .is_err()
                    {
                        t.errors += 1;
                    }
                    i += 1;
                }
                t
            }
        },
    )
    .await;

    // Sign-in: each virtual user registers once, then loops full ceremonies of each kind.
    let mut users = Vec::new();
    for n in 0..options.concurrency {
        let mut authenticator = Authenticator::new();
        let external_id = format!("u{n}");
        target
            .register(&mut authenticator, &external_id, &mut Timings::default())
            .await
            .context("registering a virtual user")?;
        users.push(Arc::new(tokio::sync::Mutex::new((
            authenticator,
            external_id,
        ))));
    }
    let mut sign_ins = Vec::new();
    for kind in Kind::ALL {
        let measured = measure(&pid, options.concurrency, options.duration, |n, until| {
            let target = target.clone();
            let user = users[n].clone();
            async move {
                let mut user = user.lock().await;
                let (authenticator, external_id) = &mut *user;
                let mut t = Timings::default();
                while Instant::now() < until {
                    if target
                        .sign_in(kind, authenticator, external_id, &mut t)
                        .await
                        .is_err()
                    {
                        t.errors += 1;
                    }
                }
                t
            }
        })
        .await;
        sign_ins.push((kind, measured));
    }
    let peak_rss = server.peak_rss();
    server.stop().await;
    Ok(Run {
        engine: engine.to_owned(),
        stored,
        sign_ins,
        register,
        peak_rss,
    })
}

async fn join<F, Fut>(count: usize, make: F) -> Timings
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Timings> + Send + 'static,
{
    let tasks: Vec<_> = (0..count).map(|n| tokio::spawn(make(n))).collect();
    let mut all = Timings::default();
    for task in tasks {
        all.merge(task.await.unwrap_or_default());
    }
    all
}
