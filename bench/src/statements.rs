//! Statements per ceremony step, counted in process.
//!
//! The real server (`Application`, the same router and middleware `latchkey
//! serve` runs, default rate limits, which count in memory) is started inside
//! this process on a fresh SQLite file. One registration, one identifier-first
//! and one discoverable sign-in go through it over HTTP, one request at a time.
//! A global `tracing` layer counts the events sqlx logs under the target
//! `sqlx::query`: one per statement it executes, from whichever thread runs it
//! (the SQLite driver runs statements on a worker thread of its own). Counting
//! is off except around these requests, so the other measurements pay nothing.
//!
//! What the count leaves out: sqlx's SQLite driver runs `BEGIN`, `COMMIT` and
//! `ROLLBACK` directly on the connection without logging them, so a step that
//! writes in a database transaction costs those two statements more than the
//! table says; and the `PRAGMA`s a newly opened pooled connection runs, which
//! belong to the pool's timing, not to a step.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::Duration,
};

use anyhow::{bail, Context};
use latchkey::{
    config::{Config, PublicUrl, SiteFiles},
    flex::{apps::NewApp, clock::Clock},
    startup::Application,
};
use serde_json::{json, Value};
use softkey::Authenticator;
use tracing::{field::Visit, Subscriber};
use tracing_subscriber::{layer::Context as LayerContext, prelude::*, Layer};

const ORIGIN: &str = "http://localhost:3000";

static COUNTING: AtomicBool = AtomicBool::new(false);
static READS: AtomicU64 = AtomicU64::new(0);
static WRITES: AtomicU64 = AtomicU64::new(0);
static OTHER: AtomicU64 = AtomicU64::new(0);

/// Counts sqlx's statement events while `COUNTING` is on.
struct StatementCounter;

impl<S: Subscriber> Layer<S> for StatementCounter {
    fn register_callsite(
        &self,
        metadata: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if metadata.target() == "sqlx::query" {
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: LayerContext<'_, S>) -> bool {
        metadata.target() == "sqlx::query" && COUNTING.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: LayerContext<'_, S>) {
        let mut summary = Summary(String::new());
        event.record(&mut summary);
        let first = summary
            .0
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let counter = match first.as_str() {
            "SELECT" => &READS,
            "INSERT" | "UPDATE" | "DELETE" => &WRITES,
            // A new pooled connection's set-up (`after_connect`), not the step's work:
            // the pool opens one when a request finds no idle connection, which
            // depends on timing (a released connection goes back to the pool
            // from a task of its own).
            "PRAGMA" => return,
            _ => &OTHER,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The `summary` field of sqlx's event: the statement's first words.
struct Summary(String);

impl Visit for Summary {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "summary" {
            value.clone_into(&mut self.0);
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}");
        }
    }
}

/// Installs the counting layer as the global subscriber (once, at start).
pub fn install() {
    let _ = tracing_subscriber::registry()
        .with(StatementCounter)
        .try_init();
}

/// Statements of one step: (reads, writes, other), other being anything sqlx
/// logged that is neither (on SQLite: none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    pub reads: u64,
    pub writes: u64,
    pub other: u64,
}

impl Count {
    pub fn total(self) -> u64 {
        self.reads + self.writes + self.other
    }

    fn now() -> Self {
        Self {
            reads: READS.load(Ordering::SeqCst),
            writes: WRITES.load(Ordering::SeqCst),
            other: OTHER.load(Ordering::SeqCst),
        }
    }

