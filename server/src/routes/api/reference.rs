//! What the OpenAPI document says beyond the handlers' annotations: every
//! error each operation can answer (status, code and sentence taken from
//! `ApiError` itself, so the document cannot drift from the answers), and an
//! example of every request and success, built from the wire types.

use std::{collections::BTreeMap, time::Duration};

use serde::Serialize;
use serde_json::{json, Value};
use utoipa::openapi::{
    example::ExampleBuilder,
    path::Operation,
    server::{ServerBuilder, ServerVariableBuilder},
    ContentBuilder, HeaderBuilder, LicenseBuilder, ObjectBuilder, OpenApi, Ref, RefOr,
    ResponseBuilder, Type,
};

use super::{error::ApiError, wire::*};
use crate::flex::FlexError;

/// Completes `openapi`; panics on an operation it has no errors or examples
/// for, so a new route cannot be served half documented (a test builds it).
pub fn complete(openapi: &mut OpenApi) {
    openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
    openapi.info.license = Some(
        LicenseBuilder::new()
            .name("MIT OR Apache-2.0")
            .identifier(Some("MIT OR Apache-2.0"))
            .build(),
    );
    openapi.servers = Some(vec![ServerBuilder::new()
        .url("{latchkey}")
        .description(Some("Your Latchkey"))
        .parameter(
            "latchkey",
            ServerVariableBuilder::new()
                .default_value("http://localhost:3000")
                .description(Some("Its public URL (`--public-url`)")),
        )
        .build()]);
    for item in openapi.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
            &mut item.put,
        ]
        .into_iter()
        .flatten()
        {
            complete_operation(operation);
        }
    }
}

fn complete_operation(operation: &mut Operation) {
    let id = operation.operation_id.clone().unwrap_or_default();
    // The client API and the meta routes take no secret: say so, not nothing.
    operation.security.get_or_insert_with(Vec::new);
    let (request, success) = examples(&id);
    if let Some(body) = &mut operation.request_body {
        let content = body
            .content
            .get_mut("application/json")
            .unwrap_or_else(|| panic!("{id}: a JSON request body"));
        content.example = Some(request.unwrap_or_else(|| panic!("{id}: no request example")));
    }
    if let Some(example) = success {
        for status in ["200", "201"] {
            if let Some(RefOr::T(ok)) = operation.responses.responses.get_mut(status) {
                for (media_type, content) in ok.content.iter_mut() {
                    if !media_type.starts_with("image/") {
                        content.example = Some(example.clone());
                    }
                }
            }
        }
    }
    let mut by_status: BTreeMap<u16, Vec<ApiError>> = BTreeMap::new();
    for error in errors(&id, operation.request_body.is_some()) {
        by_status
            .entry(error.status_and_code().0.as_u16())
            .or_default()
            .push(error);
    }
    for (status, errors) in by_status {
        let codes: Vec<String> = errors
            .iter()
            .map(|e| format!("`{}`", e.status_and_code().1))
            .collect();
        let mut content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody")));
        for error in &errors {
            let body = error.body();
            content = content.examples_from_iter([(
                body.code.clone(),
                ExampleBuilder::new().value(Some(to_json(&body))).build(),
            )]);
        }
        let mut response = ResponseBuilder::new()
            .description(format!("`{{code, error}}`: {}", codes.join(", ")))
            .content("application/json", content.build());
        if status == 429 {
            response = response.header(
                "retry-after",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::Integer))
                    .description(Some("Seconds to wait before trying again"))
                    .build(),
            );
        }
        operation
            .responses
            .responses
            .insert(status.to_string(), response.build().into());
    }
}

