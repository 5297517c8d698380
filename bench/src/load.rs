//! The load generator: virtual users with software passkeys, over HTTP.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use serde_json::{json, Value};
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

struct Target {
    http: reqwest::Client,
    base: String,
    app_id: String,
    key: String,
}

impl Target {
    async fn manage(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}/v1/apps/{}{path}", self.base, self.app_id))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await?;
        answer(response).await
    }

    async fn client(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}/v1/apps/{}{path}", self.base, self.app_id))
            .json(&body)
            .send()
            .await?;
        answer(response).await
    }

    async fn register(
        &self,
        authenticator: &mut Authenticator,
        external_id: &str,
        t: &mut Timings,
    ) -> anyhow::Result<()> {
        let body = json!({ "external_id": external_id, "passkey_display_name": external_id });
        self.ceremony("register", Some(body), external_id, t, |options| {
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
            Kind::IdentifierFirst => Some(json!({ "external_id": external_id })),
            Kind::Discoverable => None,
        };
        self.ceremony("authenticate", body, external_id, t, |options| {
            authenticator.authenticate(ORIGIN, options)
        })
        .await
    }

    /// One full ceremony of `kind` (`register` or `authenticate`), timed step by
    /// step: transaction (unless discoverable) → start → the authenticator →
    /// finish → verify nonce.
    async fn ceremony(
        &self,
        kind: &str,
        transaction_body: Option<Value>,
        external_id: &str,
        t: &mut Timings,
        sign: impl FnOnce(&Value) -> Value,
    ) -> anyhow::Result<()> {
        let ceremony = Instant::now();
        let transaction = match transaction_body {
            Some(body) => {
                let now = Instant::now();
                let tx = self.manage(&format!("/transactions/{kind}"), body).await?;
                t.steps[0].push(now);
                tx["transaction_id"].clone()
            }
            None => Value::Null,
        };
        let now = Instant::now();
        let start = self
            .client(
                &format!("/{kind}/transactions/webauthn/start"),
                json!({ "transaction_id": transaction }),
            )
            .await?;
        t.steps[1].push(now);
        let response = sign(&start["handshake"]["challenge"]["publicKey"]);
        let now = Instant::now();
        let finish = self
            .client(
                &format!("/{kind}/transactions/webauthn/finish"),
                json!({ "transaction_id": transaction, "handshake_id": start["handshake"]["id"], "handshake_response": response }),
            )
            .await?;
        t.steps[2].push(now);
        let now = Instant::now();
        let verified = self
            .manage("/authenticate/verify", json!({ "nonce": finish["nonce"] }))
            .await?;
        t.steps[3].push(now);
        if verified["external_id"] != external_id {
            bail!("the nonce verified to {}", verified["external_id"]);
        }
        t.steps[4].push(ceremony);
        Ok(())
    }
}

async fn answer(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    Ok(body)
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

/// Runs registration then both kinds of sign-in against a fresh `latchkey` on `database_url`.
pub async fn run(
    options: &Options,
    database_url: &str,
    engine: &str,
    stored: usize,
) -> anyhow::Result<Run> {
    let (app_id, key) = process::create_app(&options.latchkey()?, database_url, ORIGIN).await?;
    let server = process::Server::start(&options.latchkey()?, database_url).await?;
    let pid = server.pid().context("the server's pid")?.to_string();
    let target = Arc::new(Target {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(options.concurrency * 2)
            .build()?,
        base: server.base.clone(),
        app_id,
        key,
    });

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