    fn since(self, before: Count) -> Self {
        Self {
            reads: self.reads - before.reads,
            writes: self.writes - before.writes,
            other: self.other - before.other,
        }
    }
}

/// Rows of the table: (ceremony, step, what it counted).
pub type Table = Vec<(&'static str, &'static str, Count)>;

/// The counts at commit `BEFORE_COMMIT` (measured with this module at that
/// commit, SQLite): (ceremony, step, reads, writes).
pub const BEFORE_COMMIT: &str = "18e5fde";
pub const BEFORE: &[(&str, &str, u64, u64)] = &[
    ("registration", "transaction", 4, 2),
    ("registration", "start", 2, 2),
    ("registration", "finish", 3, 4),
    ("registration", "verify", 3, 1),
    ("identifier-first sign-in", "transaction", 4, 1),
    ("identifier-first sign-in", "start", 2, 2),
    ("identifier-first sign-in", "finish", 3, 4),
    ("identifier-first sign-in", "verify", 3, 1),
    ("discoverable sign-in", "start", 1, 1),
    ("discoverable sign-in", "finish", 3, 4),
    ("discoverable sign-in", "verify", 3, 1),
];

struct Probe {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Probe {
    /// One request; returns its answer and the statements it ran.
    async fn request(
        &self,
        path: &str,
        management: bool,
        body: Value,
    ) -> anyhow::Result<(Value, Count)> {
        let before = Count::now();
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if management {
            request = request.bearer_auth(&self.key);
        }
        let response = request.send().await?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: {status}: {answer}");
        }
        // sqlx logs a statement when its worker drops the statement's cursor,
        // which may be just after the answer left: let it settle.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok((answer, Count::now().since(before)))
    }
}

/// Counts the statements of each step of each ceremony through the real router.
pub async fn count() -> anyhow::Result<Table> {
    let dir = tempfile::tempdir()?;
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}", dir.path().join("count.db").display()),
        public_url: PublicUrl::parse(ORIGIN)?,
        site: SiteFiles::Folder("target/site".into()),
        // A clock that stands still: the counts are the steady state, with the app
        // and the API key served from the cache (read again once a second).
        clock: Clock::manual(),
        rate_limits: Default::default(),
        request_timeout: Duration::from_secs(10),
        trusted_proxies: Default::default(),
        event_retention_days: 90,
        metrics_token: None,
        // The webhook worker's look for due messages is no step's statement:
        // it looks once at start, then not again while the steps are counted.
        webhooks: latchkey::flex::webhooks::WebhookSettings {
            poll_interval: Duration::from_secs(3600),
            ..Default::default()
        },
        secret_key: None,
        attestation_ca: None,
    };
    let application = Application::build(config).await?;
    let (app, key) = application
        .flex()
        .create_app(&NewApp::parse("count", &[ORIGIN.to_owned()], None)?)
        .await?;
    let probe = Probe {
        http: reqwest::Client::new(),
        base: format!(
            "http://{}/v1/apps/{}",
            application.local_addr(),
            app.id.as_str()
        ),
        key: key.key.as_str().to_owned(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async {
        let _ = stopped.await;
    }));
    // The sweeper's first round runs at start: let it pass before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Once uncounted, so the pool's connections are open (a new SQLite
    // connection runs its PRAGMAs) and nothing is counted that a warm server
    // would not run.
    ceremonies(&probe, "warm-up").await?;

    COUNTING.store(true, Ordering::SeqCst);
    let counted = ceremonies(&probe, "ada").await;
    COUNTING.store(false, Ordering::SeqCst);
    let _ = stop.send(());
    let _ = server.await;
    counted
}

async fn ceremonies(probe: &Probe, user: &str) -> anyhow::Result<Table> {
    let mut table = Table::new();
    let mut authenticator = Authenticator::new();
    for (ceremony, kind, transaction) in [
        ("registration", "register", true),
        ("identifier-first sign-in", "authenticate", true),
        ("discoverable sign-in", "authenticate", false),
    ] {
        let mut body = json!({});
        if transaction {
            let mut request = json!({ "external_id": user });
            if kind == "register" {
                request["passkey_display_name"] = "Ada".into();
            }
            let (tx, count) = probe
                .request(&format!("/transactions/{kind}"), true, request)
                .await?;
            table.push((ceremony, "transaction", count));
            body["transaction_id"] = tx["transaction_id"].clone();
        }
        let (start, count) = probe
            .request(
                &format!("/{kind}/transactions/webauthn/start"),
                false,
                body.clone(),
            )
            .await?;
        table.push((ceremony, "start", count));
        let options = &start["handshake"]["challenge"]["publicKey"];
        body["handshake_id"] = start["handshake"]["id"].clone();
        body["handshake_response"] = if kind == "register" {
            authenticator.register(ORIGIN, options)
        } else {
            authenticator.authenticate(ORIGIN, options)
        };
        let (finish, count) = probe
            .request(
                &format!("/{kind}/transactions/webauthn/finish"),
                false,
                body,
            )
            .await?;
        table.push((ceremony, "finish", count));
        let (verified, count) = probe
            .request(
                "/authenticate/verify",
                true,
                json!({ "nonce": finish["nonce"] }),
            )
            .await?;
        table.push((ceremony, "verify", count));
        if verified["external_id"] != user {
            bail!("the nonce verified to {}", verified["external_id"]);
        }
    }
    Ok(table)
}

/// The "before" table as counts, in the same order as a live count.
pub fn before() -> Table {
    BEFORE
        .iter()
        .map(|&(ceremony, step, reads, writes)| {
            (
                ceremony,
                step,
                Count {
                    reads,
                    writes,
                    other: 0,
                },
            )
        })
        .collect()
}

/// Fails loudly when nothing was counted: the layer is not seeing sqlx's events.
pub fn check(table: &Table) -> anyhow::Result<()> {
    let total: u64 = table.iter().map(|row| row.2.total()).sum();
    if total == 0 {
        return Err(anyhow::anyhow!("no statement was counted")).context(
            "is another global tracing subscriber installed, or has sqlx stopped logging statements?",
        );
    }
    Ok(())
}
