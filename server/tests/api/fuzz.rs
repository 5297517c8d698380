//! Garbage in, `{code, error}` 4xx out: random mutations of real ceremony
//! responses and of API bodies never get a 5xx (nor a panic, which would be a
//! 500). `LATCHKEY_FUZZ_CASES` sets how many (`make fuzz` runs thousands).

use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRunner},
};
use reqwest::Method;
use serde_json::{json, Value};
use softkey::{b64, unb64, Authenticator};

use crate::helpers::{as_passage_flex_js_sends, spawn_app, TestApp};

#[derive(Clone, Debug)]
struct Mutation {
    kind: u8,
    bytes: Vec<u8>,
    text: String,
    at: usize,
    sign_in: bool,
}

fn mutations() -> impl Strategy<Value = Mutation> {
    (
        0u8..8,
        proptest::collection::vec(any::<u8>(), 0..300),
        ".{0,64}",
        0usize..400,
        any::<bool>(),
    )
        .prop_map(|(kind, bytes, text, at, sign_in)| Mutation {
            kind,
            bytes,
            text,
            at,
            sign_in,
        })
}

fn cases() -> Vec<Mutation> {
    generate(mutations())
}

/// `LATCHKEY_FUZZ_CASES` values of a strategy (64 by default), the same on every run.
fn generate<S: Strategy>(strategy: S) -> Vec<S::Value> {
    let count = std::env::var("LATCHKEY_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

/// The binary field a mutation works on.
fn binary_field(sign_in: bool) -> &'static str {
    if sign_in {
        "authenticatorData"
    } else {
        "attestationObject"
    }
}

fn mutate(good: &Value, m: &Mutation) -> Value {
    let mut response = good.clone();
    let field = binary_field(m.sign_in);
    match m.kind {
        0 => response = Value::String(m.text.clone()),
        1 => {
            let key = ["id", "rawId", "type", "response"][m.at % 4];
            response[key] = Value::String(m.text.clone());
        }
        2 => response["response"]["clientDataJSON"] = b64(&m.bytes).into(),
        3 => response["response"][field] = b64(&m.bytes).into(),
        4 => {
            let bytes = unb64(good["response"][field].as_str().unwrap());
            response["response"][field] = b64(&bytes[..m.at.min(bytes.len())]).into();
        }
        5 => {
            let mut bytes = unb64(good["response"][field].as_str().unwrap());
            let index = m.at % bytes.len();
            bytes[index] ^= m.bytes.first().copied().unwrap_or(1) | 1;
            response["response"][field] = b64(&bytes).into();
        }
        6 => {
            let mut bytes = unb64(good["response"]["clientDataJSON"].as_str().unwrap());
            bytes.extend_from_slice(&m.bytes);
            response["response"]["clientDataJSON"] = b64(&bytes).into();
        }
        _ => response["response"]["signature"] = b64(&m.bytes).into(),
    }
    response
}

/// An external id never used before.
fn new_user() -> String {
    format!("user-{}", uuid::Uuid::new_v4().simple())
}

#[track_caller]
fn assert_clean_refusal(answer: &(reqwest::StatusCode, Value), case: &Mutation) {
    assert!(
        answer.0.as_u16() < 500,
        "{case:?} got {} {}",
        answer.0,
        answer.1
    );
    if !answer.0.is_success() {
        assert!(answer.1["code"].is_string(), "{case:?} got {}", answer.1);
    }
}

async fn fresh_response(
    app: &TestApp,
    authenticator: &mut Authenticator,
    sign_in: bool,
) -> (Option<String>, String, Value) {
    if sign_in {
        let (transaction, handshake, options) = app.begin_sign_in(Some("user-1")).await;
        (
            transaction,
            handshake,
            authenticator.authenticate(&app.address, &options),
        )
    } else {
        // A user of its own each time: the mutations that still verify add a
        // passkey, and one user may hold only so many.
        let (transaction, handshake, options) = app.begin_registration(&new_user()).await;
        (
            Some(transaction),
            handshake,
            Authenticator::new().register(&app.address, &options),
        )
    }
}

#[tokio::test]
async fn mutated_ceremony_responses_never_get_a_5xx() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new();
    app.add_passkey(&mut authenticator, "user-1").await;

    for case in cases() {
        let (transaction, handshake, good) =
            fresh_response(&app, &mut authenticator, case.sign_in).await;
        let response = mutate(&good, &case);
        let answer = if case.sign_in {
            app.authenticate_finish(transaction.as_deref(), &handshake, &response)
                .await
        } else {
            app.register_finish(transaction.as_deref().unwrap(), &handshake, &response)
                .await
        };
        assert_clean_refusal(&answer, &case);
    }
}

