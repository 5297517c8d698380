//! Logs: `tracing`, filtered by `RUST_LOG`, as text or JSON, on standard error
//! (standard output is for what commands print, such as `apps create --json`).
//!
//! Every request is logged once, at INFO, with the same fields in both formats
//! (`routes::requests::observe`); what is logged while it is handled is inside
//! its `request` span, which carries its `request_id`.

use clap::ValueEnum;
use tracing::Subscriber;
use tracing_subscriber::{fmt::MakeWriter, util::SubscriberInitExt as _, EnvFilter};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// What is logged when `RUST_LOG` does not say.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// Installs the global subscriber. `RUST_LOG` overrides the default filter.
/// Text is coloured only on a terminal.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    subscriber(format, filter, std::io::stderr, terminal).init();
}

/// The subscriber `init` installs, writing to `writer` (tests capture it).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        // A log line that cannot be written (standard error closed) is lost,
        // not reported with `eprintln!`, which panics there: in the request
        // that logged it, since every request logs.
        .log_internal_errors(false);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(builder.json().flatten_event(true).finish()),
    }
}
