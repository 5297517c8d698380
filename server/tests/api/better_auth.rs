//! Moving from better-auth (issue #12): a real better-auth server with
//! `@better-auth/passkey` (Node, `server/tests/better-auth/`, `npm ci` there
//! first) is started on its own database, users sign up on it and add passkeys
//! with the software authenticator, its database is imported into Latchkey,
//! and each of them then signs in to Latchkey with the same authenticator,
//! identifier-first and discoverable. better-auth's database is PostgreSQL when
//! the tests run on PostgreSQL, else a SQLite file (with `better-sqlite3`).

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use serde_json::{json, Value};
use softkey::Authenticator;

use crate::helpers::{spawn_app, TestDatabase};

fn fixture() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/better-auth");
    assert!(
        dir.join("node_modules/better-auth").exists(),
        "run `npm ci` in {} first (make test does)",
        dir.display()
    );
    dir
}

/// The better-auth server, stopped when dropped.
struct BetterAuth {
    child: Child,
    origin: String,
}

impl Drop for BetterAuth {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn start_better_auth(database_url: &str) -> BetterAuth {
    let mut child = Command::new("node")
        .arg("server.mjs")
        .arg(database_url)
        .current_dir(fixture())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let origin = loop {
        let line = lines
            .next()
            .expect("better-auth said where it listens")
            .unwrap();
        if let Some(origin) = line.strip_prefix("listening on ") {
            break origin.trim().to_owned();
        }
    };
    BetterAuth { child, origin }
}

/// A browser of one user on the better-auth app: its cookies, and its passkeys.
struct Browser {
    http: reqwest::Client,
    origin: String,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    async fn call(&mut self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.origin))
            .header(ORIGIN, &self.origin)
            .header(COOKIE, cookie);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

#[tokio::test]
async fn better_auth_users_sign_in_to_latchkey_with_the_passkeys_they_made_there() {
    // better-auth's own database, on the engine the tests run on.
    let database = TestDatabase::fresh().await;
    let better_auth_url = if database.url.starts_with("sqlite") {
        database.url.replace("latchkey.db", "better-auth.db")
    } else {
        database.url.clone()
    };
    let server = start_better_auth(&better_auth_url);

    // Three users sign up on the better-auth app and add passkeys there (the
    // last one two), each with an authenticator of their own.
    let mut users = Vec::new();
    for (n, passkeys) in [(1, 1), (2, 1), (3, 2)] {
        let mut browser = Browser {
            http: reqwest::Client::new(),
            origin: server.origin.clone(),
            cookies: BTreeMap::new(),
        };
        let signed_up = browser
            .call(
                reqwest::Method::POST,
                "/api/auth/sign-up/email",
                Some(json!({"email": format!("user{n}@example.com"), "password": "correct horse battery staple", "name": format!("User {n}")})),
            )
            .await;
        let user_id = signed_up["user"]["id"].as_str().unwrap().to_owned();
        let mut authenticator = Authenticator::new();
        for _ in 0..passkeys {
            let options = browser
                .call(
                    reqwest::Method::GET,
                    "/api/auth/passkey/generate-register-options",
                    None,
                )
                .await;
            let response = authenticator.register(&server.origin, &options);
            browser
                .call(
                    reqwest::Method::POST,
                    "/api/auth/passkey/verify-registration",
                    Some(json!({ "response": response })),
                )
                .await;
        }
        // better-auth's user handle is random, not its user id.
        assert_ne!(authenticator.credentials[0].user_handle, user_id.as_bytes());
        users.push((user_id, authenticator));
    }
    drop(server);

    // Its database, imported into Latchkey.
    let app = spawn_app().await;
    let target = app.core.find_app(&app.app_id).await.unwrap();
    let (rows, refused) = latchkey::flex::transfer::sources::read_better_auth(&better_auth_url)
        .await
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    let report = app.core.import(&target, rows, false).await.unwrap();
    assert_eq!(report.refused, vec![], "{report:#?}");
    assert_eq!((report.imported.users, report.imported.passkeys), (3, 4));

    // Everyone signs in to Latchkey with what they had, both ways, as the
    // better-auth user id their app knows them by.
    for (user_id, authenticator) in &mut users {
        let nonce = app.sign_in(authenticator, Some(user_id)).await;
        assert_eq!(app.flex.auth.verify_nonce(&nonce).await.unwrap(), *user_id);
        let nonce = app.sign_in(authenticator, None).await;
        assert_eq!(app.flex.auth.verify_nonce(&nonce).await.unwrap(), *user_id);
    }
    let (_, authenticator) = &mut users[2];
    for index in 0..2 {
        let (_, handshake, options) = app.begin_sign_in(None).await;
        let response =
            authenticator.assert_with(index, &app.address, &options, &Default::default());
        let (status, body) = app.authenticate_finish(None, &handshake, &response).await;
        assert_eq!(status, 200, "{body}");
    }
    drop(database);
}
