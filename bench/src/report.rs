//! BENCHMARKS.md: the numbers, the machine, the command, and each target met or not.

use std::{fmt::Write as _, path::Path};

use crate::{
    inprocess::Bounds,
    load::{Run, STEPS},
    weight::Weight,
    Options,
};

pub struct Report {
    options: Options,
    pub bounds: Option<Bounds>,
    pub runs: Vec<Run>,
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
            runs: Vec::new(),
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
            "Each sign-in run: {} virtual users, {} s; registration run: {} s. Numbers from one run on a shared, noisy machine: compare ratios within this file, not across files.\n",
            o.concurrency, o.duration, o.register_duration
        )?;

        writeln!(md, "## Targets\n")?;
        writeln!(md, "| target | measured | |\n|---|---|---|")?;
        if let (Some(bounds), Some(sqlite)) = (&self.bounds, self.run("sqlite", 0)) {
            let share = sqlite.sign_ins_per_second / bounds.core_per_second;
            writeln!(
                md,
                "| HTTP sign-in ≥ 60 % of the in-process bound (SQLite) | {:.0}/s over HTTP vs {:.0}/s in process: {:.0} % | {} |",
                sqlite.sign_ins_per_second, bounds.core_per_second, share * 100.0, verdict(share >= 0.6)
            )?;
            let p99 = sqlite.sign_in.steps[4].ms(0.99);
            writeln!(
                md,
                "| p99 ≤ 25 ms with {} users, no errors (SQLite) | p99 {:.1} ms, {} errors | {} |",
                o.concurrency,
                p99,
                sqlite.sign_in.errors,
                verdict(p99 <= 25.0 && sqlite.sign_in.errors == 0)
            )?;
        }
        for engine in ["sqlite", "postgres"] {
            if let (Some(empty), Some(full)) =
                (self.run(engine, 0), self.run(engine, o.scale_passkeys))
            {
                let ratio = full.sign_in.steps[4].ms(0.5) / empty.sign_in.steps[4].ms(0.5);
                writeln!(
                    md,
                    "| {} stored passkeys ≤ 1.25× empty-store latency ({engine}) | p50 {:.2} ms vs {:.2} ms: {:.2}× | {} |",
                    o.scale_passkeys, full.sign_in.steps[4].ms(0.5), empty.sign_in.steps[4].ms(0.5), ratio, verdict(ratio <= 1.25)
                )?;
            }
        }
        if let Some(peak) = self.runs.iter().filter_map(|r| r.peak_rss).max() {
            let mb = peak as f64 / 1_000_000.0;
            writeln!(
                md,
                "| server RSS ≤ 64 MB under load | peak {mb:.1} MB | {} |",
                verdict(mb <= 64.0)
            )?;
        }
        if let Some(weight) = &self.weight {
            let (_, _, brotli) = weight.total();
            writeln!(
                md,
                "| page ≤ 120 KB brotli (JS + WASM + CSS) | {} | {} |",
                kb(brotli),
                verdict(brotli <= 120_000)
            )?;
        }

        self.gaps(&mut md)?;

        if let Some(bounds) = &self.bounds {
            writeln!(md, "\n## The in-process bound (one core)\n")?;
            writeln!(md, "| what | per second |\n|---|---|")?;
            writeln!(md, "| full sign-in through the core, no HTTP (SQLite, software passkey signing included) | {:.0} |", bounds.core_per_second)?;
            writeln!(
                md,
                "| bare webauthn-rs `finish_passkey_authentication` | {:.0} |",
                bounds.webauthn_per_second
            )?;
        }

        writeln!(md, "\n## Over HTTP\n")?;
        writeln!(md, "| engine | stored passkeys | sign-ins/s | registrations/s | errors | server peak RSS |\n|---|---|---|---|---|---|")?;
        for run in &self.runs {
            writeln!(
                md,
                "| {} | {} | {:.0} | {:.0} | {} | {} |",
                run.engine,
                run.stored,
                run.sign_ins_per_second,
                run.registrations_per_second,
                run.sign_in.errors + run.register.errors,
                run.peak_rss
                    .map(|b| format!("{:.1} MB", b as f64 / 1e6))
                    .unwrap_or_else(|| "?".into())
            )?;
        }
        writeln!(
            md,
            "\nSign-in latency per step, milliseconds (p50 / p95 / p99):\n"
        )?;
        writeln!(
            md,
            "| engine | stored | {} |\n|---|---|---|---|---|---|---|",
            STEPS.join(" | ")
        )?;
        for run in &self.runs {
            let cells: Vec<String> = run
                .sign_in
                .steps
                .iter()
                .map(|s| format!("{:.1} / {:.1} / {:.1}", s.ms(0.5), s.ms(0.95), s.ms(0.99)))
                .collect();
            writeln!(
                md,
                "| {} | {} | {} |",
                run.engine,
                run.stored,
                cells.join(" | ")
            )?;
        }
        writeln!(
            md,
            "\nRegistration latency per step, milliseconds (p50 / p99):\n"
        )?;
        writeln!(
            md,
            "| engine | stored | {} |\n|---|---|---|---|---|---|---|",
            STEPS.join(" | ")
        )?;
        for run in &self.runs {
            let cells: Vec<String> = run
                .register
                .steps
                .iter()
                .map(|s| format!("{:.1} / {:.1}", s.ms(0.5), s.ms(0.99)))
                .collect();
            writeln!(
                md,
                "| {} | {} | {} |",
                run.engine,
                run.stored,
                cells.join(" | ")
            )?;
        }

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

    /// Where a target is missed: where the time or the bytes go, and what would close the gap.
    fn gaps(&self, md: &mut String) -> std::fmt::Result {
        writeln!(md, "\n## Where the gaps are\n")?;
        if let (Some(bounds), Some(sqlite)) = (&self.bounds, self.run("sqlite", 0)) {
            let p99 = sqlite.sign_in.steps[4].ms(0.99);
            if p99 > 25.0 {
                let mean_ms = self.options.concurrency as f64 / sqlite.sign_ins_per_second * 1000.0;
                let cpu_ms = 2000.0 / sqlite.sign_ins_per_second;
                writeln!(
                    md,
                    "- **p99 latency.** The run is CPU-bound: {} users keep {:.0} ceremonies/s in flight, so each waits \
                     {:.0} ms on average (Little's law), while the two cores spend {:.1} ms of CPU per ceremony \
                     (server and load generator together). A ceremony is four requests; the per-step table below \
                     shows no single step dominating. In process, one core does {:.0} full ceremonies/s, of which \
                     webauthn-rs verification is {:.0} µs ({:.0}/s): the rest is storage (sqlx's `Any` driver over \
                     SQLite, about ten statements per ceremony, each through the row conversion of `Any`) and JSON. \
                     p99 ≤ 25 ms at 32 users needs roughly {:.0}× less CPU per ceremony, or fewer concurrent users \
                     per core. What would close it: the native sqlx drivers instead of `Any` (typed rows, cached \
                     prepared statements), caching the app and API-key lookups for a few seconds, folding the \
                     consume and the writes of a finish into fewer statements, and running the load generator on \
                     another machine.",
                    self.options.concurrency,
                    sqlite.sign_ins_per_second,
                    mean_ms,
                    cpu_ms,
                    bounds.core_per_second,
                    1e6 / bounds.webauthn_per_second,
                    bounds.webauthn_per_second,
                    p99 / 25.0,
                )?;
            }
        }
        if let Some(weight) = &self.weight {
            let (_, _, brotli) = weight.total();
            if brotli > 120_000 {
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
