//! `latchkey-bench`: what `make bench` runs.
//!
//! - Over HTTP, against a real `latchkey` process: N virtual users, each with a
//!   software passkey, run registration ceremonies, then loop full sign-ins of
//!   both kinds: discoverable (start → sign → finish → verify nonce) and
//!   identifier-first (authenticate transaction first). The server's CPU time
//!   (from /proc, its process alone) and the load generator's own, per sign-in.
//! - Statements per ceremony step, counted in process through the real router.
//! - In process, on one core: the same sign-ins through the core without HTTP,
//!   and the bare webauthn-rs `finish_passkey_authentication`, the bound the
//!   server's CPU per sign-in is stated against.
//! - At scale: the same sign-in with 200,000 stored passkeys (100,000 users),
//!   on SQLite and on PostgreSQL.
//! - Per page of the release site, what Chromium loads (JS, WASM, CSS; raw and
//!   brotli) and the time to a usable passkey button on a slow phone, after and
//!   before: `end2end/bench/pages.mjs` measures them (`make bench-pages`), this
//!   reads its JSON (`--pages`); and the WASM's size profile.
//!
//! It writes `BENCHMARKS.md` with the numbers, the machine and the command.
#![forbid(unsafe_code)]

mod cpu;
mod inprocess;
mod load;
mod process;
mod report;
mod seed;
mod statements;
mod weight;

use std::{path::PathBuf, time::Duration};

use clap::Parser;

#[derive(Debug, Parser, Clone)]
#[command(name = "latchkey-bench")]
pub struct Options {
    /// The release `latchkey` binary (for the runs over HTTP).
    #[arg(long)]
    pub latchkey: Option<PathBuf>,
    /// A release `latchkey` built from the commit before the audit log
    /// (`make bench BENCH_BASELINE=rev` builds one): the sign-ins run against it
    /// and `--latchkey` in turn, on an empty store, for the events' cost.
    #[arg(long)]
    pub baseline_latchkey: Option<PathBuf>,
    /// Only run this many discoverable sign-ins in process on SQLite, and
    /// nothing else (for `perf record` or callgrind: `make profile`).
    #[arg(long, value_name = "ITERATIONS")]
    pub profile: Option<u64>,
    /// Only count the statements per ceremony step (in process, SQLite), print them, and stop.
    #[arg(long)]
    pub statements: bool,
    /// The JSON `end2end/bench/pages.mjs` wrote (`make bench-pages`): what
    /// Chromium loaded per page, after and before.
    #[arg(long)]
    pub pages: Option<PathBuf>,
    /// Only print the page figures and targets (`--pages`, `--wasm-symbols`), and stop.
    #[arg(long)]
    pub pages_only: bool,
    /// The WASM as rustc left it (with symbol names), for the size profile.
    #[arg(long)]
    pub wasm_symbols: Option<PathBuf>,
    /// Seconds each sign-in run lasts.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Seconds the registration run lasts.
    #[arg(long, default_value_t = 5)]
    pub register_duration: u64,
    /// Concurrent virtual users.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Passkeys stored for the scale runs (two per user).
    #[arg(long, default_value_t = 200_000)]
    pub scale_passkeys: usize,
    /// `sqlite`, `postgres` or `both` (PostgreSQL needs LATCHKEY_TEST_POSTGRES_URL).
    #[arg(long, default_value = "both")]
    pub engine: String,
    /// Where the report goes.
    #[arg(long, default_value = "BENCHMARKS.md")]
    pub out: PathBuf,
    /// The command line to print in the report.
    #[arg(long, default_value = "make bench")]
    pub command: String,
}

impl Options {
    pub fn latchkey(&self) -> anyhow::Result<PathBuf> {
        self.latchkey
            .clone()
            .ok_or_else(|| anyhow::anyhow!("--latchkey names the release latchkey binary"))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    statements::install();
    sqlx::any::install_default_drivers();
    if let Some(iterations) = options.profile {
        return inprocess::profile(iterations).await;
    }
    if options.pages_only {
        let mut report = report::Report::new(&options);
        pages(&options, &mut report)?;
        print!("{}", report.pages_markdown()?);
        return Ok(());
    }
    eprintln!("==> statements per ceremony step (in process, SQLite)");
    let counted = statements::count().await?;
    statements::check(&counted)?;
    if options.statements {
        for (ceremony, step, count) in &counted {
            println!(
                "(\"{ceremony}\", \"{step}\", {}, {}),{}",
                count.reads,
                count.writes,
                if count.other > 0 {
                    format!(" // and {} other", count.other)
                } else {
                    String::new()
                }
            );
        }
        return Ok(());
    }
    options.latchkey()?;
    let mut report = report::Report::new(&options);
    // First, so a missing --pages file fails before the long runs.
    pages(&options, &mut report)?;
    report.statements = Some(counted);

    eprintln!("==> in-process bounds (one core)");
    report.bounds = Some(inprocess::measure(Duration::from_secs(options.duration.min(5))).await?);

    let engines: Vec<&str> = match options.engine.as_str() {
        "both" => vec!["sqlite", "postgres"],
        one => vec![one],
    };
    for engine in engines {
        for stored in [0, options.scale_passkeys] {
            eprintln!("==> sign-in over HTTP: {engine}, {stored} stored passkeys");
            let database = seed::Database::fresh(engine).await?;
            if stored > 0 {
                seed::passkeys(&database.url, stored).await?;
            }
            let latchkey = options.latchkey()?;
            let run =
                load::run_on_one_thread(&options, &latchkey, &database.url, engine, stored).await?;
            report.runs.push(run);
            database.remove().await?;
        }
        if let Some(baseline) = &options.baseline_latchkey {
            // Before and after in turn, twice, each on a fresh store; the best of
            // each two counts (the machine is shared: a slow run is noise).
            for round in 0..2 {
                for (which, latchkey) in
                    [("before", baseline.clone()), ("after", options.latchkey()?)]
                {
                    eprintln!(
                        "==> audit log cost: {engine}, {which} (round {})",
                        round + 1
                    );
                    let database = seed::Database::fresh(engine).await?;
                    let run =
                        load::run_on_one_thread(&options, &latchkey, &database.url, engine, 0)
                            .await?;
                    report.event_cost.push((which, run));
                    database.remove().await?;
                }
            }
        }
    }
    report.write(&options.out)?;
    eprintln!("==> wrote {}", options.out.display());
    print!("{}", std::fs::read_to_string(&options.out)?);
    Ok(())
}

/// The page figures (`--pages`) and the WASM's size profile (`--wasm-symbols`, with twiggy).
fn pages(options: &Options, report: &mut report::Report) -> anyhow::Result<()> {
    report.pages = options
        .pages
        .as_deref()
        .map(weight::Pages::load)
        .transpose()?;
    report.wasm_profile = options.wasm_symbols.as_deref().and_then(weight::profile);
    Ok(())
}
