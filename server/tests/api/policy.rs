//! Authenticator policy per app: an allow- or deny-list of AAGUIDs and
//! "attested only", enforced at registration finish with 403
//! `authenticator_not_allowed` and nothing stored; set by `apps update`.
//! The attestations are real: the software authenticator signs `packed`
//! statements with a certificate from a CA each test makes with OpenSSL.

use std::time::Duration;

use latchkey::flex::apps::AuthenticatorPolicy;
use openssl::{
    asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time},
    bn::BigNum,
    ec::{EcGroup, EcKey},
    hash::MessageDigest,
    nid::Nid,
    pkey::{PKey, Private},
    x509::{
        extension::{BasicConstraints, KeyUsage},
        X509Extension, X509Name, X509,
    },
};
use p256::{ecdsa::SigningKey, pkcs8::EncodePrivateKey};
use reqwest::Method;
use serde_json::Value;
use softkey::{Attestation, Authenticator, Flags};

use crate::{
    cli::{apps_update, latchkey},
    helpers::{assert_error, spawn_app, spawn_app_with, TestApp},
};

/// A YubiKey 5's AAGUID ("YubiKey 5 Series" in the bundled list).
const YUBIKEY: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
/// Google Password Manager's.
const GOOGLE: &str = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4";

fn bytes(aaguid: &str) -> [u8; 16] {
    *uuid::Uuid::parse_str(aaguid).unwrap().as_bytes()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Sets the app's policy through the server's own core (which sees it at once).
async fn set_policy(app: &TestApp, app_id: &str, policy: AuthenticatorPolicy) {
    let id = latchkey::flex::ids::AppId::parse(app_id).unwrap();
    let current = app.core.app(&id).await.unwrap();
    let new = current.settings().unwrap().with_policy(policy);
    app.core.update_app(&id, &new).await.unwrap();
}

fn allow(list: &[&str]) -> AuthenticatorPolicy {
    AuthenticatorPolicy::parse(&strings(list), &[], false).unwrap()
}

fn deny(list: &[&str]) -> AuthenticatorPolicy {
    AuthenticatorPolicy::parse(&[], &strings(list), false).unwrap()
}

fn attested_only() -> AuthenticatorPolicy {
    AuthenticatorPolicy::parse(&[], &[], true).unwrap()
}

/// A registration for `external_id` with `authenticator`: the finish's answer.
async fn register(
    app: &TestApp,
    authenticator: &mut Authenticator,
    external_id: &str,
) -> (reqwest::StatusCode, Value) {
    let (transaction, handshake, options) = app.begin_registration(external_id).await;
    let response = authenticator.register(&app.address, &options);
    app.register_finish(&transaction, &handshake, &response)
        .await
}

async fn passkeys_of(app: &TestApp, external_id: &str) -> usize {
    app.flex
        .user
        .list_devices(external_id)
        .await
        .map(|devices| devices.len())
        .unwrap_or(0)
}

/// The app's refused registration finishes: (code, external id, detail).
async fn refusals(app: &TestApp) -> Vec<(String, Value)> {
    let (status, body) = app
        .manage(
            Method::GET,
            "/events?type=registration.finished&outcome=failure",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["code"].as_str().unwrap().to_owned(),
                e["external_id"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_allow_list_admits_a_listed_aaguid_and_refuses_another_storing_nothing() {
    let app = spawn_app().await;
    set_policy(&app, &app.app_id, allow(&[YUBIKEY])).await;
    let mut listed = Authenticator::new().with_aaguid(bytes(YUBIKEY));
    let mut other = Authenticator::new().with_aaguid(bytes(GOOGLE));

    let (status, body) = register(&app, &mut listed, "ada").await;
    assert_eq!(status, 200, "{body}");
    let (transaction, handshake, options) = app.begin_registration("grace").await;
    let before = app.fingerprint().await;
    let refused = app
        .register_finish(
            &transaction,
            &handshake,
            &other.register(&app.address, &options),
        )
        .await;

    assert_error(&refused, 403, "authenticator_not_allowed");
    assert_eq!(
        refused.1["error"],
        "This app does not accept passkeys from this authenticator."
    );
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(passkeys_of(&app, "grace").await, 0);
    assert_eq!(passkeys_of(&app, "ada").await, 1);
    assert_eq!(
        refusals(&app).await,
        [("authenticator_not_allowed".to_owned(), Value::from("grace"))]
    );
    // A refused response uses nothing up (as a failed verification): the
    // same handshake finishes with an authenticator the app admits.
    let admitted = listed.register(&app.address, &options);
    let (status, body) = app
        .register_finish(&transaction, &handshake, &admitted)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(passkeys_of(&app, "grace").await, 1);
}

#[tokio::test]
async fn a_deny_list_refuses_a_listed_aaguid_and_admits_another() {
    let app = spawn_app().await;
    set_policy(&app, &app.app_id, deny(&[GOOGLE])).await;
    let mut denied = Authenticator::new().with_aaguid(bytes(GOOGLE));
    let mut other = Authenticator::new().with_aaguid(bytes(YUBIKEY));
    let (transaction, handshake, options) = app.begin_registration("ada").await;
    let before = app.fingerprint().await;

    let refused = app
        .register_finish(
            &transaction,
            &handshake,
            &denied.register(&app.address, &options),
        )
        .await;

    assert_error(&refused, 403, "authenticator_not_allowed");
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(passkeys_of(&app, "ada").await, 0);
    let (status, body) = register(&app, &mut other, "ada").await;
    assert_eq!(status, 200, "{body}");
    // An authenticator that names no AAGUID (all zeros) is not on the list either.
    let (status, body) = register(&app, &mut Authenticator::new(), "ada").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn without_a_policy_any_authenticator_registers_and_another_apps_policy_does_not_apply() {
    let app = spawn_app().await;
    let (other_app, _) = app.other_app().await;
    set_policy(&app, &other_app, allow(&[YUBIKEY])).await;

    for aaguid in [GOOGLE, YUBIKEY, "00000000-0000-0000-0000-000000000000"] {
        let mut authenticator = Authenticator::new().with_aaguid(bytes(aaguid));
        let (status, body) = register(&app, &mut authenticator, "ada").await;
        assert_eq!(status, 200, "{aaguid}: {body}");
    }
    assert_eq!(passkeys_of(&app, "ada").await, 3);
    // Clearing a list admits what it refused.
    set_policy(&app, &app.app_id, deny(&[GOOGLE])).await;
    let mut google = Authenticator::new().with_aaguid(bytes(GOOGLE));
    assert_error(
        &register(&app, &mut google, "ada").await,
        403,
        "authenticator_not_allowed",
    );
    set_policy(&app, &app.app_id, AuthenticatorPolicy::default()).await;
    let (status, body) = register(&app, &mut google, "ada").await;
    assert_eq!(status, 200, "{body}");
}

/// A test attestation CA: a self-signed P-256 root.
struct TestCa {
    cert: X509,
    key: PKey<Private>,
}

fn name(entries: &[(Nid, &str)]) -> openssl::x509::X509Name {
    let mut name = X509Name::builder().unwrap();
    for (nid, value) in entries {
        name.append_entry_by_nid(*nid, value).unwrap();
    }
    name.build()
}

fn serial() -> Asn1Integer {
    let mut serial = BigNum::new().unwrap();
    serial
        .rand(64, openssl::bn::MsbOption::MAYBE_ZERO, false)
        .unwrap();
    serial.to_asn1_integer().unwrap()
}

/// Valid from a day ago for ten years (webauthn-rs checks against the system clock).
fn validity(builder: &mut openssl::x509::X509Builder) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    builder
        .set_not_before(&Asn1Time::from_unix(now - 86_400).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(3650).unwrap())
        .unwrap();
}

impl TestCa {
    fn new(common_name: &str) -> Self {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let subject = name(&[(Nid::COMMONNAME, common_name)]);
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        builder.set_serial_number(&serial()).unwrap();
        builder.set_subject_name(&subject).unwrap();
        builder.set_issuer_name(&subject).unwrap();
        builder.set_pubkey(&key).unwrap();
        validity(&mut builder);
        builder
            .append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        builder
            .append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()
                    .unwrap(),
            )
            .unwrap();
        builder.sign(&key, MessageDigest::sha256()).unwrap();
        Self {
            cert: builder.build(),
            key,
        }
    }

    fn pem(&self) -> String {
        String::from_utf8(self.cert.to_pem().unwrap()).unwrap()
    }

    /// An attestation key and its certificate, as packed attestation requires
    /// it (v3; subject C, O, OU "Authenticator Attestation", CN; not a CA; the
    /// AAGUID in id-fido-gen-ce-aaguid).
    fn attestation(&self, aaguid: &str) -> Attestation {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let der = key.to_pkcs8_der().unwrap();
        let public = PKey::private_key_from_pkcs8(der.as_bytes()).unwrap();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        builder.set_serial_number(&serial()).unwrap();
        builder
            .set_subject_name(&name(&[
                (Nid::COUNTRYNAME, "SE"),
                (Nid::ORGANIZATIONNAME, "Latchkey tests"),
                (Nid::ORGANIZATIONALUNITNAME, "Authenticator Attestation"),
                (Nid::COMMONNAME, "Softkey attestation"),
            ]))
            .unwrap();
        builder.set_issuer_name(self.cert.subject_name()).unwrap();
        builder.set_pubkey(&public).unwrap();
        validity(&mut builder);
        builder
            .append_extension(BasicConstraints::new().critical().build().unwrap())
            .unwrap();
        let mut contents = vec![0x04, 0x10];
        contents.extend_from_slice(&bytes(aaguid));
        let oid = Asn1Object::from_str("1.3.6.1.4.1.45724.1.1.4").unwrap();
        let contents = Asn1OctetString::new_from_bytes(&contents).unwrap();
        builder
            .append_extension(X509Extension::new_from_der(&oid, false, &contents).unwrap())
            .unwrap();
        builder.sign(&self.key, MessageDigest::sha256()).unwrap();
        Attestation::Packed {
            key,
            x5c: vec![builder.build().to_der().unwrap()],
        }
    }
}

/// A security key: not backed up (attested-only refuses synced passkeys),
/// attesting with `attestation`.
fn security_key(attestation: Attestation) -> Authenticator {
    let mut key = Authenticator::new()
        .with_aaguid(bytes(YUBIKEY))
        .with_attestation(attestation);
    key.flags = Flags {
        backup_eligible: false,
        backup_state: false,
        ..Flags::default()
    };
    key
}

/// A server that trusts `ca` besides the bundled CAs, its app attested-only.
async fn spawn_attested_app(ca: &TestCa) -> TestApp {
    let pem = ca.pem();
    let app = spawn_app_with(|config| config.attestation_ca = Some(pem)).await;
    set_policy(&app, &app.app_id, attested_only()).await;
    app
}

#[tokio::test]
async fn attested_only_admits_packed_attestation_from_a_trusted_ca_and_it_signs_in() {
    let ca = TestCa::new("Latchkey test attestation CA");
    let app = spawn_attested_app(&ca).await;
    let mut key = security_key(ca.attestation(YUBIKEY));

    let (transaction, handshake, options) = app.begin_registration("ada").await;
    assert_eq!(options["attestation"], "direct");
    let response = key.register(&app.address, &options);
    let (status, body) = app
        .register_finish(&transaction, &handshake, &response)
        .await;

    assert_eq!(status, 200, "{body}");
    let nonce = app.sign_in(&mut key, Some("ada")).await;
    assert_eq!(app.flex.auth.verify_nonce(&nonce).await.unwrap(), "ada");
    app.clock.advance(Duration::from_secs(1));
    let nonce = app.sign_in(&mut key, None).await;
    assert_eq!(app.flex.auth.verify_nonce(&nonce).await.unwrap(), "ada");
    let devices = app.flex.user.list_devices("ada").await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].friendly_name, "YubiKey 5 Series");
}

#[tokio::test]
async fn attested_only_refuses_none_self_and_untrusted_attestations_storing_nothing() {
    let ca = TestCa::new("Latchkey test attestation CA");
    let untrusted = TestCa::new("Someone else's CA");
    let app = spawn_attested_app(&ca).await;

    for (what, attestation) in [
        ("fmt none", Attestation::None),
        ("self attestation", Attestation::SelfAttestation),
        ("an untrusted CA", untrusted.attestation(YUBIKEY)),
    ] {
        let mut key = security_key(attestation);
        let (transaction, handshake, options) = app.begin_registration("ada").await;
        let before = app.fingerprint().await;
        let refused = app
            .register_finish(
                &transaction,
                &handshake,
                &key.register(&app.address, &options),
            )
            .await;
        assert_eq!(refused.0, 403, "{what}: {}", refused.1);
        assert_error(&refused, 403, "authenticator_not_allowed");
        assert_eq!(app.fingerprint().await, before, "{what}");
    }
    // A synced passkey, even attested by the trusted CA, is not a security key.
    let mut synced = Authenticator::new()
        .with_aaguid(bytes(YUBIKEY))
        .with_attestation(ca.attestation(YUBIKEY));
    assert_error(
        &register(&app, &mut synced, "ada").await,
        403,
        "authenticator_not_allowed",
    );

    assert_eq!(passkeys_of(&app, "ada").await, 0);
    let codes: Vec<String> = refusals(&app).await.into_iter().map(|(c, _)| c).collect();
    assert_eq!(codes, vec!["authenticator_not_allowed"; 4]);
}

#[tokio::test]
async fn an_attested_passkey_is_still_refused_by_the_apps_deny_list() {
    let ca = TestCa::new("Latchkey test attestation CA");
    let app = spawn_attested_app(&ca).await;
    let both = AuthenticatorPolicy::parse(&[], &strings(&[YUBIKEY]), true).unwrap();
    set_policy(&app, &app.app_id, both).await;
    let mut key = security_key(ca.attestation(YUBIKEY));

    assert_error(
        &register(&app, &mut key, "ada").await,
        403,
        "authenticator_not_allowed",
    );
    assert_eq!(passkeys_of(&app, "ada").await, 0);
}

/// The app's policy columns as stored.
async fn stored_policy(app: &TestApp) -> (String, String, i64) {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT aaguid_policy, CAST(aaguids AS TEXT) AS aaguids, \
         CAST(CASE WHEN attested_only THEN 1 ELSE 0 END AS BIGINT) AS attested FROM apps \
         WHERE id = $1",
    )
    .bind(&app.app_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    (
        row.get("aaguid_policy"),
        row.get::<String, _>("aaguids").replace(' ', ""),
        row.get("attested"),
    )
}

#[tokio::test]
async fn apps_update_sets_and_clears_the_policy_and_prints_it_with_names() {
    let app = spawn_app().await;

    let (ok, stdout, stderr) = apps_update(
        &app,
        &[
            &app.app_id,
            "--aaguid-allow",
            &YUBIKEY.to_uppercase(),
            "--aaguid-allow",
            GOOGLE,
            "--attested-only",
            "true",
            "--json",
        ],
    );

    assert!(ok, "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    let policy = &printed["authenticator_policy"];
    assert_eq!(policy["aaguid_policy"], "allow");
    assert_eq!(policy["attested_only"], true);
    assert_eq!(
        policy["aaguids"],
        serde_json::json!([
            { "aaguid": YUBIKEY, "name": "YubiKey 5 Series" },
            { "aaguid": GOOGLE, "name": "Google Password Manager" },
        ])
    );
    assert_eq!(
        stored_policy(&app).await,
        ("allow".into(), format!("[\"{YUBIKEY}\",\"{GOOGLE}\"]"), 1)
    );

    // Other options keep the policy; the text output names the authenticators.
    let (ok, stdout, stderr) = apps_update(&app, &[&app.app_id, "--name", "Shop"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("only the authenticators listed, attested by a trusted CA"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{GOOGLE}  Google Password Manager")),
        "{stdout}"
    );
    assert_eq!(stored_policy(&app).await.0, "allow");

    let (ok, _, stderr) = apps_update(&app, &[&app.app_id, "--aaguid-deny", GOOGLE]);
    assert!(ok, "{stderr}");
    assert_eq!(
        stored_policy(&app).await,
        ("deny".into(), format!("[\"{GOOGLE}\"]"), 1)
    );

    let (ok, stdout, stderr) = apps_update(
        &app,
        &[
            &app.app_id,
            "--aaguid-policy",
            "none",
            "--attested-only",
            "false",
            "--json",
        ],
    );
    assert!(ok, "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        printed["authenticator_policy"],
        serde_json::json!({ "aaguid_policy": "none", "aaguids": [], "attested_only": false })
    );
    assert_eq!(stored_policy(&app).await, ("none".into(), "[]".into(), 0));

    // The server sees the CLI's change once its cache of the app expires.
    apps_update(&app, &[&app.app_id, "--aaguid-deny", GOOGLE]);
    app.clock.advance(Duration::from_secs(2));
    let mut google = Authenticator::new().with_aaguid(bytes(GOOGLE));
    assert_error(
        &register(&app, &mut google, "ada").await,
        403,
        "authenticator_not_allowed",
    );
}

#[tokio::test]
async fn bad_policy_settings_are_refused_with_a_clear_message_and_change_nothing() {
    let app = spawn_app().await;
    apps_update(&app, &[&app.app_id, "--aaguid-deny", GOOGLE]);
    let before = stored_policy(&app).await;
    let fingerprint = app.fingerprint().await;

    let too_many: Vec<String> = (0..=latchkey::flex::apps::MAX_AAGUIDS)
        .flat_map(|n| {
            [
                "--aaguid-allow".to_owned(),
                uuid::Uuid::from_u128(n as u128 + 1).to_string(),
            ]
        })
        .collect();
    let mut too_many_args = vec![app.app_id.as_str()];
    too_many_args.extend(too_many.iter().map(String::as_str));
    for (args, message) in [
        (
            vec![app.app_id.as_str(), "--aaguid-allow", "yubikey"],
            "AAGUID `yubikey` is not a UUID",
        ),
        (
            vec![
                app.app_id.as_str(),
                "--aaguid-allow",
                YUBIKEY,
                "--aaguid-deny",
                GOOGLE,
            ],
            "not both",
        ),
        (
            vec![
                app.app_id.as_str(),
                "--aaguid-policy",
                "none",
                "--aaguid-allow",
                YUBIKEY,
            ],
            "clears the list",
        ),
        (
            vec![app.app_id.as_str(), "--aaguid-policy", "allow"],
            "invalid value 'allow'",
        ),
        (
            vec![app.app_id.as_str(), "--attested-only", "yes"],
            "invalid value 'yes'",
        ),
        (too_many_args, "at most 100 AAGUIDs"),
    ] {
        let (ok, _, stderr) = apps_update(&app, &args);
        assert!(!ok, "{:?} succeeded", &args[1..args.len().min(4)]);
        assert!(stderr.contains(message), "{message}: {stderr}");
    }

    assert_eq!(stored_policy(&app).await, before);
    assert_eq!(app.fingerprint().await, fingerprint);
}

#[tokio::test]
async fn serve_refuses_an_attestation_ca_file_that_holds_no_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ca.pem");
    std::fs::write(&file, "not a certificate").unwrap();
    let database = crate::helpers::TestDatabase::fresh().await;

    let output = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--attestation-ca")
        .arg(&file)
        .env("DATABASE_URL", &database.url)
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("attestation CA"), "{stderr}");
}

#[tokio::test]
async fn the_console_shows_the_policy_with_names_and_edits_it_refusing_bad_input() {
    let app = spawn_app().await;
    let mut ada = crate::console::Browser::new(&app);
    ada.accept(&crate::console::invite(&app, "Ada").await).await;
    let form = |mode: &'static str, aaguids: &'static str, attested: &'static str| {
        vec![
            ("app_id", app.app_id.clone()),
            ("mode", mode.to_owned()),
            ("aaguids", aaguids.to_owned()),
            ("attested_only", attested.to_owned()),
        ]
    };
    let before = stored_policy(&app).await;

    for (sent, message) in [
        (
            form("allow", "yubikey", "false"),
            "AAGUID `yubikey` is not a UUID",
        ),
        (form("allow", "", "false"), "needs at least one AAGUID"),
        (
            form("none", GOOGLE, "false"),
            "needs the policy allow or deny",
        ),
        (form("block", GOOGLE, "false"), "none, allow or deny"),
        (form("deny", GOOGLE, "maybe"), "true or false"),
    ] {
        let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = ada.call("apps/authenticator-policy", &sent).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains(message), "{message}: {body}");
    }
    assert_eq!(stored_policy(&app).await, before);

    let sent = form(
        "allow",
        "CB69481E-8FF7-4039-93EC-0A2729A154A8\nea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
        "true",
    );
    let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = ada.call("apps/authenticator-policy", &sent).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        stored_policy(&app).await,
        ("allow".into(), format!("[\"{YUBIKEY}\",\"{GOOGLE}\"]"), 1)
    );
    let (status, body) = ada.call("app", &[("app_id", &app.app_id)]).await;
    assert_eq!(status, 200, "{body}");
    let shown: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        shown["policy"],
        serde_json::json!({
            "mode": "allow",
            "aaguids": [
                { "aaguid": YUBIKEY, "name": "YubiKey 5 Series" },
                { "aaguid": GOOGLE, "name": "Google Password Manager" },
            ],
            "attested_only": true,
        })
    );
    // The settings form keeps the policy (its own form changes it).
    let settings = [
        ("app_id", app.app_id.as_str()),
        ("name", "Shop"),
        ("origins", app.address.as_str()),
        ("rp_id", ""),
        ("webauthn_timeout", ""),
        ("transaction_ttl", ""),
        ("nonce_ttl", ""),
        ("max_passkeys", ""),
    ];
    let (status, body) = ada.call("apps/update", &settings).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stored_policy(&app).await.0, "allow");
    // The change is the operator's, in the audit log.
    let (status, body) = app
        .manage(Method::GET, "/events?type=app.updated", None)
        .await;
    assert_eq!(status, 200, "{body}");
    let by_operator: Vec<&Value> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["actor"]
                .as_str()
                .unwrap_or_default()
                .starts_with("operator:")
        })
        .collect();
    assert_eq!(by_operator.len(), 2, "{body}");
    for event in by_operator {
        assert_eq!(
            event["detail"]["authenticator_policy"]["aaguids"],
            serde_json::json!([YUBIKEY, GOOGLE])
        );
    }
}