#[tokio::test]
async fn random_api_bodies_never_get_a_5xx() {
    let app = spawn_app().await;
    let client_paths = [
        "/register/transactions/webauthn/start",
        "/register/transactions/webauthn/finish",
        "/authenticate/transactions/webauthn/start",
        "/authenticate/transactions/webauthn/finish",
    ];
    let management_paths = [
        "/transactions/register",
        "/transactions/authenticate",
        "/authenticate/verify",
    ];
    for case in cases() {
        let bodies = [
            String::from_utf8_lossy(&case.bytes).into_owned(),
            json!({ "transaction_id": case.text, "handshake_id": case.text, "handshake_response": case.text }).to_string(),
            json!({ "external_id": case.text, "passkey_display_name": case.text, "nonce": case.text }).to_string(),
        ];
        let body = &bodies[case.at % bodies.len()];
        let path = client_paths[case.at % client_paths.len()];
        assert_clean_refusal(
            &app.client_post_raw(&app.app_id, path, body.clone()).await,
            &case,
        );
        let path = management_paths[case.at % management_paths.len()];
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let answer = match parsed {
            Some(value) => app.manage(Method::POST, path, Some(&value)).await,
            None => app.client_post_raw(&app.app_id, path, body.clone()).await,
        };
        assert_clean_refusal(&answer, &case);
    }
}

// --- every endpoint, every field, every JSON type ------------------------------

/// Every endpoint of both APIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Endpoint {
    RegisterStart,
    RegisterFinish,
    AuthenticateStart,
    AuthenticateFinish,
    DiscoverableFinish,
    CreateRegisterTransaction,
    CreateAuthenticateTransaction,
    VerifyNonce,
    ListUsers,
    GetUser,
    ListDevices,
    RevokeDevice,
    RenameDevice,
}

const ENDPOINTS: [Endpoint; 13] = [
    Endpoint::RegisterStart,
    Endpoint::RegisterFinish,
    Endpoint::AuthenticateStart,
    Endpoint::AuthenticateFinish,
    Endpoint::DiscoverableFinish,
    Endpoint::CreateRegisterTransaction,
    Endpoint::CreateAuthenticateTransaction,
    Endpoint::VerifyNonce,
    Endpoint::ListUsers,
    Endpoint::GetUser,
    Endpoint::ListDevices,
    Endpoint::RevokeDevice,
    Endpoint::RenameDevice,
];

/// A value of each JSON type, for any field.
fn every_type() -> [Value; 6] {
    [
        Value::Null,
        json!(true),
        json!(1),
        json!("x"),
        json!([]),
        json!({}),
    ]
}

/// Path segments that are no ids: other types' text, bytes that are not
/// UTF-8, a NUL (which PostgreSQL refuses in text), an encoded slash.
const ODD_SEGMENTS: [&[u8]; 11] = [
    b"null",
    b"-1",
    b"true",
    b"[]",
    b"{\"a\":1}",
    b"\0",
    b"\xff\xfe",
    b"a/../b",
    "\u{e9}\u{202e}".as_bytes(),
    b"00000000-0000-0000-0000-000000000000",
    &[b'a'; 300],
];

/// Query values that are no page, limit or identifier.
const ODD_QUERY_VALUES: [&str; 16] = [
    "",
    "0",
    "-1",
    "1.5",
    "1e3",
    "x",
    "null",
    "true",
    "[]",
    "{}",
    "\0",
    "1000001",
    "922337203685477580",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
];

/// A request under `/v1/apps/`: its path segments (the app id first), query and body.
#[derive(Clone, Debug)]
struct Call {
    method: Method,
    segments: Vec<Vec<u8>>,
    /// The segments that are ids (the others name the route).
    ids: Vec<usize>,
    query: Vec<(String, String)>,
    body: Option<Value>,
    client: bool,
}