/// The errors operation `id` can answer: those of every request (malformed,
/// too many, our fault), of its API, and its own.
fn errors(id: &str, has_body: bool) -> Vec<ApiError> {
    use FlexError as E;
    let invalid = E::invalid(
        "Failed to deserialize the JSON body into the target type: missing field `external_id`.",
    );
    let mut errors = vec![ApiError::RateLimited(Duration::from_secs(4))];
    let management = vec![invalid, E::InvalidAccessToken, E::AppNotFound];
    let client = vec![
        E::invalid("handshake_response is not a WebAuthn response."),
        E::AppNotFound,
    ];
    let (api, own): (Vec<FlexError>, Vec<FlexError>) = match id {
        "create_register_transaction" => (management, vec![E::TooManyPasskeys(10)]),
        "create_authenticate_transaction" => (management, vec![E::UserHasNoPasskeys]),
        "verify_nonce" => (management, vec![E::InvalidNonce, E::ActionMismatch]),
        "list_users" | "export_app" | "list_events" => (management, vec![]),
        "get_user" | "list_devices" | "user_signals" | "rename_user" => {
            (management, vec![E::UserNotFound])
        }
        "revoke_device" | "rename_device" => (management, vec![E::UserNotFound, E::DeviceNotFound]),
        "register_start" => (client, vec![E::TransactionNotFound, E::TooManyPasskeys(10)]),
        "register_finish" => (
            client,
            vec![
                E::RegistrationFailed(String::new()),
                E::AuthenticatorNotAllowed(String::new()),
                E::HandshakeNotFound,
                E::UserNotFound,
                E::CredentialAlreadyRegistered,
                E::TooManyPasskeys(10),
            ],
        ),
        "authenticate_start" => (client, vec![E::TransactionNotFound, E::UserHasNoPasskeys]),
        "authenticate_finish" => (
            client,
            vec![
                E::LoginFailed(String::new()),
                E::DiscoverableLoginFailed(String::new()),
                E::CredentialNotFound(CREDENTIAL_ID.into()),
                E::HandshakeNotFound,
            ],
        ),
        "list_webhooks"
        | "create_webhook"
        | "remove_webhook"
        | "rotate_webhook_secret"
        | "list_webhook_messages" => (management, webhook_errors(id)),
        "jwks" | "well_known_webauthn" => (vec![E::AppNotFound], vec![]),
        // No body and no app: they answer 200, or 404 with no body.
        "openapi_document" | "provider_icon" => return Vec::new(),
        other => panic!("{other}: say in reference.rs which errors it answers"),
    };
    errors.extend(api.into_iter().chain(own).map(ApiError::from));
    if has_body {
        errors.push(ApiError::PayloadTooLarge);
    }
    errors.push(E::Internal(anyhow::anyhow!("example")).into());
    errors
}

const APP_ID: &str = "q8Zv2rYpWm3dXkTf7LhN1c";
const TRANSACTION_ID: &str = "k3J9xVb2QmN7wRt5YhZ8aL4pD6sF1gEc0uHnKiOq";
const HANDSHAKE_ID: &str = "Vh2mQ8rX5nT1kZp9yL3wB7cJ4dF6gS0aE2uNiKoM";
const NONCE: &str = "n7Xc2VbM9qR4tY8uJ1kL5zP3wA6sD0fGhEiKoNmQ";
const USER_ID: &str = "3f9c2b1e-8d7a-4c6b-9e5f-1a2b3c4d5e6f";
const DEVICE_ID: &str = "Rk4nW8qZ2xV6mT0pL9jH3bY7";
const CREDENTIAL_ID: &str = "bWl0Y2hlbGwtcGFzc2tleS1leGFtcGxlLWlk";
/// A signed result (ES256; its signature is zeros: an example, not a real one).
const SIGNED_RESULT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiIsImtpZCI6ImtpZF83YzNlOWExZjA0YjI0ZDZlOGYwYTFiMmMzZDRlNWY2YSJ9.eyJpc3MiOiJodHRwczovL3Bhc3NrZXlzLmV4YW1wbGUuY29tL3YxL2FwcHMvcThadjJyWXBXbTNkWGtUZjdMaE4xYyIsInN1YiI6InVzZXItMTIzNCIsImF1ZCI6InE4WnYycllwV20zZFhrVGY3TGhOMWMiLCJpYXQiOjE3OTUwMDAwMDAsImV4cCI6MTc5NTAwMDEyMCwianRpIjoiM3ExOHhZUFd5VF9uUHc0d2FBb0tMZyIsImFtciI6WyJ3ZWJhdXRobiJdLCJkZXZpY2VfaWQiOiJSazRuVzhxWjJ4VjZtVDBwTDlqSDNiWTcifQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const CLIENT_DATA: &str = "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiLi4uIn0";

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("wire types serialize")
}

