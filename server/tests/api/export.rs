//! Export and import (issue #12): the format validates against its schema,
//! an export is the app's own, an export imported into a fresh store exports
//! the same, imported passkeys sign in both ways with the authenticator that
//! made them, bad rows are refused alone, a dry run writes nothing, and an
//! import killed half way ends complete when run again.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use latchkey::flex::transfer::{format::Line, parse_lines, ImportReport};
use reqwest::Method;
use serde_json::{json, Value};
use softkey::{b64, Authenticator};
use sqlx::Row;

use crate::helpers::{assert_error, spawn_app, TestApp};

/// The schema in docs/, compiled.
fn schema() -> jsonschema::Validator {
    let text = include_str!("../../../docs/export-format.schema.json");
    let schema: Value = serde_json::from_str(text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

/// Two users, one with two passkeys, each signed in once: (external id, authenticator).
async fn app_with_passkeys(app: &TestApp) -> Vec<(String, Authenticator)> {
    let mut users = Vec::new();
    for (external_id, passkeys) in [("ada", 2), ("grace", 1)] {
        let mut authenticator = Authenticator::new();
        for _ in 0..passkeys {
            app.add_passkey(&mut authenticator, external_id).await;
        }
        app.sign_in(&mut authenticator, Some(external_id)).await;
        users.push((external_id.to_owned(), authenticator));
    }
    users
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// Imports `text` into the test app through the core, as the CLI does.
async fn import(app: &TestApp, text: &str, dry_run: bool) -> ImportReport {
    let target = app.core.find_app(&app.app_id).await.unwrap();
    let (rows, refused) = parse_lines(text).unwrap();
    let mut report = app.core.import(&target, rows, dry_run).await.unwrap();
    report.refused.extend(refused);
    report
}

#[tokio::test]
async fn an_export_of_an_app_with_passkeys_validates_against_the_schema() {
    let app = spawn_app().await;
    app_with_passkeys(&app).await;

    let text = app.flex.export().await.unwrap();

    let schema = schema();
    let lines = lines(&text);
    for line in &lines {
        let errors: Vec<String> = schema.iter_errors(line).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{line} does not validate: {errors:#?}");
    }
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[0]["format"], "latchkey-export");
    assert_eq!(lines[0]["version"], 1);
    assert_eq!(lines[0]["app"]["id"], app.app_id.as_str());
    assert_eq!(lines[0]["app"]["rp_id"], "localhost");
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["header", "user", "passkey", "passkey", "user", "passkey"]
    );
    // Ada signed in with one of her two passkeys (which one comes first is
    // the order of their credential ids).
    let ada: Vec<&Value> = lines[2..4].iter().collect();
    let used = ada
        .iter()
        .find(|p| p["counter"] == 1)
        .expect("the one used");
    assert_eq!(used["external_id"], "ada");
    assert_eq!(used["algorithm"], -7);
    assert_eq!(used["backup_eligible"], true);
    assert!(used["last_used_at"].is_string(), "{used}");
    assert!(ada
        .iter()
        .any(|p| p["counter"] == 0 && p.get("last_used_at").is_none()));
    // No secret of the app is in it.
    assert!(!text.contains(&app.api_key));
    assert!(!text.contains("api_key"));
}

#[tokio::test]
async fn an_export_is_refused_without_the_apps_own_key() {
    let app = spawn_app().await;
    app_with_passkeys(&app).await;
    let (other_app, other_key) = app.other_app().await;

    let export = |app_id: String, key: Option<String>| {
        let app = &app;
        async move {
            app.manage_as(&app_id, key.as_deref(), Method::GET, "/export", None)
                .await
        }
    };
    assert_error(
        &export(app.app_id.clone(), Some(other_key.clone())).await,
        401,
        "invalid_access_token",
    );
    assert_error(
        &export(app.app_id.clone(), None).await,
        401,
        "invalid_access_token",
    );
    assert_error(
        &export(other_app.clone(), Some(app.api_key.clone())).await,
        401,
        "invalid_access_token",
    );
    // The other app's own export holds none of this app's users.
    let (status, body) = export(other_app.clone(), Some(other_key)).await;
    assert_eq!(status, 200);
    let text = body
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| body.to_string());
    assert_eq!(lines(&text).len(), 1, "{text}");
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_store_exports_the_same_and_signs_in_both_ways() {
    let source = spawn_app().await;
    let mut users = app_with_passkeys(&source).await;
    let exported = source.flex.export().await.unwrap();

    let target = spawn_app().await;
    let report = import(&target, &exported, false).await;
    assert_eq!(report.refused, vec![], "{report:?}");
    assert_eq!((report.imported.users, report.imported.passkeys), (2, 3));

    let again = target.flex.export().await.unwrap();
    let (mut before, mut after) = (lines(&exported), lines(&again));
    // The header names each store's own app; everything else is equal.
    before[0]["app"]["id"] = Value::Null;
    after[0]["app"]["id"] = Value::Null;
    before[0]["app"]["origins"] = Value::Null;
    after[0]["app"]["origins"] = Value::Null;
    assert_eq!(before, after);

    // Each user signs in to the new store with the authenticator they had,
    // identifier-first and discoverable (the new server has another port,
    // the same RP ID).
    for (external_id, authenticator) in &mut users {
        let nonce = target.sign_in(authenticator, Some(external_id)).await;
        assert_eq!(
            target.flex.auth.verify_nonce(&nonce).await.unwrap(),
            *external_id
        );
        let nonce = target.sign_in(authenticator, None).await;
        assert_eq!(
            target.flex.auth.verify_nonce(&nonce).await.unwrap(),
            *external_id
        );
    }
}

/// A passkey made elsewhere: a user handle that is no UUID, a credential id
/// longer than Latchkey's own (32 bytes), and the format's lines for both.
fn foreign_passkey(external_id: &str, handle: &[u8], cred_len: usize) -> (Authenticator, String) {
    let mut authenticator = Authenticator::new();
    let options = json!({
        "rp": { "id": "localhost", "name": "Elsewhere" },
        "user": { "id": b64(handle), "name": external_id, "displayName": external_id },
        "challenge": b64(b"registered elsewhere"),
    });
    authenticator.register("http://localhost:1", &options);
    let credential = &mut authenticator.credentials[0];
    credential.id = (0..cred_len).map(|i| (i * 7 + 1) as u8).collect();
    let public_key = softkey::cose_key(credential.key.verifying_key(), -7);
    let text = format!(
        "{}\n{}\n",
        json!({"type": "user", "external_id": external_id, "display_name": "Foreign", "user_handle": b64(handle)}),
        json!({"type": "passkey", "external_id": external_id, "credential_id": b64(&credential.id),
               "public_key": b64(&public_key), "algorithm": -7, "counter": 0,
               "aaguid": "00000000-0000-0000-0000-000000000000", "transports": ["internal"],
               "backup_eligible": true, "backup_state": true}),
    );
    (authenticator, text)
}

#[tokio::test]
async fn a_passkey_with_a_foreign_user_handle_and_a_long_credential_id_signs_in_both_ways() {
    let app = spawn_app().await;
    let handle = b"better-auth:4f1c9a0e-not-a-uuid-at-all".to_vec();
    let (mut authenticator, text) = foreign_passkey("user-from-elsewhere", &handle, 255);
    let schema = schema();
    for line in lines(&text) {
        assert!(schema.is_valid(&line), "{line}");
    }

    let report = import(&app, &text, false).await;
    assert_eq!(report.refused, vec![], "{report:?}");
    assert_eq!((report.imported.users, report.imported.passkeys), (1, 1));

    let nonce = app
        .sign_in(&mut authenticator, Some("user-from-elsewhere"))
        .await;
    assert_eq!(
        app.flex.auth.verify_nonce(&nonce).await.unwrap(),
        "user-from-elsewhere"
    );
    let nonce = app.sign_in(&mut authenticator, None).await;
    assert_eq!(
        app.flex.auth.verify_nonce(&nonce).await.unwrap(),
        "user-from-elsewhere"
    );

    // A discoverable assertion naming another handle is still refused.
    let (_, handshake, options) = app.begin_sign_in(None).await;
    let response = authenticator.authenticate_with(
        &app.address,
        &options,
        &softkey::Ceremony {
            user_handle: Some(b"someone else".to_vec()),
            ..Default::default()
        },
    );
    assert_error(
        &app.authenticate_finish(None, &handshake, &response).await,
        401,
        "discoverable_login_failed",
    );

    // A passkey added later in Latchkey carries the same, imported handle.
    app.add_passkey(&mut authenticator, "user-from-elsewhere")
        .await;
    assert_eq!(authenticator.credentials[1].user_handle, handle);
    app.sign_in(&mut authenticator, None).await;
}

#[tokio::test]
async fn importing_twice_changes_nothing_the_second_time() {
    let source = spawn_app().await;
    app_with_passkeys(&source).await;
    let exported = source.flex.export().await.unwrap();
    let target = spawn_app().await;
    import(&target, &exported, false).await;
    let before = target.fingerprint().await;

    let report = import(&target, &exported, false).await;

    assert_eq!(report.refused, vec![], "{report:?}");
    assert_eq!((report.imported.users, report.imported.passkeys), (0, 0));
    assert_eq!(
        (report.duplicates.users, report.duplicates.passkeys),
        (2, 3)
    );
    assert_eq!(target.fingerprint().await, before);
    // The first import is in the audit log with its counts; the second, which
    // imported nothing, is not.
    let imported = imported_events(&target).await;
    assert_eq!(imported.len(), 1, "{imported:?}");
    assert_eq!(
        imported[0].detail,
        serde_json::json!({ "users": 2, "passkeys": 3 })
    );
}

/// The app's `passkeys.imported` events.
async fn imported_events(app: &TestApp) -> Vec<latchkey::flex::events::Event> {
    let query = latchkey::client::EventQuery {
        event_type: Some("passkeys.imported".into()),
        ..Default::default()
    };
    app.flex.events.list(&query).await.unwrap().events
}

#[tokio::test]
async fn a_dry_run_reports_and_changes_nothing() {
    let source = spawn_app().await;
    app_with_passkeys(&source).await;
    let exported = source.flex.export().await.unwrap();
    let target = spawn_app().await;
    let before = target.fingerprint().await;

    let report = import(&target, &exported, true).await;

    assert!(report.dry_run);
    assert_eq!(report.refused, vec![], "{report:?}");
    assert_eq!((report.imported.users, report.imported.passkeys), (2, 3));
    assert_eq!(target.fingerprint().await, before);
    assert_eq!(imported_events(&target).await, vec![]);
}

#[tokio::test]
async fn bad_rows_are_refused_with_their_reason_and_the_rest_imported() {
    let app = spawn_app().await;
    let (mut good, text) = foreign_passkey("good", b"good-handle", 40);
    let passkey: Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    let with = |changes: Value| {
        let mut row = passkey.clone();
        for (key, value) in changes.as_object().unwrap() {
            row[key] = value.clone();
        }
        row.to_string()
    };
    let bad = [
        // 2: the key's algorithm is not the one named
        with(json!({"credential_id": b64(b"bad-1"), "algorithm": -257})),
        // 3: an algorithm nothing can verify with
        with(json!({"credential_id": b64(b"bad-2"), "algorithm": -65535})),
        // 4: not a COSE key
        with(json!({"credential_id": b64(b"bad-3"), "public_key": b64(b"not cbor at all")})),
        // 5: not base64url
        with(json!({"credential_id": "*not base64*"})),
        // 6: no such user
        with(json!({"credential_id": b64(b"bad-5"), "external_id": "nobody"})),
        // 7: not a line of the format
        "{\"type\": \"device\"}".to_owned(),
        // 8: backed up but not backup eligible
        with(json!({"credential_id": b64(b"bad-7"), "backup_eligible": false})),
    ];
    let mut lines = text.lines().map(str::to_owned).collect::<Vec<_>>();
    lines.splice(1..1, bad);
    let text = lines.join("\n");

    let report = import(&app, &text, false).await;

    assert_eq!((report.imported.users, report.imported.passkeys), (1, 1));
    let mut refused: Vec<usize> = report.refused.iter().map(|r| r.line).collect();
    refused.sort();
    assert_eq!(refused, [2, 3, 4, 5, 6, 7, 8], "{report:#?}");
    for refusal in &report.refused {
        assert!(!refusal.reason.is_empty());
    }
    let reason = |line: usize| {
        report
            .refused
            .iter()
            .find(|r| r.line == line)
            .unwrap()
            .reason
            .clone()
    };
    assert!(reason(2).contains("algorithm"), "{}", reason(2));
    assert!(reason(5).contains("base64url"), "{}", reason(5));
    assert!(reason(6).contains("external id"), "{}", reason(6));
    // Nothing of a refused row is stored: one passkey, the good one.
    let passkeys: i64 = sqlx::query("SELECT COUNT(*) AS n FROM passkeys")
        .fetch_one(&app.db)
        .await
        .unwrap()
        .get("n");
    assert_eq!(passkeys, 1);
    app.sign_in(&mut good, None).await;
}

#[tokio::test]
async fn a_users_csv_keeps_the_external_ids_and_they_enrol_passkeys_later() {
    let app = spawn_app().await;
    let csv = "id,email,phone,status,created_at\n\
               usr_1,ada@example.com,,active,2024-03-01T10:00:00Z\n\
               usr_2,,+15551234567,active,2024-03-02T10:00:00Z\n\
               ,nobody@example.com,,active,\n";
    let target = app.core.find_app(&app.app_id).await.unwrap();
    let (rows, refused) = latchkey::flex::transfer::sources::read_file_text(csv).unwrap();
    let report = app.core.import(&target, rows, false).await.unwrap();

    assert_eq!(report.imported.users, 2);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let user = app.flex.user.get("usr_1").await.unwrap();
    assert_eq!(user.listed.external_id, "usr_1");
    assert_eq!(user.listed.created_at, "2024-03-01T10:00:00Z");
    assert!(user.webauthn_devices.is_empty());
    // No passkey yet: identifier-first sign-in says so, and enrolment works.
    assert_eq!(
        app.flex
            .auth
            .create_authenticate_transaction("usr_2")
            .await
            .unwrap_err()
            .code(),
        Some("user_has_no_passkeys")
    );
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "usr_2").await;
    app.sign_in(&mut authenticator, None).await;
    // Importing the CSV again finds them there.
    let (rows, _) = latchkey::flex::transfer::sources::read_file_text(csv).unwrap();
    let again = app.core.import(&target, rows, false).await.unwrap();
    assert_eq!((again.imported.users, again.duplicates.users), (0, 2));
}

/// `n` users with a passkey each, in the format, written fast (one key shared:
/// the import checks each key as it reads it, whoever's it is).
fn many_passkeys(n: usize) -> String {
    let (_, text) = foreign_passkey("seed", b"seed", 32);
    let passkey: Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    let mut out = String::new();
    for i in 0..n {
        let external_id = format!("user-{i:06}");
        out.push_str(
            &json!({"type": "user", "external_id": external_id, "display_name": external_id})
                .to_string(),
        );
        out.push('\n');
        let mut row = passkey.clone();
        row["external_id"] = external_id.into();
        row["credential_id"] = b64(format!("credential-{i:06}").as_bytes()).into();
        out.push_str(&row.to_string());
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn an_import_killed_half_way_ends_complete_when_run_again() {
    let app = spawn_app().await;
    let n = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("import.jsonl");
    std::fs::write(&file, many_passkeys(n)).unwrap();
    let database_url = app.database_url().to_owned();
    let import = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        command
            .args(["import", "--app", &app.app_id])
            .arg(&file)
            .env_remove("RUST_LOG")
            .env("DATABASE_URL", &database_url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let count = || async {
        sqlx::query("SELECT COUNT(*) AS n FROM passkeys")
            .fetch_one(&app.db)
            .await
            .unwrap()
            .get::<i64, _>("n")
    };

    let mut child = import().spawn().unwrap();
    let started = std::time::Instant::now();
    while count().await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "nothing imported"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = count().await;
    assert!(
        (1..n as i64).contains(&partial),
        "the kill came after {partial} of {n}"
    );
    // Whole batches only: users and passkeys of one batch commit together.
    assert_eq!(partial % 500, 0, "{partial}");

    let output = import().output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["refused"], json!([]), "{report}");
    assert_eq!(
        report["imported"]["passkeys"].as_i64().unwrap()
            + report["duplicates"]["passkeys"].as_i64().unwrap(),
        n as i64
    );
    assert_eq!(report["duplicates"]["passkeys"], partial);
    assert_eq!(count().await, n as i64);
}

#[tokio::test]
async fn the_cli_exports_what_the_api_exports() {
    let app = spawn_app().await;
    app_with_passkeys(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export.jsonl");

    let status = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["export", "--app", &app.app_id, "--out"])
        .arg(&out)
        .env_remove("RUST_LOG")
        .env("DATABASE_URL", app.database_url())
        .status()
        .unwrap();

    assert!(status.success());
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written, app.flex.export().await.unwrap());
    for line in written.lines() {
        assert!(matches!(
            serde_json::from_str::<Line>(line).unwrap(),
            Line::Header(_) | Line::User(_) | Line::Passkey(_)
        ));
    }
    // `latchkey import --dry-run` of it into a fresh store reports what it
    // would do and writes nothing; without --dry-run it imports.
    let target = spawn_app().await;
    let before = target.fingerprint().await;
    let run = |dry_run: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        command.args(["import", "--app", &target.app_id]);
        if dry_run {
            command.arg("--dry-run");
        }
        command
            .arg(&out)
            .env_remove("RUST_LOG")
            .env("DATABASE_URL", target.database_url())
            .output()
            .unwrap()
    };
    let dry = run(true);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let report: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["imported"], json!({"users": 2, "passkeys": 3}));
    assert!(String::from_utf8_lossy(&dry.stderr).contains("dry run"));
    assert_eq!(target.fingerprint().await, before);
    let real = run(false);
    let report: Value = serde_json::from_slice(&real.stdout).unwrap();
    assert_eq!(report["imported"], json!({"users": 2, "passkeys": 3}));
    assert_ne!(target.fingerprint().await, before);

    // An unknown app is a clear failure.
    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["export", "--app", "no-such-app"])
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("app"));
}

