//! BENCHMARKS.md: the numbers, the machine, the command, and each target met or not.

use std::{fmt::Write as _, path::Path};

use crate::{
    inprocess::Bounds,
    load::{Kind, Measured, Run, STEPS},
    statements::{self, Count, Table},
    weight::Weight,
    Options,
};

/// The targets (issue 10), in the units the report prints.
const CPU_MS_DISCOVERABLE: f64 = 0.6;
const CPU_MS_IDENTIFIER_FIRST: f64 = 0.8;
const USERS: usize = 32;
const SIGN_INS_PER_SECOND: f64 = 1500.0;
const P99_MS: f64 = 25.0;
const SCALE_RATIO: f64 = 1.25;
const RSS_MB: f64 = 64.0;
const PAGE_BYTES: usize = 120_000;
const EVENT_COST_PERCENT: f64 = 10.0;

pub struct Report {
    options: Options,
    pub bounds: Option<Bounds>,
    pub statements: Option<Table>,
    pub runs: Vec<Run>,
    /// Sign-ins on an empty store before the audit log and after, in turn.
    pub event_cost: Vec<(&'static str, Run)>,
    pub weight: Option<Weight>,
    /// Bytes by crate in the WASM before wasm-bindgen and wasm-opt.
    pub wasm_profile: Option<Vec<(String, u64)>>,
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {memory} memory; load generator and server on the same cores")
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "**met**"
    } else {
        "**not met**"
    }
}

impl Report {
    pub fn new(options: &Options) -> Self {
        Self {
            options: options.clone(),
            bounds: None,
            statements: None,
            runs: Vec::new(),
            event_cost: Vec::new(),
            weight: None,
            wasm_profile: None,
        }
    }

