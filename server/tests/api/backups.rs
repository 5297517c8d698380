//! Backups: `latchkey backup` copies a SQLite store while the server registers
//! passkeys, `latchkey restore` puts the copy in a fresh place, and every
//! passkey whose registration had finished before the backup began signs in
//! there. Bad input (an existing file, a store with data, something that is not
//! a store, PostgreSQL) is refused with what to do, and changes nothing.

use std::{
    path::Path,
    process::{Command, Output},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
};

use softkey::Authenticator;

use crate::helpers::{spawn_app, spawn_app_on, TestDatabase};

fn latchkey(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .expect("latchkey runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn a_backup_taken_under_load_restores_every_passkey_registered_before_it() {
    if TestDatabase::on_postgres() {
        return; // SQLite's: PostgreSQL is refused, below.
    }
    let app = Arc::new(spawn_app().await);
    let backup_started = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    // (external id, its authenticator, finished before the backup began?)
    let done = Arc::new(Mutex::new(Vec::<(String, Authenticator, bool)>::new()));
    let mut load = Vec::new();
    for worker in 0..3 {
        let (app, backup_started, stop, done) = (
            app.clone(),
            backup_started.clone(),
            stop.clone(),
            done.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let external_id = format!("load-{worker}-{n}");
                let mut authenticator = Authenticator::new();
                app.add_passkey(&mut authenticator, &external_id).await;
                let before = !backup_started.load(Ordering::SeqCst);
                done.lock()
                    .unwrap()
                    .push((external_id, authenticator, before));
                n += 1;
            }
        }));
    }
    while done.lock().unwrap().len() < 15 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let folder = tempfile::tempdir().unwrap();
    let backup = folder.path().join("latchkey-backup.db");
    backup_started.store(true, Ordering::SeqCst);
    let database_url = app.database_url().to_owned();
    let out = backup.to_string_lossy().into_owned();
    let taken =
        tokio::task::spawn_blocking(move || latchkey(&database_url, &["backup", "--out", &out]))
            .await
            .unwrap();
    // The load goes on a little after the backup, then stops.
    let after = done.lock().unwrap().len();
    while done.lock().unwrap().len() < after + 5 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for worker in load {
        worker.await.unwrap();
    }
    assert!(taken.status.success(), "{}", text(&taken));
    assert!(text(&taken).contains("Backed up"), "{}", text(&taken));

    // Restore into a fresh place, and serve it.
    let restored = TestDatabase::fresh().await;
    let put = latchkey(
        &restored.url,
        &["restore", "--from", &backup.to_string_lossy()],
    );
    assert!(put.status.success(), "{}", text(&put));
    let server = spawn_app_on(restored, |_| {}).await;

    let mut done = std::mem::take(&mut *done.lock().unwrap());
    let before: Vec<_> = done.iter_mut().filter(|(_, _, before)| *before).collect();
    assert!(
        before.len() >= 15,
        "{} registered before the backup",
        before.len()
    );
    for (external_id, authenticator, _) in before {
        let signed_in = server
            .sign_in_to(authenticator, &app.app_id, &app.address, Some(external_id))
            .await;
        assert_eq!(&signed_in, external_id);
    }
}

#[tokio::test]
async fn bad_backups_and_restores_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "kept").await;
    let folder = tempfile::tempdir().unwrap();
    let backup = folder.path().join("backup.db");
    let backup_arg = backup.to_string_lossy().into_owned();

    if TestDatabase::on_postgres() {
        let refused = latchkey(app.database_url(), &["backup", "--out", &backup_arg]);
        assert!(!refused.status.success());
        assert!(text(&refused).contains("pg_dump"), "{}", text(&refused));
        assert!(!backup.exists());
        let refused = latchkey(app.database_url(), &["restore", "--from", &backup_arg]);
        assert!(!refused.status.success());
        return;
    }

    let taken = latchkey(app.database_url(), &["backup", "--out", &backup_arg]);
    assert!(taken.status.success(), "{}", text(&taken));
    let size = std::fs::metadata(&backup).unwrap().len();

    // A backup never overwrites a file.
    let again = latchkey(app.database_url(), &["backup", "--out", &backup_arg]);
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    assert_eq!(std::fs::metadata(&backup).unwrap().len(), size);

    // A store with data is not replaced without --replace, and is left as it was.
    let refused = latchkey(app.database_url(), &["restore", "--from", &backup_arg]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("--replace"), "{}", text(&refused));
    let signed_in = app
        .sign_in_to(&mut authenticator, &app.app_id, &app.address, Some("kept"))
        .await;
    assert_eq!(signed_in, "kept");

    // Something that is not a store, and a file that is not there.
    let junk = folder.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all, just some bytes").unwrap();
    let fresh = TestDatabase::fresh().await;
    for (from, says) in [
        (junk.as_path(), "not a Latchkey store"),
        (Path::new("/nonexistent/backup.db"), "not a file"),
    ] {
        let refused = latchkey(&fresh.url, &["restore", "--from", &from.to_string_lossy()]);
        assert!(!refused.status.success());
        assert!(text(&refused).contains(says), "{}", text(&refused));
    }
    // Nothing was created where the restore was refused.
    assert!(!Path::new(fresh.url.trim_start_matches("sqlite://")).exists());
}