#[tokio::test]
async fn an_export_for_another_rp_id_is_refused_whole() {
    let source = spawn_app().await;
    app_with_passkeys(&source).await;
    let exported = source.flex.export().await.unwrap();
    let target = spawn_app().await;
    let new_app = latchkey::flex::apps::NewApp::parse(
        "Elsewhere",
        &["https://shop.example.com".to_owned()],
        None,
    )
    .unwrap();
    let (elsewhere, _) = target.core.create_app(&new_app).await.unwrap();
    let before = target.fingerprint().await;

    let (rows, _) = parse_lines(&exported).unwrap();
    let refused = target
        .core
        .import(&elsewhere, rows, false)
        .await
        .unwrap_err();

    assert_eq!(refused.code(), "invalid_request");
    assert!(refused.to_string().contains("RP ID localhost"), "{refused}");
    assert_eq!(target.fingerprint().await, before);
}

#[tokio::test]
async fn passkeys_over_the_apps_cap_or_of_another_app_are_refused() {
    let source = spawn_app().await;
    app_with_passkeys(&source).await;
    let exported = source.flex.export().await.unwrap();
    let target = spawn_app().await;
    // An app that allows one passkey per user: Ada's second is refused.
    let strict =
        latchkey::flex::apps::NewApp::parse("Strict", std::slice::from_ref(&target.address), None)
            .unwrap()
            .with_max_passkeys(Some(1))
            .unwrap();
    let (strict, _) = target.core.create_app(&strict).await.unwrap();
    let (rows, _) = parse_lines(&exported).unwrap();
    let report = target.core.import(&strict, rows, false).await.unwrap();
    assert_eq!((report.imported.users, report.imported.passkeys), (2, 2));
    assert_eq!(report.refused.len(), 1, "{report:#?}");
    assert!(report.refused[0]
        .reason
        .contains("the most this app allows"));

    // The same passkeys into another app of the same store: a credential id
    // belongs to one user only (the one the strict app refused is free).
    let report = import(&target, &exported, false).await;
    assert_eq!((report.imported.users, report.imported.passkeys), (2, 1));
    assert_eq!(report.refused.len(), 2, "{report:#?}");
    assert!(report
        .refused
        .iter()
        .all(|r| r.reason.contains("registered to another user")));
}