    fn run(&self, engine: &str, stored: usize) -> Option<&Run> {
        self.runs
            .iter()
            .find(|r| r.engine == engine && r.stored == stored)
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut md = String::new();
        let o = &self.options;
        writeln!(md, "# Latchkey benchmarks\n")?;
        writeln!(
            md,
            "Written by `{}` (`latchkey-bench`, release build). Machine: {}.",
            o.command,
            machine()
        )?;
        writeln!(
            md,
            "Each sign-in run: {} virtual users, {} s per kind of sign-in; registration run: {} s. A \
             discoverable sign-in is start → the passkey signs → finish → the backend verifies the nonce; \
             an identifier-first one begins with the backend's authenticate transaction. CPU per sign-in \
             is the process's user + system time from `/proc/<pid>/stat` over the run, divided by the \
             sign-ins completed in it: the server process alone (on PostgreSQL, the database's own \
             processes are not in it), and the load generator (this process) beside it. Numbers from one run on a shared, noisy machine: compare ratios within this file, \
             not across files.\n",
            o.concurrency, o.duration, o.register_duration
        )?;

        self.targets(&mut md)?;
        self.gaps(&mut md)?;
        self.statements(&mut md)?;

        if let Some(bounds) = &self.bounds {
            writeln!(md, "\n## In process (one core)\n")?;
            writeln!(md, "| what | per second | each |\n|---|---|---|")?;
            for (what, per_second) in [
                ("bare webauthn-rs `finish_passkey_authentication` (the bound)", bounds.webauthn_per_second),
                ("discoverable sign-in through the core, no HTTP (SQLite, the software passkey's signing included)", bounds.discoverable_per_second),
                ("identifier-first sign-in through the core, no HTTP (SQLite, signing included)", bounds.identifier_first_per_second),
                ("the software passkey's assertion (what the load generator signs with)", bounds.softkey_per_second),
            ] {
                writeln!(md, "| {what} | {per_second:.0} | {:.0} µs |", 1e6 / per_second)?;
            }
        }

        writeln!(md, "\n## Over HTTP\n")?;
        writeln!(
            md,
            "| engine | stored passkeys | ceremony | per second | p50 | p99 | server CPU each | × bare verification | load generator CPU each | CPU use, server / generator | errors |\n|---|---|---|---|---|---|---|---|---|---|---|"
        )?;
        let bare = self.bounds.as_ref().map(Bounds::webauthn_ms);
        for run in &self.runs {
            let rows = run
                .sign_ins
                .iter()
                .map(|(kind, m)| (kind.name(), m))
                .chain([("registration", &run.register)]);
            for (name, m) in rows {
                let ceremony = &m.timings.steps[4];
                let (server_use, generator_use) = m.cpu_use();
                writeln!(
                    md,
                    "| {} | {} | {name} | {:.0} | {:.1} ms | {:.1} ms | {:.3} ms | {} | {:.3} ms | {server_use:.0} % / {generator_use:.0} % | {} |",
                    run.engine,
                    run.stored,
                    m.per_second,
                    ceremony.ms(0.5),
                    ceremony.ms(0.99),
                    m.server_cpu.ms_per_unit,
                    bare.map(|b| format!("{:.1}×", m.server_cpu.ms_per_unit / b))
                        .unwrap_or_else(|| "?".into()),
                    m.generator_cpu.ms_per_unit,
                    m.timings.errors,
                )?;
            }
        }
        writeln!(
            md,
            "\n| engine | stored passkeys | server peak RSS |\n|---|---|---|"
        )?;
        for run in &self.runs {
            writeln!(
                md,
                "| {} | {} | {} |",
                run.engine,
                run.stored,
                run.peak_rss
                    .map(|b| format!("{:.1} MB", b as f64 / 1e6))
                    .unwrap_or_else(|| "?".into())
            )?;
        }
        let mut latency = |title: &str, quantiles: &[f64], rows: Vec<(&Run, &str, &Measured)>| {
            let _ = writeln!(md, "\n{title}\n");
            let _ = writeln!(
                md,
                "| engine | stored | ceremony | {} |\n|---|---|---|---|---|---|---|---|",
                STEPS.join(" | ")
            );
            for (run, name, m) in rows {
                let cells: Vec<String> = m
                    .timings
                    .steps
                    .iter()
                    .map(|s| {
                        if s.0.is_empty() {
                            "–".to_owned()
                        } else {
                            let q: Vec<String> = quantiles
                                .iter()
                                .map(|&q| format!("{:.1}", s.ms(q)))
                                .collect();
                            q.join(" / ")
                        }
                    })
                    .collect();
                let _ = writeln!(
                    md,
                    "| {} | {} | {name} | {} |",
                    run.engine,
                    run.stored,
                    cells.join(" | ")
                );
            }
        };
        latency(
            "Sign-in latency per step, milliseconds (p50 / p95 / p99):",
            &[0.5, 0.95, 0.99],
            self.runs
                .iter()
                .flat_map(|run| run.sign_ins.iter().map(move |(k, m)| (run, k.name(), m)))
                .collect(),
        );
        latency(
            "Registration latency per step, milliseconds (p50 / p99):",
            &[0.5, 0.99],
            self.runs
                .iter()
                .map(|run| (run, "registration", &run.register))
                .collect(),
        );

        if let Some(weight) = &self.weight {
            writeln!(md, "\n## Page weight (release site)\n")?;
            writeln!(md, "| file | raw | gzip | brotli |\n|---|---|---|---|")?;
            for (name, raw, gzip, brotli) in &weight.files {
                writeln!(
                    md,
                    "| {name} | {} | {} | {} |",
                    kb(*raw),
                    kb(*gzip),
                    kb(*brotli)
                )?;
            }
            let (raw, gzip, brotli) = weight.total();
            writeln!(
                md,
                "| **total** | {} | {} | {} |",
                kb(raw),
                kb(gzip),
                kb(brotli)
            )?;
        }
        if let Some(crates) = &self.wasm_profile {
            let total: u64 = crates.iter().map(|c| c.1).sum();
            writeln!(
                md,
                "\nWhere the WASM bytes go, by crate (`twiggy top` on the WASM before wasm-bindgen and \
                 wasm-opt, code and data, {}; the shipped file is smaller, the shares hold):\n",
                kb(total as usize)
            )?;
            writeln!(md, "| crate | bytes | share |\n|---|---|---|")?;
            for (name, bytes) in crates.iter().take(15) {
                let share = *bytes as f64 * 100.0 / total as f64;
                writeln!(md, "| {name} | {} | {share:.1} % |", kb(*bytes as usize))?;
            }
        }
        std::fs::write(path, md)?;
        Ok(())
    }

