//! `latchkey doctor`: a good configuration passes with a line per check; each
//! kind of problem fails it (exit 1) with a line that says what to do.

use std::process::{Command, Output};

use latchkey::store::Store;

use crate::{helpers::TestDatabase, upgrades::migrated_by_a_newer_latchkey};

fn doctor(database_url: &str, args: &[&str]) -> (bool, String) {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("doctor")
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("LATCHKEY_SITE_ROOT")
        .env_remove("LEPTOS_SITE_ROOT")
        .output()
        .expect("latchkey runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A folder with what a built site has.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    for file in ["latchkey.js", "latchkey.wasm", "latchkey.css"] {
        std::fs::write(dir.path().join("pkg").join(file), b"x").unwrap();
    }
    dir
}

/// The line of `text` that starts with `FAIL` and mentions `about`.
fn failure<'a>(text: &'a str, about: &str) -> &'a str {
    text.lines()
        .find(|line| line.starts_with("FAIL") && line.contains(about))
        .unwrap_or_else(|| panic!("no FAIL line about {about:?} in:\n{text}"))
}

#[tokio::test]
async fn a_good_configuration_passes_with_a_line_per_check() {
    let database = TestDatabase::fresh().await;
    Store::connect(&database.url).await.unwrap().close().await;
    let site = site();
    let (ok, text) = doctor(
        &database.url,
        &[
            "--public-url",
            "http://localhost:3000",
            "--site-root",
            &site.path().to_string_lossy(),
        ],
    );
    assert!(ok, "{text}");
    for line in [
        "public URL",
        "site assets",
        "rate limits",
        "answers",
        "schema: up to date",
        "clock",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("ok") && l.contains(line)),
            "no ok line for {line}:\n{text}"
        );
    }
    assert!(text.contains("Nothing to fix."), "{text}");

    // Behind a TLS proxy that is trusted, also fine.
    let (ok, text) = doctor(
        &database.url,
        &[
            "--public-url",
            "https://passkeys.example.com",
            "--site-root",
            &site.path().to_string_lossy(),
            "--trusted-proxy",
            "127.0.0.1",
        ],
    );
    assert!(ok, "{text}");
}

#[tokio::test]
async fn each_problem_fails_the_checkup_with_its_fix() {
    let database = TestDatabase::fresh().await;
    Store::connect(&database.url).await.unwrap().close().await;
    let site = site();
    let site_arg = site.path().to_string_lossy().into_owned();
    let empty = tempfile::tempdir().unwrap();

    // http off localhost; site assets missing.
    let (ok, text) = doctor(
        &database.url,
        &[
            "--public-url",
            "http://passkeys.example.com",
            "--site-root",
            &empty.path().to_string_lossy(),
        ],
    );
    assert!(!ok, "{text}");
    assert!(failure(&text, "public URL").contains("https://"), "{text}");
    assert!(
        failure(&text, "site assets missing").contains("cargo leptos build"),
        "{text}"
    );
    assert!(text.contains("2 problem(s)"), "{text}");

    // https (a proxy in front) but no trusted proxy, with per-IP limits on.
    let (ok, text) = doctor(
        &database.url,
        &[
            "--public-url",
            "https://passkeys.example.com",
            "--site-root",
            &site_arg,
        ],
    );
    assert!(!ok, "{text}");
    assert!(
        failure(&text, "rate limits").contains("--trusted-proxy"),
        "{text}"
    );

    // A database that does not answer.
    let (ok, text) = doctor(
        "postgres://latchkey@127.0.0.1:1/nothing",
        &[
            "--public-url",
            "http://localhost:3000",
            "--site-root",
            &site_arg,
        ],
    );
    assert!(!ok, "{text}");
    assert!(
        failure(&text, "database").contains("DATABASE_URL"),
        "{text}"
    );

    // An app whose RP ID does not cover its origins (as a hand edit could leave it).
    let pool = sqlx::AnyPool::connect(&database.url).await.unwrap();
    sqlx::query(
        "INSERT INTO apps (id, name, rp_id, origins, webauthn_timeout_ms, transaction_ttl_ms, \
         nonce_ttl_ms, max_passkeys_per_user, created_at) \
         VALUES ('a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6', 'Shop', 'other.example', '[\"https://shop.example.com\"]', \
         300000, 300000, 60000, 20, 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    // And a schema version from a newer Latchkey.
    migrated_by_a_newer_latchkey(&database.url).await;
    let (ok, text) = doctor(
        &database.url,
        &[
            "--public-url",
            "http://localhost:3000",
            "--site-root",
            &site_arg,
        ],
    );
    assert!(!ok, "{text}");
    assert!(failure(&text, "app a1b2c3d4").contains("--rp-id"), "{text}");
    assert!(
        failure(&text, "schema").contains("restore a backup"),
        "{text}"
    );
}

#[tokio::test]
async fn a_database_not_yet_migrated_is_a_warning_and_is_left_as_it_was() {
    let database = TestDatabase::fresh().await;
    // An empty database (PostgreSQL's is created empty; SQLite's is a new file).
    Store::open(&database.url).await.unwrap().close().await;
    let site = site();
    let (ok, text) = doctor(
        &database.url,
        &[
            "--public-url",
            "http://localhost:3000",
            "--site-root",
            &site.path().to_string_lossy(),
        ],
    );
    assert!(ok, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("warn") && l.contains("migration(s) to apply")),
        "{text}"
    );
    // Doctor changed nothing: still no schema.
    let store = Store::open(&database.url).await.unwrap();
    assert!(store.schema_status().await.unwrap().applied.is_empty());
    store.close().await;
}

#[tokio::test]
async fn a_sqlite_file_that_does_not_exist_is_named_and_not_created() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("typo.db");
    let site = site();
    let (ok, text) = doctor(
        &format!("sqlite://{}", file.display()),
        &[
            "--public-url",
            "http://localhost:3000",
            "--site-root",
            &site.path().to_string_lossy(),
        ],
    );
    assert!(ok, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("warn") && l.contains("does not exist yet")),
        "{text}"
    );
    assert!(!file.exists());
}