fn device() -> Device {
    Device {
        id: DEVICE_ID.into(),
        cred_id: CREDENTIAL_ID.into(),
        friendly_name: "ada@example.com".into(),
        kind: "passkey".into(),
        usage_count: 3,
        created_at: "2026-11-02T09:14:05Z".into(),
        updated_at: "2026-11-20T18:02:44Z".into(),
        last_login_at: "2026-11-20T18:02:44Z".into(),
        icons: Icons {
            light: Some(
                "https://passkeys.example.com/v1/aaguid-icons/1password-icon-light.svg".into(),
            ),
            dark: Some(
                "https://passkeys.example.com/v1/aaguid-icons/1password-icon-dark.svg".into(),
            ),
        },
        provider_name: Some("1Password".into()),
        aaguid: "bada5566-a7aa-401f-bd96-45619a55120d".into(),
        backup_eligible: true,
        backup_state: true,
        transports: vec!["hybrid".into(), "internal".into()],
    }
}

fn user() -> UserListItem {
    UserListItem {
        id: USER_ID.into(),
        external_id: "user-1234".into(),
        status: "active".into(),
        email: String::new(),
        email_verified: false,
        phone: String::new(),
        phone_verified: false,
        login_count: 3,
        created_at: "2026-11-02T09:14:05Z".into(),
        updated_at: "2026-11-20T18:02:44Z".into(),
        last_login_at: "2026-11-20T18:02:44Z".into(),
        user_metadata: None,
    }
}

fn handshake(public_key: Value) -> Value {
    to_json(&HandshakeResponse {
        handshake: HandshakeBody {
            id: HANDSHAKE_ID.into(),
            challenge: Challenge { public_key },
        },
    })
}

/// An export of one user with one passkey: the JSON Lines `GET /export` streams.
fn export_example() -> String {
    use crate::flex::transfer::format::{AppSettings, Header, Line, PasskeyLine, UserLine};
    let lines = [
        Line::Header(Header {
            format: "latchkey-export".into(),
            version: 1,
            app: AppSettings {
                id: APP_ID.into(),
                name: "Shop".into(),
                rp_id: "example.com".into(),
                origins: vec!["https://shop.example.com".into()],
                related_origins: Vec::new(),
                webauthn_timeout_ms: 300_000,
                transaction_ttl_ms: 300_000,
                nonce_ttl_ms: 60_000,
                max_passkeys_per_user: 20,
            },
        }),
        Line::User(UserLine {
            external_id: "user-1234".into(),
            display_name: "ada@example.com".into(),
            user_handle: Some("P5wsHo1eTDWeXxqLPE1ebw".into()),
            created_at: Some("2026-11-02T09:14:05Z".into()),
        }),
        Line::Passkey(PasskeyLine {
            external_id: "user-1234".into(),
            credential_id: CREDENTIAL_ID.into(),
            public_key: "pQECAyYgASFYIIoJBg47eATiTN1ADmmfFP7_4Rr2_xI010xUN8_TBX_UIlggcX6rHAaRrK2oP1W6rSXIIZZBrKRcLeqnjg-wqSk__Eg".into(),
            algorithm: -7,
            counter: 3,
            aaguid: "bada5566-a7aa-401f-bd96-45619a55120d".into(),
            transports: vec!["hybrid".into(), "internal".into()],
            backup_eligible: true,
            backup_state: true,
            name: Some("1Password".into()),
            created_at: Some("2026-11-02T09:14:05Z".into()),
            last_used_at: Some("2026-11-20T18:02:44Z".into()),
            user_handle: None,
        }),
    ];
    lines
        .iter()
        .map(|line| serde_json::to_string(line).expect("lines serialize") + "\n")
        .collect()
}

