//! A real `latchkey` process on a random port, and its peak memory.

use std::{path::Path, process::Stdio};

use anyhow::{bail, Context};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

pub struct Server {
    child: Child,
    pub base: String,
}

/// Creates an app for `origin` with the CLI; returns (app id, API key).
pub async fn create_app(
    latchkey: &Path,
    database_url: &str,
    origin: &str,
) -> anyhow::Result<(String, String)> {
    let output = Command::new(latchkey)
        .args([
            "apps", "create", "--name", "bench", "--origin", origin, "--json",
        ])
        .env("DATABASE_URL", database_url)
        .output()
        .await?;
    if !output.status.success() {
        bail!(
            "apps create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let created: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    Ok((
        created["app_id"].as_str().context("app_id")?.to_owned(),
        created["api_key"].as_str().context("api_key")?.to_owned(),
    ))
}

impl Server {
    pub async fn start(latchkey: &Path, database_url: &str) -> anyhow::Result<Self> {
        let mut child = Command::new(latchkey)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DATABASE_URL", database_url)
            // Not the one line per request (latchkey::routes::requests): the
            // builds before it had none, and the events' cost is measured against one.
            .env(
                "RUST_LOG",
                "info,tower_http=warn,sqlx=warn,latchkey::routes::requests=warn",
            )
            // The load generator is one client IP with one key: lift the limits.
            .env("LATCHKEY_RATE_LIMIT_IP", "0")
            .env("LATCHKEY_RATE_LIMIT_APP", "0")
            .env("LATCHKEY_RATE_LIMIT_KEY", "0")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("could not start latchkey")?;
        let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
        while let Some(line) = lines.next_line().await? {
            if let Some((_, rest)) = line.split_once("listening on http://") {
                let address: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || ".:".contains(*c))
                    .collect();
                // Keep draining its log so it never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return Ok(Self {
                    child,
                    base: format!("http://{address}"),
                });
            }
        }
        bail!("latchkey exited before listening")
    }

    /// The process id, for its CPU time in `/proc`.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The process's peak resident memory (VmHWM), in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
