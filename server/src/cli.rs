//! The command line of the `latchkey` binary.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::{
    config::{find_site, Config, PublicUrl},
    flex::{
        apps,
        clock::Clock,
        ids::{ApiKeyId, AppId},
        signing::{SecretKey, Signing},
        webhooks::WebhookSettings,
        Flex, FlexError,
    },
    metrics::MetricsToken,
    startup::{shutdown_signal, Application},
    store::Store,
    telemetry::{self, LogFormat},
    traffic::{
        client_ip::{self, TrustedProxies},
        limits::RateLimitConfig,
    },
};

/// Self-hosted passkeys for applications that already have users.
///
/// Speaks Passage's Passkey Flex API. With no command, `latchkey` serves.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    serve: ServeArgs,

    #[command(flatten)]
    global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the REST API and the built-in site (the default).
    Serve(ServeArgs),
    /// Create and list apps (each application that uses Latchkey is one app).
    #[command(subcommand)]
    Apps(AppsCommand),
    /// Create and revoke an app's API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Rotate the keys an app's signed results are signed with.
    #[command(subcommand)]
    SigningKeys(crate::apps_cli::SigningKeysCommand),
    /// Invite, list and revoke the console's operators (who sign in to
    /// /console with passkeys; there are no operator passwords).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Add, list and remove an app's webhook endpoints, and rotate their
    /// secrets (Standard Webhooks; the server delivers the app's events).
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Write an app's users and passkeys in Latchkey's export format (JSON
    /// Lines, docs/EXPORT-FORMAT.md), public keys and all.
    Export {
        #[arg(long = "app")]
        app_id: String,
        /// The file to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import users and passkeys into an app: from an export (or the format
    /// written by anyone), a users CSV, or a better-auth database
    /// (sqlite://FILE or postgres://…). Rows already there are skipped, so it
    /// can be run again; prints a report.
    Import {
        #[arg(long = "app")]
        app_id: String,
        /// Check everything and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// A file, or a better-auth database URL.
        source: String,
    },
    /// Print the REST API's OpenAPI 3.1 document (what `GET /v1/openapi.json`
    /// serves), to generate a client or check it; needs no database.
    Openapi,
    /// Check a configuration before serving it (the same options as `serve`):
    /// one line per check, each problem with its fix; exits 1 on any problem.
    Doctor(ServeArgs),
    /// Copy a SQLite store, consistently, while the server runs (`VACUUM INTO`).
    /// For PostgreSQL, use pg_dump (the refusal says how).
    Backup {
        /// The backup to write: a new file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a backup in place of the SQLite store DATABASE_URL names, the
    /// server stopped; then bring it to this version's schema.
    Restore {
        /// The backup to restore (a file `latchkey backup` wrote).
        #[arg(long)]
        from: PathBuf,
        /// Replace a store that holds apps or users (refused otherwise).
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AppsCommand {
    /// Create an app and its first API key (shown once).
    Create {
        /// A name people read.
        #[arg(long)]
        name: String,
        /// An origin passkeys are used from, exactly: https://host[:port],
        /// http://localhost[:port] (or *.localhost), or android:apk-key-hash:
        /// and the base64url SHA-256 of the app's signing certificate (43
        /// characters); repeat for several.
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        /// The WebAuthn RP ID (default: the host of the first origin).
        #[arg(long)]
        rp_id: Option<String>,
        /// A related origin (Related Origin Requests), as `apps update` takes
        /// it; repeat for several.
        #[arg(long = "related-origin", value_name = "URL")]
        related_origins: Vec<String>,
        #[command(flatten)]
        limits: crate::apps_cli::AppLimits,
        #[command(flatten)]
        policy: crate::apps_cli::PolicyArgs,
        /// Print JSON: {"app_id", "api_key", "key_id", "rp_id", "origins", "related_origins"}.
        #[arg(long)]
        json: bool,
    },
    /// Change an app: only the options given change, each checked as `apps
    /// create` checks it.
    Update {
        app_id: String,
        #[command(flatten)]
        changes: crate::apps_cli::AppChanges,
        /// Print the app as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the apps.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create another API key for an app (shown once).
    Create {
        #[arg(long = "app")]
        app_id: String,
        /// Print JSON: {"app_id", "key_id", "api_key"}.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API key: it stops working within about a second on every
    /// instance (each caches live keys for one second).
    Revoke {
        #[arg(long = "app")]
        app_id: String,
        /// The key's id (printed when it was created), not the key itself.
        #[arg(long = "key")]
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Print a one-time link (single use, short-lived) that registers a new
    /// operator's passkey for the console.
    Invite {
        /// The operator's name, as the console shows it.
        #[arg(long, default_value = "Operator")]
        name: String,
        /// Seconds the link lives (1 to 604800, default 3600).
        #[arg(long, value_name = "SECS", default_value_t = 3600)]
        ttl: u64,
        /// The URL the console is served at (as `serve --public-url`).
        #[arg(
            long,
            env = "LATCHKEY_PUBLIC_URL",
            default_value = "http://localhost:3000"
        )]
        public_url: String,
        /// Print JSON: {"url", "expires_at"}.
        #[arg(long)]
        json: bool,
    },
    /// List the operators: name, created, last sign-in, passkeys.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an operator: their sessions end and their passkeys stop working at once.
    Revoke {
        /// The operator's id (from `admin list`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum WebhooksCommand {
    /// Add an endpoint to an app; prints its id and its secret (`whsec_…`),
    /// shown only now.
    Add {
        #[arg(long = "app")]
        app_id: String,
        /// Where to deliver: https://… (or http://…). A private or loopback
        /// address is refused unless allowed.
        #[arg(long)]
        url: String,
        /// An event type to deliver, of the audit log's (e.g. `nonce.verified`,
        /// `webhook.created`); repeat for several. Default: every type.
        #[arg(long = "event", value_name = "TYPE")]
        events: Vec<String>,
        /// Accept a private, loopback or link-local address (as `serve
        /// --webhook-allow-private`, which delivery to it needs too).
        #[arg(long, env = "LATCHKEY_WEBHOOK_ALLOW_PRIVATE")]
        webhook_allow_private: bool,
        /// Print JSON: {"id", "url", "event_types", "secret", ...}.
        #[arg(long)]
        json: bool,
    },
    /// List an app's endpoints (never their secrets).
    List {
        #[arg(long = "app")]
        app_id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an endpoint, and its undelivered messages with it.
    Remove {
        #[arg(long = "app")]
        app_id: String,
        /// The endpoint's id (`wh_…`).
        id: String,
    },
    /// Give an endpoint a new secret (printed once); the old one signs too
    /// for 24 hours, so receivers can switch without losing a message.
    RotateSecret {
        #[arg(long = "app")]
        app_id: String,
        /// The endpoint's id (`wh_…`).
        id: String,
        /// Print JSON: {"id", "secret", "previous_secret_expires_at", ...}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// The database: `sqlite://FILE` (created if missing) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://latchkey.db",
        global = true,
        hide_env_values = true
    )]
    database_url: String,

    /// How logs are written (to standard error); `RUST_LOG` filters them.
    #[arg(
        long,
        env = "LATCHKEY_LOG_FORMAT",
        value_enum,
        default_value_t,
        global = true
    )]
    log_format: LogFormat,

    /// 32 random bytes in base64 that seal apps' signing keys (signed
    /// results): `openssl rand -base64 32`. The same on every instance; back it
    /// up, as the signing keys are lost without it. Prefer the variable, which
    /// `ps` does not show.
    #[arg(
        long,
        env = "LATCHKEY_SECRET_KEY",
        global = true,
        hide_env_values = true,
        value_name = "BASE64",
        value_parser = SecretKeyParser
    )]
    secret_key: Option<SecretKey>,
}

/// Reads `--secret-key`, refusing a malformed one without echoing it (clap's
/// own refusal would print the value).
#[derive(Clone)]
struct SecretKeyParser;

impl clap::builder::TypedValueParser for SecretKeyParser {
    type Value = SecretKey;

    fn parse_ref(
        &self,
        command: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<SecretKey, clap::Error> {
        SecretKey::parse(value.to_str().unwrap_or_default()).map_err(|why| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("--secret-key (LATCHKEY_SECRET_KEY): {why}\n"),
            )
            .with_cmd(command)
        })
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The address to listen on, `host:port` (port 0 picks a free port).
    #[arg(long, env = "LATCHKEY_LISTEN", default_value = "localhost:3000")]
    listen: String,

    /// The origin the built-in site is served at (its passkeys' origin and RP ID).
    #[arg(
        long,
        env = "LATCHKEY_PUBLIC_URL",
        default_value = "http://localhost:3000"
    )]
    public_url: String,

    /// The folder of the built site (holding `pkg/`). Default: beside the binary,
    /// or where cargo-leptos put it, or `target/site`.
    #[arg(long, env = "LATCHKEY_SITE_ROOT")]
    site_root: Option<PathBuf>,

    /// Client API requests per second per client IP (0: no limit).
    #[arg(long, env = "LATCHKEY_RATE_LIMIT_IP", default_value_t = RateLimitConfig::default().per_ip)]
    rate_limit_ip: u32,

    /// Client API requests per second per app (0: no limit).
    #[arg(long, env = "LATCHKEY_RATE_LIMIT_APP", default_value_t = RateLimitConfig::default().per_app)]
    rate_limit_app: u32,

    /// Seconds a request may take, reading its body included, before 408.
    #[arg(
        long,
        env = "LATCHKEY_REQUEST_TIMEOUT",
        default_value_t = 30,
        value_name = "SECS"
    )]
    request_timeout: u64,

    /// Count rate limits in the database, shared by every instance on it
    /// (costs one write per request); otherwise each instance counts its own.
    #[arg(long, env = "LATCHKEY_RATE_LIMIT_SHARED")]
    rate_limit_shared: bool,

    /// Management API requests per second per API key (0: no limit).
    #[arg(long, env = "LATCHKEY_RATE_LIMIT_KEY", default_value_t = RateLimitConfig::default().per_key)]
    rate_limit_key: u32,

    /// Management API requests per second per client IP, counted before the
    /// API key is looked up (0: no limit).
    #[arg(long, env = "LATCHKEY_RATE_LIMIT_MANAGEMENT_IP", default_value_t = RateLimitConfig::default().per_management_ip)]
    rate_limit_management_ip: u32,

    /// A reverse proxy (CIDR or address) whose X-Forwarded-For / Forwarded
    /// header names the client, for per-IP limits; repeat for several, or
    /// comma-separate them in the variable. Default: none, the peer is the client.
    #[arg(
        long = "trusted-proxy",
        env = "LATCHKEY_TRUSTED_PROXIES",
        value_name = "CIDR",
        value_delimiter = ',',
        value_parser = client_ip::parse_cidr
    )]
    trusted_proxies: Vec<ipnet::IpNet>,

    /// Days the audit log keeps an event; older ones are deleted.
    #[arg(
        long,
        env = "LATCHKEY_EVENT_RETENTION_DAYS",
        default_value_t = 90,
        value_name = "DAYS",
        value_parser = clap::value_parser!(u32).range(1..=36_500)
    )]
    event_retention_days: u32,

    /// A bearer token `GET /metrics` asks for (`Authorization: Bearer …`);
    /// prefer the variable, which `ps` does not show. Default: none, the
    /// endpoint is open (keep it private at the proxy).
    #[arg(
        long,
        env = "LATCHKEY_METRICS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = MetricsToken::parse
    )]
    metrics_token: Option<MetricsToken>,

    /// Let webhooks reach private, loopback, link-local and unique-local
    /// addresses (refused by default: SSRF).
    #[arg(long, env = "LATCHKEY_WEBHOOK_ALLOW_PRIVATE")]
    webhook_allow_private: bool,

    /// Milliseconds between the webhook worker's looks for due messages.
    #[arg(
        long,
        env = "LATCHKEY_WEBHOOK_POLL_MS",
        default_value_t = 1000,
        value_name = "MS",
        value_parser = clap::value_parser!(u64).range(10..=60_000)
    )]
    webhook_poll_ms: u64,

    /// A PEM file of attestation CA certificates to trust, besides the
    /// bundled ones, for apps with "attested only" on (your own fleet's CA,
    /// another vendor's root).
    #[arg(long, env = "LATCHKEY_ATTESTATION_CA", value_name = "FILE")]
    attestation_ca: Option<std::path::PathBuf>,
}