/// The example request body and success body of operation `id`.
/// A user's Signal API arguments, as the examples show them.
fn signals() -> WebauthnSignals {
    WebauthnSignals {
        rp_id: "example.com".into(),
        user_id: "P5wsHo1eTDWeXxqLPE1ebw".into(),
        all_accepted_credential_ids: vec![CREDENTIAL_ID.into()],
        name: "ada@example.com".into(),
        display_name: "ada@example.com".into(),
    }
}

/// The step-up action of the examples.
fn transfer() -> serde_json::Value {
    serde_json::json!({"type": "transfer", "amount": "120.00", "to": "DE89 3704 0044 0532 0130 00"})
}

fn examples(id: &str) -> (Option<Value>, Option<Value>) {
    let transaction = || {
        Some(to_json(&TransactionResponse {
            transaction_id: TRANSACTION_ID.into(),
        }))
    };
    let nonce = || {
        Some(to_json(&NonceResponse {
            nonce: NONCE.into(),
            signed_result: Some(SIGNED_RESULT.into()),
            signals: None,
        }))
    };
    let link = |page: i64| Link {
        href: format!("/v1/apps/{APP_ID}/users?page={page}&limit=20"),
    };
    match id {
        "create_register_transaction" => (
            Some(to_json(&CreateRegisterTransactionRequest {
                external_id: "user-1234".into(),
                passkey_display_name: "ada@example.com".into(),
            })),
            transaction(),
        ),
        "create_authenticate_transaction" => (
            Some(to_json(&CreateAuthenticateTransactionRequest {
                external_id: "user-1234".into(),
                action: Some(transfer()),
            })),
            transaction(),
        ),
        "verify_nonce" => (
            Some(to_json(&VerifyNonceRequest {
                nonce: NONCE.into(),
                action: Some(transfer()),
            })),
            Some(to_json(&VerifyNonceResponse {
                external_id: "user-1234".into(),
                action: Some(transfer()),
            })),
        ),
        "list_users" => (
            None,
            Some(to_json(&UserListResponse {
                users: vec![user()],
                total_users: 1,
                page: 1,
                limit: 20,
                created_before: 1_795_000_000,
                _links: PaginatedLinks {
                    first: link(1),
                    last: link(1),
                    next: link(1),
                    previous: link(1),
                    this: link(1),
                },
            })),
        ),
        "get_user" => (
            None,
            Some(to_json(&UserResponse {
                user: UserInfo {
                    listed: user(),
                    recent_events: Vec::new(),
                    social_connections: json!({}),
                    webauthn: true,
                    webauthn_devices: vec![device()],
                    webauthn_types: vec!["passkey".into()],
                },
            })),
        ),
        "rename_user" => (
            Some(to_json(&RenameUserRequest {
                passkey_display_name: "ada.lovelace@example.com".into(),
            })),
            examples("get_user").1,
        ),
        "list_devices" => (
            None,
            Some(to_json(&DevicesResponse {
                devices: vec![device()],
            })),
        ),
        "user_signals" => (None, Some(to_json(&signals()))),
        "revoke_device" => (None, None),
        "export_app" => (None, Some(Value::String(export_example()))),
        "list_events" => (None, Some(to_json(&events_example()))),
        "rename_device" => (
            Some(to_json(&RenameDeviceRequest {
                friendly_name: "Work laptop".into(),
            })),
            Some(to_json(&DeviceResponse { device: device() })),
        ),
        "register_start" => (
            Some(to_json(&RegisterStartRequest {
                transaction_id: TRANSACTION_ID.into(),
                authenticator_attachment: Some("platform".into()),
                mediation: None,
            })),
            Some(handshake(json!({
                "rp": { "name": "Example", "id": "example.com" },
                "user": { "id": "P5wsHo1eTDWeXxqLPE1ebw", "name": "ada@example.com", "displayName": "ada@example.com" },
                "challenge": "2mN8qX4vR7tY1wZ5kL9pB3cJ6dF0gS8a",
                "pubKeyCredParams": [{ "type": "public-key", "alg": -7 }, { "type": "public-key", "alg": -257 }],
                "timeout": 300000,
                "excludeCredentials": [],
                "authenticatorSelection": { "residentKey": "required", "requireResidentKey": true, "userVerification": "required", "authenticatorAttachment": "platform" },
                "attestation": "none",
                "extensions": { "credProps": true },
            }))),
        ),
        "register_finish" => (
            Some(to_json(&RegisterFinishRequest {
                transaction_id: TRANSACTION_ID.into(),
                handshake_id: HANDSHAKE_ID.into(),
                handshake_response: json!({
                    "id": CREDENTIAL_ID,
                    "rawId": CREDENTIAL_ID,
                    "type": "public-key",
                    "response": {
                        "clientDataJSON": CLIENT_DATA,
                        "attestationObject": "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjF",
                        "transports": ["hybrid", "internal"],
                    },
                    "clientExtensionResults": { "credProps": { "rk": true } },
                }),
            })),
            nonce(),
        ),
        "authenticate_start" => (
            Some(to_json(&AuthenticateStartRequest {
                transaction_id: Some(TRANSACTION_ID.into()),
            })),
            Some(handshake(json!({
                "challenge": "8pB3cJ6dF0gS2mN8qX4vR7tY1wZ5kL9a",
                "timeout": 300000,
                "rpId": "example.com",
                "allowCredentials": [{ "type": "public-key", "id": CREDENTIAL_ID }],
                "userVerification": "required",
            }))),
        ),
        "authenticate_finish" => (
            Some(to_json(&AuthenticateFinishRequest {
                transaction_id: Some(TRANSACTION_ID.into()),
                handshake_id: HANDSHAKE_ID.into(),
                handshake_response: json!({
                    "id": CREDENTIAL_ID,
                    "rawId": CREDENTIAL_ID,
                    "type": "public-key",
                    "response": {
                        "clientDataJSON": CLIENT_DATA,
                        "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ",
                        "signature": "MEUCIQDx7Z9kL3mN8qX4vR7tY1wZ5kL9pB3cJ6dF0gS2mN8qXAIgV2b",
                        "userHandle": "P5wsHo1eTDWeXxqLPE1ebw",
                    },
                    "clientExtensionResults": {},
                }),
            })),
            Some(to_json(&NonceResponse {
                nonce: NONCE.into(),
                signed_result: Some(SIGNED_RESULT.into()),
                signals: Some(signals()),
            })),
        ),
        "openapi_document" => (
            None,
            Some(json!({
                "openapi": "3.1.0",
                "info": { "title": "Latchkey", "version": env!("CARGO_PKG_VERSION") },
                "paths": {},
            })),
        ),
        "provider_icon" => (None, None),
        "list_webhooks"
        | "create_webhook"
        | "remove_webhook"
        | "rotate_webhook_secret"
        | "list_webhook_messages" => webhook_examples(id),
        "jwks" => (None, Some(to_json(&jwks_example()))),
        "well_known_webauthn" => (
            None,
            Some(to_json(&WellKnownWebauthn {
                origins: vec![
                    "https://example.com".into(),
                    "https://example.co.uk".into(),
                    "https://example-shop.com".into(),
                ],
            })),
        ),
        other => panic!("{other}: give it examples in reference.rs"),
    }
}