    /// #11: writing the audit log's events costs the ceremony path at most
    /// 10 % of its throughput: sign-ins per second before the audit log
    /// (`--baseline-latchkey`) and after, on an empty store, best of two
    /// alternating runs each.
    fn event_cost_targets(&self, md: &mut String) -> std::fmt::Result {
        for engine in ["sqlite", "postgres"] {
            for kind in Kind::ALL {
                let best = |which: &str| {
                    self.event_cost
                        .iter()
                        .filter(|(w, run)| *w == which && run.engine == engine)
                        .filter_map(|(_, run)| run.sign_in(kind).map(|m| m.per_second))
                        .fold(None, |best: Option<f64>, x| {
                            Some(best.map_or(x, |b| b.max(x)))
                        })
                };
                let (Some(before), Some(after)) = (best("before"), best("after")) else {
                    continue;
                };
                let loss = 100.0 * (1.0 - after / before);
                writeln!(
                    md,
                    "| event writes cost ≤ {EVENT_COST_PERCENT:.0} % of {} sign-in throughput ({engine}) | {after:.0}/s with events vs {before:.0}/s before them: {loss:.1} % {} | {} |",
                    kind.name(),
                    if loss >= 0.0 { "less" } else { "(more: noise)" },
                    verdict(loss <= EVENT_COST_PERCENT)
                )?;
            }
        }
        Ok(())
    }

    /// The targets, each measured and marked met or not.
    fn targets(&self, md: &mut String) -> std::fmt::Result {
        let o = &self.options;
        writeln!(md, "## Targets\n")?;
        writeln!(md, "| target | measured | |\n|---|---|---|")?;
        let bare = self.bounds.as_ref().map(Bounds::webauthn_ms);
        for engine in ["sqlite", "postgres"] {
            let Some(run) = self.run(engine, 0) else {
                continue;
            };
            for (kind, limit) in [
                (Kind::Discoverable, CPU_MS_DISCOVERABLE),
                (Kind::IdentifierFirst, CPU_MS_IDENTIFIER_FIRST),
            ] {
                let Some(m) = run.sign_in(kind) else { continue };
                let server = m.server_cpu.ms_per_unit;
                let times_bare = bare
                    .map(|b| {
                        format!(
                            " = {:.1}× the bare verification ({:.0} µs)",
                            server / b,
                            b * 1000.0
                        )
                    })
                    .unwrap_or_default();
                writeln!(
                    md,
                    "| server CPU per {} sign-in ≤ {limit} ms ({engine}) | {server:.3} ms{times_bare}; load generator {:.3} ms beside it | {} |",
                    kind.name(),
                    m.generator_cpu.ms_per_unit,
                    verdict(server <= limit)
                )?;
            }
        }
        if let Some(m) = self
            .run("sqlite", 0)
            .and_then(|r| r.sign_in(Kind::Discoverable))
        {
            let at_users = |met: bool| {
                if o.concurrency == USERS {
                    verdict(met).to_owned()
                } else {
                    format!("not measured ({} users, not {USERS})", o.concurrency)
                }
            };
            writeln!(
                md,
                "| ≥ {SIGN_INS_PER_SECOND:.0} discoverable sign-ins/s with {USERS} users (SQLite) | {:.0}/s with {} users | {} |",
                m.per_second,
                o.concurrency,
                at_users(m.per_second >= SIGN_INS_PER_SECOND)
            )?;
            let p99 = m.timings.steps[4].ms(0.99);
            writeln!(
                md,
                "| p99 ≤ {P99_MS:.0} ms with {USERS} users, no errors (SQLite, discoverable) | p99 {p99:.1} ms, {} errors | {} |",
                m.timings.errors,
                at_users(p99 <= P99_MS && m.timings.errors == 0)
            )?;
        }
        for engine in ["sqlite", "postgres"] {
            if let (Some(empty), Some(full)) =
                (self.run(engine, 0), self.run(engine, o.scale_passkeys))
            {
                let mut cells = Vec::new();
                let mut met = true;
                for kind in Kind::ALL {
                    if let (Some(e), Some(f)) = (empty.sign_in(kind), full.sign_in(kind)) {
                        let (e, f) = (e.timings.steps[4].ms(0.5), f.timings.steps[4].ms(0.5));
                        let ratio = f / e;
                        met &= ratio <= SCALE_RATIO;
                        cells.push(format!(
                            "{}: p50 {f:.2} ms vs {e:.2} ms, {ratio:.2}×",
                            kind.name()
                        ));
                    }
                }
                writeln!(
                    md,
                    "| {} stored passkeys ≤ {SCALE_RATIO}× empty-store latency ({engine}) | {} | {} |",
                    o.scale_passkeys,
                    cells.join("; "),
                    verdict(met)
                )?;
            }
        }
        self.event_cost_targets(md)?;
        if let Some(peak) = self.runs.iter().filter_map(|r| r.peak_rss).max() {
            let mb = peak as f64 / 1_000_000.0;
            writeln!(
                md,
                "| server RSS ≤ {RSS_MB:.0} MB under load | peak {mb:.1} MB | {} |",
                verdict(mb <= RSS_MB)
            )?;
        }
        if let Some(table) = &self.statements {
            let sum = |t: &Table, ceremony: &str| -> u64 {
                t.iter()
                    .filter(|r| r.0 == ceremony)
                    .map(|r| r.2.total())
                    .sum()
            };
            let before = statements::before();
            let cell = |ceremony: &str| {
                if before.is_empty() {
                    format!("{}", sum(table, ceremony))
                } else {
                    format!("{} → {}", sum(&before, ceremony), sum(table, ceremony))
                }
            };
            writeln!(
                md,
                "| a table of statements per ceremony step, before and after | per sign-in: discoverable {}, identifier-first {} | (table below) |",
                cell("discoverable sign-in"),
                cell("identifier-first sign-in"),
            )?;
        }
        if let Some(weight) = &self.weight {
            let (_, _, brotli) = weight.total();
            writeln!(
                md,
                "| page ≤ {} KB brotli (JS + WASM + CSS) | {} | {} |",
                PAGE_BYTES / 1000,
                kb(brotli),
                verdict(brotli <= PAGE_BYTES)
            )?;
        }
        Ok(())
    }