/// Parses the command line, runs the command, and reports a failure on
/// standard error with its causes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.global.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&anyhow::Error::new(error).context("could not start tokio")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    tracing::error!(error = format!("{error:#}"), "latchkey stopped");
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // What a command changes is recorded as done by `cli`; a server's
    // requests set their own context.
    if matches!(cli.command, None | Some(Command::Serve(_))) {
        return run_command(cli).await;
    }
    let context = crate::flex::events::Context {
        actor: Some("cli".to_owned()),
        ..Default::default()
    };
    context.scope(run_command(cli)).await
}

async fn run_command(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve(cli.serve, cli.global).await,
        Some(Command::Serve(args)) => serve(args, cli.global).await,
        Some(Command::Apps(command)) => apps_command(command, &cli.global).await,
        Some(Command::Keys(command)) => keys_command(command, &cli.global).await,
        Some(Command::SigningKeys(command)) => {
            let flex = core(&cli.global).await?;
            let done = crate::apps_cli::signing_keys(&flex, command).await;
            flex.store().close().await;
            done
        }
        Some(Command::Admin(command)) => admin_command(command, &cli.global).await,
        Some(Command::Webhooks(command)) => webhooks_command(command, &cli.global).await,
        Some(Command::Doctor(args)) => doctor(args, &cli.global).await,
        Some(Command::Backup { out }) => {
            let store = Store::open(&cli.global.database_url)
                .await
                .context("could not open the database (DATABASE_URL)")?;
            store.backup_to(&out).await?;
            let contents = store.contents().await?;
            store.close().await;
            println!(
                "Backed up {} apps, {} users and {} passkeys to {}",
                contents.apps,
                contents.users,
                contents.passkeys,
                out.display()
            );
            Ok(())
        }
        Some(Command::Restore { from, replace }) => {
            let contents = crate::store::restore(&from, &cli.global.database_url, replace).await?;
            println!(
                "Restored {} apps, {} users and {} passkeys from {}",
                contents.apps,
                contents.users,
                contents.passkeys,
                from.display()
            );
            Ok(())
        }
        Some(Command::Export { app_id, out }) => {
            let flex = Flex::new(connect(&cli.global).await?, Clock::system());
            crate::transfer_cli::export(&flex, &app_id, out.as_deref()).await
        }
        Some(Command::Import {
            app_id,
            dry_run,
            source,
        }) => {
            let flex = Flex::new(connect(&cli.global).await?, Clock::system());
            crate::transfer_cli::import(&flex, &app_id, &source, dry_run).await
        }
        Some(Command::Openapi) => {
            println!(
                "{}",
                serde_json::to_string_pretty(crate::routes::openapi())?
            );
            Ok(())
        }
    }
}

