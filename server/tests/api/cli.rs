//! The `latchkey` binary itself: its help, its start-up failures, its shutdown.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use latchkey::store::Store;

use crate::helpers::{TestApp, TestDatabase};

pub fn latchkey() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .env_remove("LATCHKEY_WEBHOOK_ALLOW_PRIVATE");
    command
}

/// `apps update` through the binary, on the test app's database:
/// (success, stdout, stderr).
pub fn apps_update(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    apps_update_with(app, &[], args)
}

/// `apps update` with these environment variables as well.
pub fn apps_update_with(
    app: &TestApp,
    env: &[(&str, &str)],
    args: &[&str],
) -> (bool, String, String) {
    let output = latchkey()
        .args(["apps", "update"])
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `apps create --json` for an app of `http://localhost:3000`: its id and API key.
pub fn create_local_app(database_url: &str, name: &str) -> (String, String) {
    let created = latchkey()
        .args(["apps", "create", "--name", name])
        .args(["--origin", "http://localhost:3000", "--json"])
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap();
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let field = |name: &str| created[name].as_str().unwrap().to_owned();
    (field("app_id"), field("api_key"))
}

/// Starts `latchkey serve` on a random port and waits until it listens.
/// Returns the child, its base URL, and the log lines read so far (the rest
/// keep arriving on the receiver).
pub fn serve(database_url: &str, extra: &[&str]) -> (Child, String, mpsc::Receiver<String>) {
    serve_with_log(database_url, extra, "info")
}

fn serve_with_log(
    database_url: &str,
    extra: &[&str],
    rust_log: &str,
) -> (Child, String, mpsc::Receiver<String>) {
    let mut child = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", rust_log)
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
        let Ok(line) = lines.recv_timeout(Duration::from_secs(30)) else {
            child.kill().ok();
            child.wait().ok();
            panic!("latchkey never said it listens; it said: {seen:#?}");
        };
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
        "--rate-limit-management-ip",
        "LATCHKEY_RATE_LIMIT_MANAGEMENT_IP",
        "--trusted-proxy",
        "LATCHKEY_TRUSTED_PROXIES",
    ] {
        assert!(
            help.contains(expected),
            "`serve --help` lacks {expected}:\n{help}"
        );
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
fn a_trusted_proxy_that_is_not_a_cidr_stops_start_up_with_a_clear_message() {
    let from_the_variable = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("LATCHKEY_TRUSTED_PROXIES", "10.0.0.0/8,10.0.0.0/33")
        .output()
        .unwrap();
    let from_the_option = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args([
            "--trusted-proxy",
            "fd00::/8",
            "--trusted-proxy",
            "proxy.local",
        ])
        .output()
        .unwrap();

    for (output, bad) in [
        (from_the_variable, "10.0.0.0/33"),
        (from_the_option, "proxy.local"),
    ] {
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("`{bad}` is not a CIDR")),
            "{stderr}"
        );
    }
}

