//! The `latchkey` binary itself: its help, its start-up failures, its shutdown.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use latchkey::store::Store;

use crate::helpers::TestDatabase;

fn latchkey() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command.env_remove("RUST_LOG").env_remove("DATABASE_URL");
    command
}

/// Starts `latchkey serve` on a random port and waits until it listens.
/// Returns the child, its base URL, and the log lines read so far (the rest
/// keep arriving on the receiver).
fn serve(database_url: &str, extra: &[&str]) -> (Child, String, mpsc::Receiver<String>) {
    let mut child = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("DATABASE_URL", database_url)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("latchkey starts");
    let (lines_tx, lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("latchkey never said it listens; it said: {seen:#?}"));
        if let Some((_, rest)) = line.split_once("listening on http://") {
            let address: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || ".:".contains(*c))
                .collect();
            return (child, format!("http://{address}"), lines);
        }
        seen.push(line);
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            panic!("latchkey did not stop within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn help_documents_every_option_and_its_variable() {
    let output = latchkey().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();

    assert!(output.status.success());
    for expected in [
        "--listen",
        "LATCHKEY_LISTEN",
        "localhost:3000",
        "--database-url",
        "DATABASE_URL",
        "sqlite://latchkey.db",
        "--public-url",
        "LATCHKEY_PUBLIC_URL",
        "--site-root",
        "LATCHKEY_SITE_ROOT",
        "--log-format",
        "json",
    ] {
        assert!(help.contains(expected), "`serve --help` lacks {expected}:\n{help}");
    }
    let top = String::from_utf8(latchkey().arg("--help").output().unwrap().stdout).unwrap();
    assert!(top.contains("serve"), "{top}");
}

#[test]
fn an_unsupported_database_url_stops_start_up_with_a_clear_message() {
    let output = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", "mysql://localhost/latchkey")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DATABASE_URL must start with sqlite:// or postgres://"),
        "{stderr}"
    );
}

#[test]
fn a_public_url_off_localhost_over_http_is_refused() {
    let output = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0", "--public-url", "http://example.com"])
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("http:// is allowed only for localhost"), "{stderr}");
}

#[tokio::test]
async fn a_failed_migration_stops_start_up_with_a_clear_message() {
    let database = TestDatabase::fresh().await;
    // Migrate, then alter the record of an applied migration, as a hand edit would.
    let store = Store::connect(&database.url).await.unwrap();
    store.close().await;
    let pool = sqlx::AnyPool::connect(&database.url).await.unwrap();
    sqlx::query("UPDATE _sqlx_migrations SET checksum = $1")
        .bind(vec![0_u8; 4])
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let output = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &database.url)
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("migrations failed"), "{stderr}");
    assert!(stderr.contains("previously applied but has been modified"), "{stderr}");
}

#[tokio::test]
async fn the_server_restarts_on_a_migrated_database() {
    let database = TestDatabase::fresh().await;
    for _ in 0..2 {
        let store = Store::connect(&database.url).await.expect("start-up migrates");
        store.ping().await.unwrap();
        store.close().await;
    }
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully_and_logs_are_json_on_request() {
    let database = TestDatabase::fresh().await;
    let (mut child, address, lines) = serve(&database.url, &["--log-format", "json"]);

    let ready = reqwest::get(format!("{address}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    let exit = wait_with_timeout(&mut child, Duration::from_secs(15));
    assert!(exit.success(), "latchkey exited with {exit}");
    let logged: Vec<String> = lines.try_iter().collect();
    assert!(
        logged.iter().any(|line| line.contains("SIGTERM")),
        "{logged:#?}"
    );
    for line in &logged {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
    }
}