async fn connect(global: &GlobalArgs) -> anyhow::Result<Store> {
    Store::connect(&global.database_url)
        .await
        .context("could not open the database (DATABASE_URL)")
}

/// The core over the database, with the secret key (a command signs nothing,
/// so it has no issuer).
async fn core(global: &GlobalArgs) -> anyhow::Result<Flex> {
    Ok(
        Flex::new(connect(global).await?, Clock::system()).with_signing(Signing {
            secret_key: global.secret_key.clone(),
            public_origin: None,
        }),
    )
}

async fn apps_command(command: AppsCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let flex = core(global).await?;
    match command {
        AppsCommand::Create {
            name,
            origins,
            rp_id,
            related_origins,
            limits,
            policy,
            json,
        } => {
            let lifetimes = apps::Lifetimes::parse(
                limits.webauthn_timeout,
                limits.transaction_ttl,
                limits.nonce_ttl,
            )?;
            let new = apps::NewApp::parse(&name, &origins, rp_id.as_deref())?
                .with_related_origins(&related_origins)?
                .with_lifetimes(lifetimes)
                .with_max_passkeys(limits.max_passkeys)?
                .with_policy(policy.apply(&Default::default())?);
            let (app, key) = flex.create_app(&new).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "app_id": app.id.as_str(), "api_key": key.key.as_str(), "key_id": key.id.as_str(),
                        "rp_id": app.rp_id, "origins": app.origins,
                        "related_origins": app.related_origins,
                    })
                );
            } else {
                println!("Created app \"{}\"", app.name);
                println!("  app id   {}", app.id);
                println!("  RP ID    {}", app.rp_id);
                println!("  origins  {}", app.origins.join(", "));
                if !app.related_origins.is_empty() {
                    println!("  related  {}", app.related_origins.join(", "));
                }
                println!("  key id   {}", key.id);
                println!("  API key  {}", key.key.as_str());
                println!("The API key is shown only now: store it as a secret of your backend.");
            }
        }
        AppsCommand::Update {
            app_id,
            changes,
            json,
        } => crate::apps_cli::update(&flex, &app_id, changes, json).await?,
        AppsCommand::List { json } => {
            let apps = flex.list_apps().await?;
            if json {
                let list: Vec<_> = apps
                    .iter()
                    .map(|app| {
                        serde_json::json!({
                            "app_id": app.id.as_str(), "name": app.name, "rp_id": app.rp_id,
                            "origins": app.origins, "related_origins": app.related_origins,
                            "builtin": app.is_builtin,
                            "max_passkeys_per_user": app.max_passkeys_per_user,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else if apps.is_empty() {
                println!("No apps yet: create one with `latchkey apps create`.");
            } else {
                for app in apps {
                    let builtin = if app.is_builtin {
                        " (built-in site)"
                    } else {
                        ""
                    };
                    println!(
                        "{}  {}{}  rp_id={}  origins={}",
                        app.id,
                        app.name,
                        builtin,
                        app.rp_id,
                        app.origins.join(",")
                    );
                }
            }
        }
    }
    flex.store().close().await;
    Ok(())
}

async fn keys_command(command: KeysCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let flex = Flex::new(connect(global).await?, Clock::system());
    match command {
        KeysCommand::Create { app_id, json } => {
            let id = AppId::parse(&app_id).ok_or(FlexError::AppNotFound)?;
            let key = flex.create_api_key(&id).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "app_id": app_id, "key_id": key.id.as_str(), "api_key": key.key.as_str() })
                );
            } else {
                println!("Created an API key for app {app_id}");
                println!("  key id   {}", key.id);
                println!("  API key  {}", key.key.as_str());
                println!("The API key is shown only now: store it as a secret of your backend.");
            }
        }
        KeysCommand::Revoke { app_id, key_id } => {
            let id = AppId::parse(&app_id).ok_or(FlexError::AppNotFound)?;
            flex.app(&id).await?;
            let key =
                ApiKeyId::parse(&key_id).ok_or_else(|| FlexError::invalid("no such API key"))?;
            flex.revoke_api_key(&id, &key).await?;
            println!("Revoked key {key_id} of app {app_id}.");
        }
    }
    flex.store().close().await;
    Ok(())
}