/// A path segment as sent: percent-encoded, and never empty nor a dot segment
/// (URL parsers would fold those into another route).
fn encode(segment: &[u8]) -> String {
    let segment: &[u8] = match segment {
        b"" | b"." | b".." => b"...",
        other => other,
    };
    segment
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-_~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// JSON pointers to every value in `value`, the root (`""`) first.
fn pointers(value: &Value) -> Vec<String> {
    fn walk(value: &Value, at: &str, out: &mut Vec<String>) {
        let children: Vec<(String, &Value)> = match value {
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
                .collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            _ => return,
        };
        for (step, child) in children {
            let at = format!("{at}/{step}");
            out.push(at.clone());
            walk(child, &at, out);
        }
    }
    let mut out = vec![String::new()];
    walk(value, "", &mut out);
    out
}

/// How a fuzz case damages a valid call.
#[derive(Clone, Debug)]
enum Damage {
    Replace { at: usize, with: Value },
    Remove { at: usize },
    Insert { at: usize, key: String, with: Value },
    Segment { at: usize, with: Vec<u8> },
    Query { at: usize, with: String },
}

impl Damage {
    /// Applies the damage where it fits the call; false when it does not.
    fn apply(&self, call: &mut Call) -> bool {
        let pick = |at: usize, len: usize| at % len.max(1);
        match (self, &mut call.body) {
            (Self::Replace { at, with }, Some(body)) => {
                let all = pointers(body);
                *body.pointer_mut(&all[pick(*at, all.len())]).unwrap() = with.clone();
            }
            (Self::Remove { at }, Some(body)) => {
                let all = pointers(body);
                if all.len() < 2 {
                    return false;
                }
                let target = &all[1 + pick(*at, all.len() - 1)];
                let (parent, last) = target.rsplit_once('/').unwrap();
                match body.pointer_mut(parent).unwrap() {
                    Value::Object(map) => {
                        map.remove(&last.replace("~1", "/").replace("~0", "~"));
                    }
                    Value::Array(items) => {
                        items.remove(last.parse::<usize>().unwrap());
                    }
                    _ => unreachable!("a pointer's parent holds it"),
                }
            }
            (Self::Insert { at, key, with }, Some(body)) => {
                let objects: Vec<String> = pointers(body)
                    .into_iter()
                    .filter(|p| body.pointer(p).unwrap().is_object())
                    .collect();
                if objects.is_empty() {
                    return false;
                }
                let object = body.pointer_mut(&objects[pick(*at, objects.len())]);
                object
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .insert(key.clone(), with.clone());
            }
            (Self::Segment { at, with }, _) => {
                let index = call.ids[pick(*at, call.ids.len())];
                call.segments[index] = with.clone();
            }
            (Self::Query { at, with }, _) if !call.query.is_empty() => {
                let index = pick(*at, call.query.len());
                call.query[index].1 = with.clone();
            }
            _ => return false,
        }
        true
    }
}

/// Any JSON value, up to three deep, with the field names the API reads.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN nor infinity", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((field_name(), inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "transaction_id",
            "handshake_id",
            "handshake_response",
            "authenticator_attachment",
            "external_id",
            "passkey_display_name",
            "nonce",
            "friendly_name",
            "id",
            "rawId",
            "type",
            "response",
            "transports",
            "clientDataJSON",
            "attestationObject",
            "authenticatorData",
            "signature",
            "userHandle",
            "clientExtensionResults",
            "extensions",
            "credProps",
        ])
        .prop_map(String::from),
        "[a-zA-Z]{1,10}",
    ]
}

fn damage() -> impl Strategy<Value = Damage> {
    let segment = prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..40),
        proptest::sample::select(ODD_SEGMENTS.to_vec()).prop_map(<[u8]>::to_vec),
        ".{1,20}".prop_map(String::into_bytes),
    ];
    let query_value = prop_oneof![
        json_value().prop_map(|v| match v {
            Value::String(text) => text,
            other => other.to_string(),
        }),
        proptest::sample::select(ODD_QUERY_VALUES.to_vec()).prop_map(String::from),
    ];
    prop_oneof![
        (any::<usize>(), json_value()).prop_map(|(at, with)| Damage::Replace { at, with }),
        any::<usize>().prop_map(|at| Damage::Remove { at }),
        (any::<usize>(), field_name(), json_value()).prop_map(|(at, key, with)| Damage::Insert {
            at,
            key,
            with
        }),
        (any::<usize>(), segment).prop_map(|(at, with)| Damage::Segment { at, with }),
        (any::<usize>(), query_value).prop_map(|(at, with)| Damage::Query { at, with }),
    ]
}

