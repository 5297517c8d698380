//! The load generator: virtual users with software passkeys, over HTTP.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use softkey::Authenticator;

use crate::{process, Options};

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

#[derive(Debug)]
pub struct Run {
    pub engine: String,
    pub stored: usize,
    pub sign_in: Timings,
    pub sign_ins_per_second: f64,
    pub register: Timings,
    pub registrations_per_second: f64,
    pub peak_rss: Option<u64>,
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
        self.ceremony("register", body, external_id, t, |options| {
            authenticator.register(ORIGIN, options)
        })
        .await
    }

    async fn sign_in(
        &self,
        authenticator: &mut Authenticator,
        external_id: &str,
        t: &mut Timings,
    ) -> anyhow::Result<()> {
        let body = json!({ "external_id": external_id });
        self.ceremony("authenticate", body, external_id, t, |options| {
            authenticator.authenticate(ORIGIN, options)
        })
        .await
    }

    /// One full ceremony of `kind` (`register` or `authenticate`), timed step by
    /// step: transaction → start → the authenticator → finish → verify nonce.
    async fn ceremony(
        &self,
        kind: &str,
        transaction_body: Value,
        external_id: &str,
        t: &mut Timings,
        sign: impl FnOnce(&Value) -> Value,
    ) -> anyhow::Result<()> {
        let ceremony = Instant::now();
        let now = Instant::now();
        let tx = self
            .manage(&format!("/transactions/{kind}"), transaction_body)
            .await?;
        t.steps[0].push(now);
        let transaction = tx["transaction_id"].clone();
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

/// Runs registration then sign-in load against a fresh `latchkey` on `database_url`.
pub async fn run(
    options: &Options,
    database_url: &str,
    engine: &str,
    stored: usize,
) -> anyhow::Result<Run> {
    let (app_id, key) = process::create_app(&options.latchkey, database_url, ORIGIN).await?;
    let server = process::Server::start(&options.latchkey, database_url).await?;
    let target = Arc::new(Target {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(options.concurrency * 2)
            .build()?,
        base: server.base.clone(),
        app_id,
        key,
    });

    // Registration: each virtual user keeps adding passkeys for new users.
    let until = Instant::now() + Duration::from_secs(options.register_duration);
    let started = Instant::now();
    let register = join(options.concurrency, |n| {
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
    })
    .await;
    let registrations_per_second =
        register.steps[4].0.len() as f64 / started.elapsed().as_secs_f64();

    // Sign-in: each virtual user registers once, then loops full ceremonies.
    let mut users = Vec::new();
    for n in 0..options.concurrency {
        let mut authenticator = Authenticator::new();
        target
            .register(
                &mut authenticator,
                &format!("u{n}"),
                &mut Timings::default(),
            )
            .await
            .context("registering a virtual user")?;
        users.push(authenticator);
    }
    let until = Instant::now() + options.run_for();
    let started = Instant::now();
    let users = Arc::new(std::sync::Mutex::new(users));
    let sign_in = join(options.concurrency, |n| {
        let target = target.clone();
        let mut authenticator = users
            .lock()
            .unwrap()
            .pop()
            .expect("one authenticator per user");
        let external_id = format!("u{}", options.concurrency - 1 - n);
        async move {
            let mut t = Timings::default();
            while Instant::now() < until {
                if target
                    .sign_in(&mut authenticator, &external_id, &mut t)
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
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss = server.peak_rss();
    server.stop().await;
    Ok(Run {
        engine: engine.to_owned(),
        stored,

        sign_ins_per_second: sign_in.steps[4].0.len() as f64 / seconds,
        sign_in,
        register,
        registrations_per_second,
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