    /// Statements per ceremony step: before (a fixed commit) and after (this build).
    fn statements(&self, md: &mut String) -> std::fmt::Result {
        let Some(after) = &self.statements else {
            return Ok(());
        };
        let before = statements::before();
        writeln!(md, "\n## Statements per ceremony step\n")?;
        writeln!(
            md,
            "Counted in process: the real server (router, middleware, default rate limits, which count \
             in memory) runs inside `latchkey-bench` on a fresh SQLite file, and one registration, one \
             identifier-first and one discoverable sign-in go through it over HTTP, one request at a \
             time, with the app and the API key served from the cache (its clock stands still). A \
             `tracing` layer counts the events sqlx logs under `sqlx::query`: one per query sent to the \
             database, that is one round trip (on SQLite, one hop to its worker thread). A sign-in \
             finish on SQLite sends its four writes (handshake, passkey, user, nonce) as one query \
             of four statements, each conditional on the one before: it counts 1. `BEGIN` and `COMMIT` \
             are not in the count: sqlx's SQLite driver runs them without logging them, so a step that \
             writes in a database transaction makes two round trips more. Nor are the `PRAGMA`s of a newly opened pooled connection (the count runs once uncounted \
             first, so the pool is warm). \"Before\" is commit {}, counted the same way.\n",
            statements::BEFORE_COMMIT
        )?;
        writeln!(
            md,
            "| ceremony | step | before | after |\n|---|---|---|---|"
        )?;
        let show = |c: Option<Count>| match c {
            Some(c) if c.other == 0 => {
                format!("{} ({} read, {} write)", c.total(), c.reads, c.writes)
            }
            Some(c) => format!(
                "{} ({} read, {} write, {} other)",
                c.total(),
                c.reads,
                c.writes,
                c.other
            ),
            None => "?".into(),
        };
        let mut ceremony_totals: Vec<(&str, Count, Option<Count>)> = Vec::new();
        for &(ceremony, step, count) in after {
            let was = before
                .iter()
                .find(|r| r.0 == ceremony && r.1 == step)
                .map(|r| r.2);
            writeln!(
                md,
                "| {ceremony} | {step} | {} | {} |",
                show(was),
                show(Some(count))
            )?;
            match ceremony_totals.iter_mut().find(|t| t.0 == ceremony) {
                Some(total) => {
                    total.1 = add(total.1, count);
                    total.2 = total.2.zip(was).map(|(a, b)| add(a, b));
                }
                None => ceremony_totals.push((ceremony, count, was)),
            }
        }
        for (ceremony, after, before) in ceremony_totals {
            writeln!(
                md,
                "| **{ceremony}** | **all steps** | {} | {} |",
                show(before),
                show(Some(after))
            )?;
        }
        Ok(())
    }