/// An app with a user who has a passkey, and a valid call to each endpoint,
/// kept until a call to that endpoint succeeds (a refused one changes nothing).
struct World {
    app: TestApp,
    authenticator: Authenticator,
    user_id: String,
    device_id: String,
    fresh: std::collections::HashMap<Endpoint, Call>,
}

impl World {
    async fn new() -> Self {
        let app = spawn_app().await;
        let mut authenticator = Authenticator::new();
        app.add_passkey(&mut authenticator, "user-1").await;
        let (_, users) = app
            .manage(Method::GET, "/users?identifier=user-1", None)
            .await;
        let user_id = users["users"][0]["id"].as_str().unwrap().to_owned();
        let (_, devices) = app
            .manage(Method::GET, &format!("/users/{user_id}/devices"), None)
            .await;
        let device_id = devices["devices"][0]["id"].as_str().unwrap().to_owned();
        Self {
            app,
            authenticator,
            user_id,
            device_id,
            fresh: Default::default(),
        }
    }

    async fn valid(&mut self, endpoint: Endpoint) -> Call {
        if let Some(call) = self.fresh.get(&endpoint) {
            return call.clone();
        }
        let call = self.make(endpoint).await;
        self.fresh.insert(endpoint, call.clone());
        call
    }

    async fn make(&mut self, endpoint: Endpoint) -> Call {
        use Endpoint as E;
        let app = &self.app;
        let call = |method: Method, path: &str, body: Option<Value>, client: bool| {
            let segments: Vec<Vec<u8>> = std::iter::once(app.app_id.as_str())
                .chain(path.split('/'))
                .map(|s| s.as_bytes().to_vec())
                .collect();
            let ids = segments
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    [&app.app_id, &self.user_id, &self.device_id]
                        .iter()
                        .any(|id| id.as_bytes() == s.as_slice())
                })
                .map(|(i, _)| i)
                .collect();
            Call {
                method,
                segments,
                ids,
                query: Vec::new(),
                body,
                client,
            }
        };
        let user = format!("users/{}", self.user_id);
        let device = format!("{user}/devices/{}", self.device_id);
        match endpoint {
            E::RegisterStart => {
                let transaction = app
                    .flex
                    .auth
                    .create_register_transaction("user-2", "Grace")
                    .await
                    .unwrap();
                let body = json!({ "transaction_id": transaction, "authenticator_attachment": "platform" });
                call(
                    Method::POST,
                    "register/transactions/webauthn/start",
                    Some(body),
                    true,
                )
            }
            E::RegisterFinish => {
                let (transaction, handshake, options) = app.begin_registration(&new_user()).await;
                let response =
                    as_passage_flex_js_sends(Authenticator::new().register(&app.address, &options));
                let body = json!({ "transaction_id": transaction, "handshake_id": handshake, "handshake_response": response });
                call(
                    Method::POST,
                    "register/transactions/webauthn/finish",
                    Some(body),
                    true,
                )
            }
            E::AuthenticateStart => {
                let transaction = app
                    .flex
                    .auth
                    .create_authenticate_transaction("user-1")
                    .await
                    .unwrap();
                let body = json!({ "transaction_id": transaction });
                call(
                    Method::POST,
                    "authenticate/transactions/webauthn/start",
                    Some(body),
                    true,
                )
            }
            E::AuthenticateFinish | E::DiscoverableFinish => {
                let external_id = (endpoint == E::AuthenticateFinish).then_some("user-1");
                let (transaction, handshake, options) = app.begin_sign_in(external_id).await;
                let response = self.authenticator.authenticate(&app.address, &options);
                let mut body = json!({ "handshake_id": handshake, "handshake_response": response });
                if let Some(transaction) = transaction {
                    body["transaction_id"] = transaction.into();
                }
                call(
                    Method::POST,
                    "authenticate/transactions/webauthn/finish",
                    Some(body),
                    true,
                )
            }
            E::CreateRegisterTransaction => {
                let body = json!({ "external_id": "user-3", "passkey_display_name": "Ada" });
                call(Method::POST, "transactions/register", Some(body), false)
            }
            E::CreateAuthenticateTransaction => {
                let body = json!({ "external_id": "user-1" });
                call(Method::POST, "transactions/authenticate", Some(body), false)
            }
            E::VerifyNonce => {
                let nonce = app.sign_in(&mut self.authenticator, Some("user-1")).await;
                call(
                    Method::POST,
                    "authenticate/verify",
                    Some(json!({ "nonce": nonce })),
                    false,
                )
            }
            E::ListUsers => {
                let mut listed = call(Method::GET, "users", None, false);
                listed.query = [("page", "1"), ("limit", "20"), ("identifier", "user-1")]
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .to_vec();
                listed
            }
            E::GetUser => call(Method::GET, &user, None, false),
            E::ListDevices => call(Method::GET, &format!("{user}/devices"), None, false),
            E::RevokeDevice => call(Method::DELETE, &device, None, false),
            E::RenameDevice => call(
                Method::PATCH,
                &device,
                Some(json!({ "friendly_name": "Phone" })),
                false,
            ),
        }
    }

    async fn send(&self, call: &Call) -> (reqwest::StatusCode, Value) {
        let app_id = encode(&call.segments[0]);
        let mut path: String = call.segments[1..]
            .iter()
            .map(|s| format!("/{}", encode(s)))
            .collect();
        if !call.query.is_empty() {
            path.push('?');
            path.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&call.query)
                    .finish(),
            );
        }
        if call.client {
            let body = call.body.as_ref().map(Value::to_string).unwrap_or_default();
            self.app.client_post_raw(&app_id, &path, body).await
        } else {
            self.app
                .manage_as(
                    &app_id,
                    Some(&self.app.api_key),
                    call.method.clone(),
                    &path,
                    call.body.as_ref(),
                )
                .await
        }
    }

    /// Sends a damaged call: never a 5xx, a `{code, error}` refusal that
    /// changed nothing, or a success (which used the valid call up).
    async fn check(&mut self, endpoint: Endpoint, call: &Call, case: &dyn std::fmt::Debug) {
        let before = self.app.fingerprint().await;
        let (status, body) = self.send(call).await;
        let what = format!("{endpoint:?} {case:?}: {status} {body}");
        assert!(status.as_u16() < 500, "{what}");
        if status.is_success() {
            self.fresh.remove(&endpoint);
            return;
        }
        assert!(
            body["code"].is_string() && body["error"].is_string(),
            "{what}"
        );
        assert_eq!(
            self.app.fingerprint().await,
            before,
            "refused, yet the store changed: {what}"
        );
    }
}

