//! `latchkey doctor`: checks a configuration before it is served, one line per
//! check, each problem with what to do about it.

use std::{
    fmt,
    time::{SystemTime, UNIX_EPOCH},
};

use crate::{
    config::{has_site, redact, PublicUrl, SiteFiles},
    flex::{
        apps::NewApp,
        clock::Clock,
        signing::{SecretKey, Signing},
        Flex,
    },
    store::{Engine, Store},
};

/// What `doctor` looks at: the configuration `serve` would run with.
pub struct Checkup<'a> {
    pub public_url: &'a str,
    pub database_url: &'a str,
    pub site: &'a SiteFiles,
    /// Whether any per-IP rate limit counts (`--rate-limit-ip`, `--rate-limit-management-ip`).
    pub limits_per_ip: bool,
    pub trusted_proxies: usize,
    /// `--secret-key` (`LATCHKEY_SECRET_KEY`), which seals apps' signing keys.
    pub secret_key: Option<&'a SecretKey>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Worth knowing; serving works.
    Warn,
    /// Serving would fail or misbehave.
    Fail,
}

/// One check's answer: what was checked, and for a problem, how to fix it.
#[derive(Debug)]
pub struct Finding {
    pub verdict: Verdict,
    pub text: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        };
        write!(f, "{tag}  {}", self.text)
    }
}

fn found(verdict: Verdict, text: impl Into<String>) -> Finding {
    Finding {
        verdict,
        text: text.into(),
    }
}

/// A clock this far from the database's fails (sessions, lifetimes and
/// WebAuthn timeouts are minutes); a few seconds only warns.
const CLOCK_FAIL_SECS: f64 = 60.0;
const CLOCK_WARN_SECS: f64 = 5.0;

pub async fn check(checkup: &Checkup<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let public_url = match PublicUrl::parse(checkup.public_url) {
        Ok(url) => {
            findings.push(found(Verdict::Ok, format!("public URL {}", url.origin())));
            Some(url)
        }
        Err(error) => {
            findings.push(found(
                Verdict::Fail,
                format!(
                    "public URL: {error:#}. Set --public-url (LATCHKEY_PUBLIC_URL) to the https:// \
                     origin people reach Latchkey at (http only on localhost)"
                ),
            ));
            None
        }
    };
    findings.push(site_check(checkup.site));
    findings.push(proxy_check(checkup, public_url.as_ref()));
    findings.extend(database_checks(checkup.database_url, checkup.secret_key).await);
    findings
}