    /// Where a target is missed: where the time or the bytes go, and what would close the gap.
    fn gaps(&self, md: &mut String) -> std::fmt::Result {
        writeln!(md, "\n## Where the gaps are\n")?;
        if let (Some(bounds), Some(m)) = (
            &self.bounds,
            self.run("sqlite", 0)
                .and_then(|r| r.sign_in(Kind::Discoverable)),
        ) {
            let server = m.server_cpu.ms_per_unit;
            let generator = m.generator_cpu.ms_per_unit;
            let cores = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1) as f64;
            let ceiling = cores * 1000.0 / (server + generator);
            let mean_ms = self.options.concurrency as f64 / m.per_second * 1000.0;
            writeln!(
                md,
                "- **CPU and throughput (SQLite, discoverable).** The server spent {server:.3} ms of CPU per \
                 sign-in, {:.1}× the bare webauthn-rs verification ({:.0} µs); the rest is HTTP, JSON and \
                 the statements counted below. The load generator spent {generator:.3} ms beside it. On \
                 {cores:.0} cores shared by both, the ceiling is {cores:.0} × 1000 / ({server:.3} + \
                 {generator:.3}) ≈ {ceiling:.0} sign-ins/s; the run did {:.0}/s, each taking {mean_ms:.1} ms \
                 on average with {} in flight (Little's law). {}{} Where the server's time goes \
                 (`perf record` on the server under this load, by crate; `make profile` for the in-process \
                 ceremony): about a quarter is P-256 arithmetic (webauthn-rs verifies ES256 with RustCrypto \
                 `p256` through `crypto-glue`), a quarter the kernel (context switches between tokio's \
                 workers and sqlx's SQLite worker threads, socket and WAL writes), an eighth malloc and \
                 free, a tenth hyper, axum and tower, the rest SQLite, sqlx, tokio, tracing and JSON. What \
                 would close it: a faster P-256 verifier under webauthn-rs, SQLite without a thread hop \
                 per statement (a connection used in place, not through a worker thread), fewer \
                 allocations per request, and the load generator on another machine.",
                server / bounds.webauthn_ms(),
                bounds.webauthn_ms() * 1000.0,
                m.per_second,
                self.options.concurrency,
                {
                    let (server_use, generator_use) = m.cpu_use();
                    if server_use + generator_use < 90.0 * cores {
                        format!(
                            "The cores were not saturated (server {server_use:.0} %, generator \
                             {generator_use:.0} % of {:.0} %): requests also wait on something other \
                             than CPU (SQLite's one writer, the pool). ",
                            100.0 * cores
                        )
                    } else {
                        String::new()
                    }
                },
                if ceiling < SIGN_INS_PER_SECOND {
                    format!(
                        "{SIGN_INS_PER_SECOND:.0}/s needs server + generator ≤ {:.2} ms per sign-in.",
                        cores * 1000.0 / SIGN_INS_PER_SECOND
                    )
                } else {
                    String::new()
                },
            )?;
        }
        if let Some(weight) = &self.weight {
            let (_, _, brotli) = weight.total();
            if brotli > PAGE_BYTES {
                let wasm = weight
                    .files
                    .iter()
                    .find(|f| f.0.ends_with(".wasm"))
                    .map(|f| f.3)
                    .unwrap_or(0);
                writeln!(
                    md,
                    "- **Page weight.** The WASM is {} of the {} (brotli): the whole site is one bundle (four \
                     routes, the server-function client, the router and the reactive runtime of Leptos, \
                     serde_json for the WebAuthn JSON). It is already built with `opt-level = \"z\"`, LTO, one \
                     codegen unit, `panic = \"abort\"` and `wasm-opt -Oz`. What would close it: lazy routes \
                     (Leptos 0.8 `#[lazy]` split the account and sign-in pages out of the first load), dropping \
                     serde_json from the browser client (build the WebAuthn objects with js-sys and \
                     `JSON.parse` only), and a per-crate size profile (`twiggy top`) to find the next largest \
                     pieces.",
                    kb(wasm),
                    kb(brotli)
                )?;
            }
        }
        Ok(())
    }
}

fn add(a: Count, b: Count) -> Count {
    Count {
        reads: a.reads + b.reads,
        writes: a.writes + b.writes,
        other: a.other + b.other,
    }
}