/// Every field at every depth of a valid body, replaced by a value of each
/// JSON type (the body itself too); every id in a path and every query
/// parameter, replaced by something that is no id, page or limit.
#[tokio::test]
async fn every_field_of_every_endpoint_refuses_every_wrong_type_cleanly() {
    let mut world = World::new().await;
    for endpoint in ENDPOINTS {
        let valid = world.valid(endpoint).await;
        if let Some(body) = &valid.body {
            for at in pointers(body) {
                for with in every_type() {
                    let mut call = world.valid(endpoint).await;
                    *call.body.as_mut().unwrap().pointer_mut(&at).unwrap() = with.clone();
                    world.check(endpoint, &call, &(&at, &with)).await;
                }
            }
        }
        for &index in &valid.ids {
            for with in ODD_SEGMENTS {
                let mut call = world.valid(endpoint).await;
                call.segments[index] = with.to_vec();
                world.check(endpoint, &call, &(index, with)).await;
            }
        }
        for index in 0..valid.query.len() {
            for with in ODD_QUERY_VALUES {
                let mut call = world.valid(endpoint).await;
                call.query[index].1 = with.to_owned();
                world.check(endpoint, &call, &(index, with)).await;
            }
            let mut call = world.valid(endpoint).await;
            call.query.push(call.query[index].clone());
            world.check(endpoint, &call, &("twice", index)).await;
        }
    }
}

/// Random damage, one to three changes, to valid calls of every endpoint in turn.
#[tokio::test]
async fn randomly_damaged_calls_to_every_endpoint_never_get_a_5xx() {
    let mut world = World::new().await;
    let cases = generate(proptest::collection::vec(damage(), 1..4));
    for (n, damages) in cases.iter().enumerate() {
        let endpoint = ENDPOINTS[n % ENDPOINTS.len()];
        let mut call = world.valid(endpoint).await;
        let applied = damages.iter().filter(|d| d.apply(&mut call)).count();
        if applied == 0 {
            // Nothing fitted this call: damage its last id instead.
            let last = *call.ids.last().unwrap();
            call.segments[last] = b"not-an-id".to_vec();
        }
        world.check(endpoint, &call, damages).await;
    }
}