#[test]
fn a_public_url_off_localhost_over_http_is_refused() {
    let output = latchkey()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "http://example.com",
        ])
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("http:// is allowed only for localhost"),
        "{stderr}"
    );
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
    assert!(
        stderr.contains("previously applied but has been modified"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_server_restarts_on_a_migrated_database() {
    let database = TestDatabase::fresh().await;
    for _ in 0..2 {
        let store = Store::connect(&database.url)
            .await
            .expect("start-up migrates");
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

#[tokio::test]
async fn the_cli_creates_an_app_and_a_key_that_a_freshly_started_server_accepts() {
    let database = TestDatabase::fresh().await;
    let output = latchkey()
        .args([
            "apps",
            "create",
            "--name",
            "Shop",
            "--origin",
            "https://shop.example.com",
        ])
        .args([
            "--origin",
            "android:apk-key-hash:lhnU7x0nSAbwr2oLcZJrKGl8yZsJk3GBGZz3F6OuQE0",
            "--json",
        ])
        .env("DATABASE_URL", &database.url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(created["rp_id"], "shop.example.com");
    assert_eq!(
        created["origins"],
        serde_json::json!([
            "https://shop.example.com",
            "android:apk-key-hash:lhnU7x0nSAbwr2oLcZJrKGl8yZsJk3GBGZz3F6OuQE0"
        ])
    );
    let (app_id, api_key) = (
        created["app_id"].as_str().unwrap(),
        created["api_key"].as_str().unwrap(),
    );

    let (mut child, address, _) = serve(&database.url, &[]);
    let flex = latchkey::client::LatchkeyFlex::new(&address, app_id, api_key);
    let accepted = flex.auth.create_register_transaction("user-1", "Ada").await;

    // A second key works too, and a revoked one stops working.
    let second: serde_json::Value = serde_json::from_slice(
        &latchkey()
            .args(["keys", "create", "--app", app_id, "--json"])
            .env("DATABASE_URL", &database.url)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let second_flex =
        latchkey::client::LatchkeyFlex::new(&address, app_id, second["api_key"].as_str().unwrap());
    let second_accepted = second_flex
        .auth
        .create_register_transaction("user-1", "Ada")
        .await;
    let revoke = latchkey()
        .args([
            "keys",
            "revoke",
            "--app",
            app_id,
            "--key",
            second["key_id"].as_str().unwrap(),
        ])
        .env("DATABASE_URL", &database.url)
        .output()
        .unwrap();
    // The server caches live keys: a key revoked by another process (the CLI)
    // stops working there within the stated bound, CACHE_TTL_MS (README).
    let revoked_by = std::time::Instant::now()
        + Duration::from_millis(latchkey::flex::CACHE_TTL_MS as u64 + 500);
    let after_revoke = loop {
        let answer = second_flex
            .auth
            .create_register_transaction("user-1", "Ada")
            .await;
        if answer.is_err() || std::time::Instant::now() > revoked_by {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let listed = latchkey()
        .args(["apps", "list"])
        .env("DATABASE_URL", &database.url)
        .output()
        .unwrap();
    child.kill().ok();

    assert!(accepted.is_ok(), "{accepted:?}");
    assert!(second_accepted.is_ok(), "{second_accepted:?}");
    assert!(
        revoke.status.success(),
        "{}",
        String::from_utf8_lossy(&revoke.stderr)
    );
    assert_eq!(
        after_revoke.unwrap_err().code(),
        Some("invalid_access_token")
    );
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains(app_id) && listed.contains("Shop"),
        "{listed}"
    );
    assert!(listed.contains("(built-in site)"), "{listed}");
}

#[tokio::test]
async fn the_cli_refuses_bad_apps_and_unknown_keys_with_a_clear_message() {
    let database = TestDatabase::fresh().await;
    let run = |args: &[&str]| {
        latchkey()
            .args(args)
            .env("DATABASE_URL", &database.url)
            .output()
            .unwrap()
    };

    for (args, message) in [
        (
            &[
                "apps",
                "create",
                "--name",
                "Shop",
                "--origin",
                "http://shop.example.com",
            ][..],
            "allowed only for localhost",
        ),
        (
            &[
                "apps",
                "create",
                "--name",
                "Shop",
                "--origin",
                "https://evil-example.com",
                "--rp-id",
                "example.com",
            ],
            "is not within the RP ID",
        ),
        (
            &["keys", "create", "--app", "nope"],
            "The app does not exist",
        ),
        (
            &["keys", "revoke", "--app", "nope", "--key", "nope"],
            "The app does not exist",
        ),
    ] {
        let output = run(args);
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let listed = run(&["apps", "list", "--json"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "[]");
}

#[tokio::test]
async fn a_refused_ceremony_is_logged_with_the_request_id_it_was_answered_with() {
    let database = TestDatabase::fresh().await;
    let (app_id, api_key) = create_local_app(&database.url, "Logs");
    let (mut child, address, lines) = serve(&database.url, &[]);
    let flex = latchkey::client::LatchkeyFlex::new(&address, &app_id, &api_key);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{address}/v1/apps/{app_id}{path}");
    let transaction = flex
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();
    let start: serde_json::Value = http
        .post(url("/register/transactions/webauthn/start"))
        .json(&serde_json::json!({ "transaction_id": transaction }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let options = &start["handshake"]["challenge"]["publicKey"];
    let response = softkey::Authenticator::new().register("https://evil-example.com", options);
    let refused = http
        .post(url("/register/transactions/webauthn/finish"))
        .json(&serde_json::json!({ "transaction_id": transaction, "handshake_id": start["handshake"]["id"], "handshake_response": response }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let id = refused.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    let line = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(&id) && line.contains("webauthn_registration_failed") => {
                break line
            }
            Ok(line) => seen.push(line),
            Err(_) => {
                child.kill().ok();
                child.wait().ok();
                panic!("no log line names request {id}: {seen:#?}");
            }
        }
    };
    child.kill().ok();
    child.wait().ok();
    assert!(line.contains("cause"), "{line}");
}

#[tokio::test]
async fn no_secret_reaches_the_logs_even_at_trace_level() {
    let database = TestDatabase::fresh().await;
    let (app_id, api_key) = create_local_app(&database.url, "Logs");
    let (mut child, address, lines) = serve_with_log(&database.url, &[], "trace");
    let flex = latchkey::client::LatchkeyFlex::new(&address, &app_id, &api_key);
    let http = reqwest::Client::new();
    let client = |path: &str, body: serde_json::Value| {
        let request = http
            .post(format!("{address}/v1/apps/{app_id}{path}"))
            .json(&body)
            .send();
        async move {
            request
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let mut authenticator = softkey::Authenticator::new();
    let mut secrets = vec![api_key.to_owned()];

    // Every flow: add a passkey, sign in identifier-first and discoverably, verify, refuse.
    let transaction = flex
        .auth
        .create_register_transaction("user-1", "Ada")
        .await
        .unwrap();
    let start = client(
        "/register/transactions/webauthn/start",
        serde_json::json!({ "transaction_id": transaction }),
    )
    .await;
    let options = &start["handshake"]["challenge"]["publicKey"];
    let response = authenticator.register("http://localhost:3000", options);
    let finish = serde_json::json!({ "transaction_id": transaction, "handshake_id": start["handshake"]["id"], "handshake_response": response });
    let nonce = client("/register/transactions/webauthn/finish", finish).await["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    flex.auth.verify_nonce(&nonce).await.unwrap();
    secrets.extend([
        transaction,
        nonce.clone(),
        start["handshake"]["id"].as_str().unwrap().into(),
        options["challenge"].as_str().unwrap().into(),
    ]);
    for identifier in [Some("user-1"), None] {
        let transaction = match identifier {
            Some(id) => Some(flex.auth.create_authenticate_transaction(id).await.unwrap()),
            None => None,
        };
        let start = client(
            "/authenticate/transactions/webauthn/start",
            serde_json::json!({ "transaction_id": transaction }),
        )
        .await;
        let options = &start["handshake"]["challenge"]["publicKey"];
        let response = authenticator.authenticate("http://localhost:3000", options);
        let finish = serde_json::json!({ "transaction_id": transaction, "handshake_id": start["handshake"]["id"], "handshake_response": response });
        let nonce = client("/authenticate/transactions/webauthn/finish", finish).await["nonce"]
            .as_str()
            .unwrap()
            .to_owned();
        flex.auth.verify_nonce(&nonce).await.unwrap();
        assert!(flex.auth.verify_nonce(&nonce).await.is_err());
        secrets.extend([
            nonce,
            start["handshake"]["id"].as_str().unwrap().into(),
            options["challenge"].as_str().unwrap().into(),
        ]);
        secrets.extend(transaction);
        secrets.push(response["response"]["signature"].as_str().unwrap().into());
    }
    child.kill().ok();
    child.wait().ok();

    let logged: Vec<String> = lines.try_iter().collect();
    assert!(
        logged.len() > 20,
        "trace logging produced too little to mean anything: {logged:#?}"
    );
    for secret in &secrets {
        let leaks: Vec<_> = logged
            .iter()
            .filter(|line| line.contains(secret.as_str()))
            .collect();
        assert!(leaks.is_empty(), "a secret reached the logs: {leaks:#?}");
    }
}

#[tokio::test]
async fn a_server_killed_mid_load_keeps_every_confirmed_passkey_and_reuses_nothing() {
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    };
    let database = TestDatabase::fresh().await;
    let (app_id, api_key) = create_local_app(&database.url, "Crash");
    // A load test from one address: lift the per-IP limit.
    let unlimited = ["--rate-limit-ip", "0"];
    let (mut child, address, _) = serve(&database.url, &unlimited);

    // Eight virtual users register passkeys for new external ids as fast as they can.
    let confirmed = Arc::new(Mutex::new(Vec::<(String, String, serde_json::Value)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let (address, app_id, api_key) = (address.clone(), app_id.clone(), api_key.clone());
            let (confirmed, stop) = (confirmed.clone(), stop.clone());
            tokio::spawn(async move {
                let flex = latchkey::client::LatchkeyFlex::new(&address, &app_id, &api_key);
                let http = reqwest::Client::new();
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let external_id = format!("w{worker}-{n}");
                    let Ok(transaction) = flex.auth.create_register_transaction(&external_id, "Ada").await else { continue };
                    let url = |step: &str| format!("{address}/v1/apps/{app_id}/register/transactions/webauthn/{step}");
                    let Ok(start) = http.post(url("start")).json(&serde_json::json!({ "transaction_id": transaction })).send().await else { continue };
                    if start.status() != 200 {
                        continue;
                    }
                    let Ok(start) = start.json::<serde_json::Value>().await else { continue };
                    let response = softkey::Authenticator::new().register("http://localhost:3000", &start["handshake"]["challenge"]["publicKey"]);
                    let finish = serde_json::json!({ "transaction_id": transaction, "handshake_id": start["handshake"]["id"], "handshake_response": response });
                    let Ok(answer) = http.post(url("finish")).json(&finish).send().await else { continue };
                    if answer.status() == 200 {
                        if let Ok(body) = answer.json::<serde_json::Value>().await {
                            let nonce = body["nonce"].as_str().unwrap_or_default().to_owned();
                            confirmed.lock().unwrap().push((external_id, nonce, finish));
                        }
                    }
                }
            })
        })
        .collect();

    // Kill once the load is well under way (a fixed wait is too short on a busy
    // machine: a debug build's first ceremonies can take over a second).
    let under_way = std::time::Instant::now();
    while confirmed.lock().unwrap().len() < 16 && under_way.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL, mid-run
    child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.unwrap();
    }
    let confirmed = confirmed.lock().unwrap().clone();
    assert!(
        confirmed.len() >= 8,
        "too few registrations before the kill to mean anything: {}",
        confirmed.len()
    );

    let (mut restarted, address, _) = serve(&database.url, &unlimited);
    let flex = latchkey::client::LatchkeyFlex::new(&address, &app_id, &api_key);
    let http = reqwest::Client::new();
    for (external_id, nonce, finish) in &confirmed {
        let devices = flex.user.list_devices(external_id).await.unwrap();
        assert_eq!(devices.len(), 1, "{external_id} lost its passkey");
        assert_eq!(&flex.auth.verify_nonce(nonce).await.unwrap(), external_id);
        assert!(
            flex.auth.verify_nonce(nonce).await.is_err(),
            "a nonce verified twice"
        );
        let again = http
            .post(format!(
                "{address}/v1/apps/{app_id}/register/transactions/webauthn/finish"
            ))
            .json(finish)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 404, "a handshake finished twice");
    }
    restarted.kill().ok();
    restarted.wait().ok();
    eprintln!(
        "{} registrations confirmed before SIGKILL: every passkey present, nothing reusable",
        confirmed.len()
    );
}