async fn admin_command(command: AdminCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let flex = Flex::new(connect(global).await?, Clock::system());
    match command {
        AdminCommand::Invite {
            name,
            ttl,
            public_url,
            json,
        } => {
            let public_url = PublicUrl::parse(&public_url)?;
            // The console's app exists once the server has started; make it
            // here too, so an invite works before the first start.
            flex.ensure_console_app(&apps::Origin::parse(&public_url.origin())?)
                .await?;
            let ttl_ms = i64::try_from(ttl.saturating_mul(1000)).unwrap_or(i64::MAX);
            let invite = flex.invite_operator(&name, ttl_ms).await?;
            let url = format!(
                "{}/console/invite/{}",
                public_url.origin(),
                invite.token.as_str()
            );
            let expires = crate::flex::clock::rfc3339(Some(invite.expires_at));
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "url": url, "expires_at": expires })
                );
            } else {
                println!(
                    "Open this link in a browser to register {name}'s passkey for the console:"
                );
                println!("  {url}");
                println!("It works once, until {expires}. Do not share it.");
            }
        }
        AdminCommand::List { json } => {
            let operators = match flex.console_app().await {
                Ok(_) => flex.list_operators().await?,
                Err(FlexError::AppNotFound) => Vec::new(),
                Err(error) => return Err(error.into()),
            };
            let when = |at: Option<i64>| {
                at.map_or("never".to_owned(), |at| {
                    crate::flex::clock::rfc3339(Some(at))
                })
            };
            if json {
                let list: Vec<_> = operators
                    .iter()
                    .map(|o| {
                        serde_json::json!({
                            "id": o.id, "name": o.name,
                            "created_at": crate::flex::clock::rfc3339(Some(o.created_at)),
                            "last_sign_in_at": o.last_sign_in_at.map(|at| crate::flex::clock::rfc3339(Some(at))),
                            "revoked": o.revoked_at.is_some(), "passkeys": o.passkeys,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else if operators.is_empty() {
                println!("No operators yet: invite one with `latchkey admin invite --name NAME`.");
            } else {
                for o in operators {
                    let revoked = if o.revoked_at.is_some() {
                        "  REVOKED"
                    } else {
                        ""
                    };
                    println!(
                        "{}  {}  created={}  last_sign_in={}  passkeys={}{revoked}",
                        o.id,
                        o.name,
                        crate::flex::clock::rfc3339(Some(o.created_at)),
                        when(o.last_sign_in_at),
                        o.passkeys
                    );
                }
            }
        }
        AdminCommand::Revoke { id } => {
            flex.revoke_operator(&id).await?;
            println!(
                "Revoked operator {id}: their sessions ended and their passkeys no longer sign in."
            );
        }
    }
    flex.store().close().await;
    Ok(())
}

async fn webhooks_command(command: WebhooksCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let app_of = |text: &str| AppId::parse(text).ok_or(FlexError::AppNotFound);
    let flex = Flex::new(connect(global).await?, Clock::system());
    let shown = |created: &app::wire::webhooks::WebhookWithSecret| {
        let mut json = serde_json::to_value(&created.webhook).unwrap_or_default();
        json["secret"] = serde_json::Value::String(created.secret.clone());
        json
    };
    match command {
        WebhooksCommand::Add {
            app_id,
            url,
            events,
            webhook_allow_private,
            json,
        } => {
            let flex = flex
                .clone()
                .allowing_private_webhooks(webhook_allow_private);
            let created = flex
                .create_webhook(&app_of(&app_id)?, &url, &events)
                .await?;
            if json {
                println!("{}", shown(&created));
            } else {
                let types = if created.webhook.event_types.is_empty() {
                    "every type".to_owned()
                } else {
                    created.webhook.event_types.join(", ")
                };
                println!("Added a webhook to app {app_id}");
                println!("  id      {}", created.webhook.id);
                println!("  url     {}", created.webhook.url);
                println!("  events  {types}");
                println!("  secret  {}", created.secret);
                println!("The secret is shown only now: verify webhook-signature with it.");
            }
        }
        WebhooksCommand::List { app_id, json } => {
            let webhooks = flex.list_webhooks(&app_of(&app_id)?).await?;
            if json {
                println!("{}", serde_json::to_value(&webhooks)?);
            } else if webhooks.is_empty() {
                println!("No webhooks yet: add one with `latchkey webhooks add`.");
            } else {
                for w in webhooks {
                    let types = if w.event_types.is_empty() {
                        "*".to_owned()
                    } else {
                        w.event_types.join(",")
                    };
                    println!(
                        "{}  {}  events={types}  created={}",
                        w.id, w.url, w.created_at
                    );
                }
            }
        }
        WebhooksCommand::Remove { app_id, id } => {
            flex.remove_webhook(&app_of(&app_id)?, &id).await?;
            println!("Removed webhook {id} of app {app_id}, and its undelivered messages.");
        }
        WebhooksCommand::RotateSecret { app_id, id, json } => {
            let rotated = flex.rotate_webhook_secret(&app_of(&app_id)?, &id).await?;
            if json {
                println!("{}", shown(&rotated));
            } else {
                println!("New secret of webhook {id}: {}", rotated.secret);
                println!(
                    "The old secret signs too until {} (two signatures); the new one is shown only now.",
                    rotated
                        .webhook
                        .previous_secret_expires_at
                        .unwrap_or_default()
                );
            }
        }
    }
    flex.store().close().await;
    Ok(())
}

async fn doctor(args: ServeArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let site = find_site(args.site_root);
    let findings = crate::doctor::check(&crate::doctor::Checkup {
        public_url: &args.public_url,
        database_url: &global.database_url,
        site: &site,
        limits_per_ip: args.rate_limit_ip > 0 || args.rate_limit_management_ip > 0,
        trusted_proxies: args.trusted_proxies.len(),
        secret_key: global.secret_key.as_ref(),
    })
    .await;
    for finding in &findings {
        println!("{finding}");
    }
    let problems = findings
        .iter()
        .filter(|f| f.verdict == crate::doctor::Verdict::Fail)
        .count();
    if problems > 0 {
        anyhow::bail!("{problems} problem(s) to fix before serving");
    }
    println!("Nothing to fix.");
    Ok(())
}

async fn serve(args: ServeArgs, global: GlobalArgs) -> anyhow::Result<()> {
    let config = Config {
        listen: args.listen,
        database_url: global.database_url,
        public_url: PublicUrl::parse(&args.public_url)?,
        site: find_site(args.site_root),
        clock: Clock::system(),
        rate_limits: RateLimitConfig {
            per_ip: args.rate_limit_ip,
            per_app: args.rate_limit_app,
            per_key: args.rate_limit_key,
            per_management_ip: args.rate_limit_management_ip,
            shared: args.rate_limit_shared,
        },
        request_timeout: std::time::Duration::from_secs(args.request_timeout),
        trusted_proxies: TrustedProxies::new(args.trusted_proxies),
        event_retention_days: args.event_retention_days,
        metrics_token: args.metrics_token,
        webhooks: WebhookSettings {
            allow_private: args.webhook_allow_private,
            poll_interval: std::time::Duration::from_millis(args.webhook_poll_ms),
            ..WebhookSettings::default()
        },
        secret_key: global.secret_key,
        attestation_ca: args
            .attestation_ca
            .map(|file| {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("attestation CA file {}", file.display()))
            })
            .transpose()?,
    };
    let app = Application::build(config).await?;
    app.run_until_stopped(shutdown_signal()).await
}