/// The errors of a webhook operation beyond the management API's own.
fn webhook_errors(id: &str) -> Vec<FlexError> {
    match id {
        "create_webhook" => vec![FlexError::invalid(
            "url must reach a public address: 10.0.0.7 is a private or reserved address (the \
             server allows private ones with --webhook-allow-private)",
        )],
        "list_webhooks" => vec![],
        _ => vec![FlexError::WebhookNotFound],
    }
}

/// The example request and success bodies of a webhook operation.
fn webhook_examples(id: &str) -> (Option<Value>, Option<Value>) {
    use crate::flex::webhooks::{
        CreateWebhookRequest, Webhook, WebhookAttempt, WebhookList, WebhookMessage,
        WebhookMessageList, WebhookWithSecret,
    };
    let webhook = |rotated: bool| Webhook {
        id: "wh_5b2e8f0c1d4a4e7b9c3f6a8d0e2b4c6f".into(),
        url: "https://shop.example.com/hooks/latchkey".into(),
        event_types: vec!["authentication.finished".into(), "passkey.revoked".into()],
        created_at: "2026-11-26T12:00:00Z".into(),
        previous_secret_expires_at: rotated.then(|| "2026-11-27T12:00:00Z".into()),
    };
    let with_secret = |rotated: bool| {
        Some(to_json(&WebhookWithSecret {
            webhook: webhook(rotated),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwC1oFV4b5Kdc=".into(),
        }))
    };
    match id {
        "list_webhooks" => (
            None,
            Some(to_json(&WebhookList {
                webhooks: vec![webhook(false)],
            })),
        ),
        "create_webhook" => (
            Some(to_json(&CreateWebhookRequest {
                url: "https://shop.example.com/hooks/latchkey".into(),
                event_types: vec!["authentication.finished".into(), "passkey.revoked".into()],
            })),
            with_secret(false),
        ),
        "rotate_webhook_secret" => (None, with_secret(true)),
        "list_webhook_messages" => (
            None,
            Some(to_json(&WebhookMessageList {
                messages: vec![WebhookMessage {
                    id: "msg_9f8e7d6c5b4a49382716a5b4c3d2e1f0".into(),
                    event_id: Some("evt_0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5".into()),
                    event_type: Some("authentication.finished".into()),
                    status: "delivered".into(),
                    attempt_count: 2,
                    next_attempt_at: None,
                    created_at: "2026-11-26T12:00:00Z".into(),
                    finished_at: Some("2026-11-26T12:00:05Z".into()),
                    attempts: vec![
                        WebhookAttempt {
                            attempt: 1,
                            at: "2026-11-26T12:00:00Z".into(),
                            status_code: Some(503),
                            error: Some("the receiver answered 503".into()),
                            duration_ms: 41,
                        },
                        WebhookAttempt {
                            attempt: 2,
                            at: "2026-11-26T12:00:05Z".into(),
                            status_code: Some(200),
                            error: None,
                            duration_ms: 38,
                        },
                    ],
                }],
            })),
        ),
        _ => (None, None),
    }
}

