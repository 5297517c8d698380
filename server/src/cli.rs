//! The command line of the `latchkey` binary.

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};

use crate::{
    config::{find_site_root, Config, PublicUrl},
    flex::clock::Clock,
    startup::{shutdown_signal, Application},
    telemetry::{self, LogFormat},
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
    #[arg(long, env = "LATCHKEY_LOG_FORMAT", value_enum, default_value_t, global = true)]
    log_format: LogFormat,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The address to listen on, `host:port` (port 0 picks a free port).
    #[arg(long, env = "LATCHKEY_LISTEN", default_value = "localhost:3000")]
    listen: String,

    /// The origin the built-in site is served at (its passkeys' origin and RP ID).
    #[arg(long, env = "LATCHKEY_PUBLIC_URL", default_value = "http://localhost:3000")]
    public_url: String,

    /// The folder of the built site (holding `pkg/`). Default: beside the binary,
    /// or where cargo-leptos put it, or `target/site`.
    #[arg(long, env = "LATCHKEY_SITE_ROOT")]
    site_root: Option<PathBuf>,
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
    match cli.command {
        None => serve(cli.serve, cli.global).await,
        Some(Command::Serve(args)) => serve(args, cli.global).await,
    }
}

async fn serve(args: ServeArgs, global: GlobalArgs) -> anyhow::Result<()> {
    let config = Config {
        listen: args.listen,
        database_url: global.database_url,
        public_url: PublicUrl::parse(&args.public_url)?,
        site_root: find_site_root(args.site_root),
        clock: Clock::system(),
    };
    let app = Application::build(config).await?;
    app.run_until_stopped(shutdown_signal()).await
}