fn site_check(site: &SiteFiles) -> Finding {
    match site {
        SiteFiles::Embedded => found(Verdict::Ok, "site assets: inside the binary"),
        SiteFiles::Folder(folder) => {
            // `latchkey.js`, or `latchkey.<hash>.js` (cargo-leptos's hash-files).
            let names: Vec<String> = std::fs::read_dir(folder.join("pkg"))
                .map(|dir| {
                    dir.filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            let has = |extension: &str| {
                names
                    .iter()
                    .any(|name| name.starts_with("latchkey") && name.ends_with(extension))
            };
            let missing: Vec<&str> = [("pkg/latchkey.js", ".js"), ("pkg/latchkey.css", ".css")]
                .into_iter()
                .filter(|(_, extension)| !has(extension))
                .map(|(file, _)| file)
                .collect();
            let wasm = has(".wasm");
            if has_site(folder) && missing.is_empty() && wasm {
                found(Verdict::Ok, format!("site assets in {}", folder.display()))
            } else {
                found(
                    Verdict::Fail,
                    format!(
                        "site assets missing in {} ({}): build them with `cargo leptos build \
                         --release` and pass --site-root (LATCHKEY_SITE_ROOT) the folder holding \
                         pkg/, or run a binary from `make dist`, which carries them",
                        folder.display(),
                        if wasm {
                            missing.join(", ")
                        } else {
                            [missing, vec!["the WASM"]].concat().join(", ")
                        }
                    ),
                )
            }
        }
    }
}

/// Latchkey speaks plain HTTP: an https public URL means a proxy ends TLS in
/// front of it, and without `--trusted-proxy` every client would share the
/// proxy's address in the per-IP rate limits.
fn proxy_check(checkup: &Checkup<'_>, public_url: Option<&PublicUrl>) -> Finding {
    let behind_proxy = public_url.is_some_and(|url| url.origin().starts_with("https://"));
    match (behind_proxy, checkup.trusted_proxies, checkup.limits_per_ip) {
        (true, 0, true) => found(
            Verdict::Fail,
            "rate limits: the public URL is https, so a proxy ends TLS in front of Latchkey, but \
             no --trusted-proxy is set: every client would count as the proxy's address. Pass \
             --trusted-proxy with the proxy's address or CIDR (LATCHKEY_TRUSTED_PROXIES)",
        ),
        (true, 0, false) => found(
            Verdict::Warn,
            "rate limits per IP are off; behind a proxy, set --trusted-proxy before turning them on",
        ),
        (_, 0, _) => found(Verdict::Ok, "rate limits: clients connect directly"),
        (_, n, _) => found(
            Verdict::Ok,
            format!("rate limits: {n} trusted proxy network(s) name the client"),
        ),
    }
}

async fn database_checks(database_url: &str, secret_key: Option<&SecretKey>) -> Vec<Finding> {
    let redacted = redact(database_url);
    // Opening a SQLite file creates it: the doctor only looks.
    if let Some(file) = sqlite_file(database_url) {
        if !file.exists() {
            return vec![found(
                Verdict::Warn,
                format!(
                    "database {redacted}: the file does not exist yet; `latchkey serve` creates \
                     it (is this the path you meant?)"
                ),
            )];
        }
    }
    let store = match Store::open(database_url).await {
        Ok(store) => store,
        Err(error) => {
            return vec![found(
                Verdict::Fail,
                format!(
                    "database {redacted}: {}. Check DATABASE_URL (sqlite://FILE in a writable \
                     folder, or postgres://user:password@host/db) and that the server is up",
                    error_chain(&error)
                ),
            )]
        }
    };
    let mut findings = Vec::new();
    match store.ping().await {
        Ok(()) => findings.push(found(Verdict::Ok, format!("database {redacted} answers"))),
        Err(error) => {
            findings.push(found(
                Verdict::Fail,
                format!("database {redacted} does not answer: {error}. Check DATABASE_URL"),
            ));
            return findings;
        }
    }
    match store.schema_status().await {
        Ok(status) => {
            let pending = status.pending(store.migrations());
            if let Some(newer) = status.newer() {
                findings.push(found(
                    Verdict::Fail,
                    format!(
                        "schema: version {newer} is newer than this binary knows ({}): run the \
                         Latchkey that migrated it or a newer one, or restore a backup taken \
                         before the upgrade",
                        status.known
                    ),
                ));
            } else if pending.is_empty() {
                findings.push(found(
                    Verdict::Ok,
                    format!("schema: up to date (version {})", status.known),
                ));
            } else {
                findings.push(found(
                    Verdict::Warn,
                    format!(
                        "schema: {} migration(s) to apply ({:?}); `latchkey serve` applies them \
                         when it starts (take a backup first: `latchkey backup`, or pg_dump)",
                        pending.len(),
                        pending
                    ),
                ));
            }
            if !status.applied.is_empty() {
                if let Ok(apps) = store.list_apps().await {
                    findings.extend(app_checks(&apps));
                }
                findings.extend(signing_checks(&store, secret_key).await);
            }
        }
        Err(error) => findings.push(found(
            Verdict::Fail,
            format!("schema: could not read it: {error}"),
        )),
    }
    findings.push(clock_check(&store).await);
    store.close().await;
    findings
}

/// Every stored app's RP ID covers its origins (as `apps create` checked).
fn app_checks(apps: &[crate::store::AppRow]) -> Vec<Finding> {
    let wrong: Vec<Finding> = apps
        .iter()
        .filter_map(|app| {
            NewApp::parse(&app.name, &app.origins.0, Some(&app.rp_id))
                .err()
                .map(|error| {
                    found(
                        Verdict::Fail,
                        format!(
                            "app {} ({}): {error}. Its RP ID must be the origins' host or a \
                             registrable suffix of it: create the app again with the right \
                             --rp-id and --origin",
                            app.id, app.name
                        ),
                    )
                })
        })
        .collect();
    if wrong.is_empty() {
        vec![found(
            Verdict::Ok,
            format!("apps: {} with RP IDs that cover their origins", apps.len()),
        )]
    } else {
        wrong
    }
}

/// Every app with signed results on can sign: the secret key is set and opens
/// its signing key (what `serve` refuses to start without).
async fn signing_checks(store: &Store, secret_key: Option<&SecretKey>) -> Vec<Finding> {
    let flex = Flex::new(store.clone(), Clock::system()).with_signing(Signing {
        secret_key: secret_key.cloned(),
        public_origin: None,
    });
    match flex.signing_key_problems().await {
        Ok(problems) if problems.is_empty() => vec![found(
            Verdict::Ok,
            match secret_key {
                Some(_) => "signed results: every app that has them on can sign",
                None => "signed results: no app has them on (and no secret key is set)",
            },
        )],
        Ok(problems) => problems
            .into_iter()
            .map(|problem| found(Verdict::Fail, format!("signed results: {problem}")))
            .collect(),
        Err(error) => vec![found(
            Verdict::Warn,
            format!("signed results: not checked ({error}); `latchkey serve` checks them"),
        )],
    }
}

async fn clock_check(store: &Store) -> Finding {
    if store.engine() == Engine::Sqlite {
        return found(
            Verdict::Ok,
            "clock: not compared (SQLite reads this machine's clock; keep it synchronised with NTP)",
        );
    }
    let local = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    match store.database_clock().await {
        Ok(database) => {
            let off = (local - database).abs();
            let verdict = if off >= CLOCK_FAIL_SECS {
                Verdict::Fail
            } else if off >= CLOCK_WARN_SECS {
                Verdict::Warn
            } else {
                Verdict::Ok
            };
            let advice = if verdict == Verdict::Ok {
                ""
            } else {
                ": synchronise this machine's clock (NTP); lifetimes and ceremonies are timed"
            };
            found(
                verdict,
                format!("clock: {off:.1} s from the database server's{advice}"),
            )
        }
        Err(error) => found(
            Verdict::Warn,
            format!("clock: could not read the database's: {error}"),
        ),
    }
}

/// The file a `sqlite://` URL names.
fn sqlite_file(database_url: &str) -> Option<std::path::PathBuf> {
    use std::str::FromStr;
    (Engine::of_url(database_url).ok()? == Engine::Sqlite).then(|| {
        sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
            .ok()
            .map(|options| options.get_filename().to_path_buf())
    })?
}

/// An error and its causes, in one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