/// An app's JWKS: its current key.
fn jwks_example() -> Jwks {
    Jwks {
        keys: vec![Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU".into(),
            y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0".into(),
            kid: "kid_7c3e9a1f04b24d6e8f0a1b2c3d4e5f6a".into(),
            alg: "ES256".into(),
            use_: "sig".into(),
        }],
    }
}

/// A page of the audit log: a discoverable sign-in refused, then one signed.
fn events_example() -> crate::flex::events::EventPage {
    use crate::flex::events::{Event, EventPage, EventType, Outcome};
    let event = |id: &str, outcome: Outcome, code: Option<&str>| Event {
        id: format!("evt_{id}"),
        app_id: Some("7f3a9c2e4b1d4e6f8a0b1c2d3e4f5a6b".into()),
        event_type: EventType::AuthenticationFinished,
        outcome,
        code: code.map(str::to_owned),
        external_id: Some("user-1234".into()),
        device_id: Some("c0ffee00c0ffee00c0ffee00c0ffee00".into()),
        actor: None,
        ip: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0".into()),
        request_id: Some("0d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5".into()),
        created_at: "2026-11-26T12:00:00Z".into(),
        detail: json!({ "kind": "discoverable" }),
    };
    EventPage {
        events: vec![
            event("5b2d8e0f1a3c4b6d9e7f0a1b2c3d4e5f", Outcome::Success, None),
            event(
                "4a1c7d9e0f2b3a5c8d6e9f0a1b2c3d4e",
                Outcome::Failure,
                Some("discoverable_login_failed"),
            ),
        ],
        next_cursor: Some("1041".into()),
    }
}
