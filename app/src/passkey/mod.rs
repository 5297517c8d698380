//! The browser passkey client: passage-flex-js, in Rust, through web-sys.
//!
//! `can_register_passkey`, `can_authenticate_with_passkey`,
//! `can_use_conditional_mediation` and `can_use_conditional_create`
//! feature-detect; `PasskeyFlex` runs the ceremonies against Latchkey's client
//! API and returns the nonce, and keeps the password manager in step through
//! the Signal API where the browser has it (`signals`). The WebAuthn options
//! and credentials stay JSON from Latchkey to the browser and back (`json`).
//! It runs in the browser only (after hydration); on the server these are
//! never called.

mod json;
mod signals;

pub use signals::{can_use_conditional_create, signal_current};

use std::fmt;

use js_sys::Reflect;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, PublicKeyCredential};

use crate::wire::{AuthenticateStartRequest, ErrorBody, NonceResponse, RegisterStartRequest};
use json::Ceremony;

/// Whether this browser exposes WebAuthn at all (`window.PublicKeyCredential`).
pub fn has_webauthn() -> bool {
    web_sys::window()
        .and_then(|window| {
            js_sys::Reflect::get(&window, &JsValue::from_str("PublicKeyCredential")).ok()
        })
        .is_some_and(|value| !value.is_undefined())
}

async fn resolves_true(promise: Result<js_sys::Promise, JsValue>) -> bool {
    match promise {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Whether this browser can create a passkey here: WebAuthn is present and a
/// user-verifying platform authenticator is available.
pub async fn can_register_passkey() -> bool {
    has_webauthn()
        && resolves_true(Ok(
            PublicKeyCredential::is_user_verifying_platform_authenticator_available(),
        ))
        .await
}

/// Whether this browser can sign in with a passkey (on this device or another).
pub async fn can_authenticate_with_passkey() -> bool {
    has_webauthn()
}

/// Whether this browser offers passkeys in the autofill of a username field.
pub async fn can_use_conditional_mediation() -> bool {
    let Some((class, check)) = signals::static_method("isConditionalMediationAvailable") else {
        return false;
    };
    resolves_true(check.call0(&class).map(|p| p.unchecked_into())).await
}

/// What went wrong in a ceremony, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasskeyError {
    /// The person closed the browser's dialog.
    Cancelled,
    /// The browser's dialog timed out.
    TimedOut,
    /// The browser or authenticator refused (for example, no user verification).
    NotAllowed,
    /// This device already holds a passkey for this account.
    AlreadyRegistered,
    /// This browser cannot do WebAuthn.
    Unsupported,
    /// The ceremony was aborted because another one started.
    Aborted,
    /// The passkey the person chose is not registered here (it was removed):
    /// the browser was told to forget it (`signalUnknownCredential`).
    UnknownPasskey { credential_id: String },
    /// Latchkey could not be reached.
    Network(String),
    /// Latchkey refused: its `{code, error}`.
    Server { code: String, message: String },
}

impl fmt::Display for PasskeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cancelled => f.write_str(
                "Your browser stopped the passkey request: it was cancelled, or your device could not verify you. Nothing was changed; try again.",
            ),
            Self::TimedOut => f.write_str("The passkey dialog timed out. Nothing was changed; try again."),
            Self::NotAllowed => f.write_str(
                "Your device did not allow the passkey (it may not have verified you). Nothing was changed; try again, or use another device.",
            ),
            Self::AlreadyRegistered => f.write_str("This device already has a passkey for this account."),
            Self::Unsupported => f.write_str("This browser cannot use passkeys. Try a current browser, or keep using your password."),
            Self::Aborted => f.write_str("The passkey request was stopped."),
            Self::UnknownPasskey { .. } => f.write_str(
                "That passkey was not accepted: it is no longer registered here (it was removed), so your browser was asked to forget it. Sign in another way.",
            ),
            Self::Network(detail) => write!(f, "Could not reach the passkey service ({detail}). Check your connection and try again."),
            Self::Server { code, message } => match code.as_str() {
                "discoverable_login_failed" | "webauthn_login_failed" => {
                    f.write_str("That passkey was not accepted: it may have been removed from your account. Sign in another way.")
                }
                "handshake_not_found" | "transaction_not_found" => {
                    f.write_str("The passkey request expired. Try again.")
                }
                _ => f.write_str(message),
            },
        }
    }
}

/// Which authenticators a registration asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Attachment {
    /// This device (the default of passage-flex-js).
    #[default]
    Platform,
    CrossPlatform,
    Any,
}

impl Attachment {
    /// Its name in `authenticator_attachment`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::CrossPlatform => "cross-platform",
            Self::Any => "any",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RegisterOptions {
    pub authenticator_attachment: Attachment,
    /// An automatic upgrade (`mediation: "conditional"`): the password manager
    /// may create the passkey without a dialog, or never answer. Only where
    /// `can_use_conditional_create` says so.
    pub conditional: bool,
    /// Aborts the ceremony (a pending upgrade must be aborted before another one starts).
    pub signal: Option<AbortSignal>,
}

#[derive(Clone, Debug, Default)]
pub struct AuthenticateOptions {
    /// Identifier-first: a transaction the app's backend created for the user.
    pub transaction_id: Option<String>,
    /// Autofill (conditional mediation) instead of a modal dialog.
    pub conditional: bool,
    /// Aborts the ceremony (autofill must be aborted before another one starts).
    pub signal: Option<AbortSignal>,
}

/// A Passkey Flex client for one app, talking to Latchkey on this origin.
#[derive(Clone, Debug)]
pub struct PasskeyFlex {
    base: String,
}

impl PasskeyFlex {
    pub fn new(app_id: &str) -> Self {
        Self::with_base_url("", app_id)
    }

    /// For a Latchkey on another origin (it must list this site's origin).
    pub fn with_base_url(latchkey: &str, app_id: &str) -> Self {
        Self {
            base: format!("{}/v1/apps/{app_id}", latchkey.trim_end_matches('/')),
        }
    }

    /// Adds a passkey with a register transaction; returns the nonce.
    pub async fn register(
        &self,
        transaction_id: &str,
        options: RegisterOptions,
    ) -> Result<String, PasskeyError> {
        if !has_webauthn() {
            return Err(PasskeyError::Unsupported);
        }
        let start = RegisterStartRequest {
            transaction_id: transaction_id.to_owned(),
            authenticator_attachment: Some(options.authenticator_attachment.as_str().to_owned()),
            mediation: options.conditional.then(|| "conditional".to_owned()),
        };
        let handshake = self
            .start("/register/transactions/webauthn/start", &start)
            .await?;
        let mediation = options.conditional.then_some("conditional");
        let credential = json::ask(
            Ceremony::Create,
            &handshake.public_key,
            mediation,
            options.signal.as_ref(),
        )
        .await?;
        let finish = self
            .finish(
                "/register/transactions/webauthn/finish",
                Some(transaction_id),
                &handshake.id,
                credential.json,
            )
            .await;
        // A passkey the password manager made on its own but Latchkey refused
        // would be a dead entry: tell the password manager to drop it.
        if finish.is_err() && options.conditional {
            let rp_id = at(&handshake.public_key, &["rp", "id"]).as_string();
            signals::signal_unknown_credential(&rp_id.unwrap_or_default(), &credential.id);
        }
        Ok(finish?.nonce)
    }

    /// Signs in: identifier-first with a transaction, else discoverable (modal,
    /// or autofill when `conditional`); returns the nonce.
    pub async fn authenticate(&self, options: AuthenticateOptions) -> Result<String, PasskeyError> {
        if !has_webauthn() {
            return Err(PasskeyError::Unsupported);
        }
        let start = AuthenticateStartRequest {
            transaction_id: options.transaction_id.clone(),
        };
        let handshake = self
            .start("/authenticate/transactions/webauthn/start", &start)
            .await?;
        let mediation = options.conditional.then_some("conditional");
        let credential = json::ask(
            Ceremony::Get,
            &handshake.public_key,
            mediation,
            options.signal.as_ref(),
        )
        .await?;
        let finish = self
            .finish(
                "/authenticate/transactions/webauthn/finish",
                options.transaction_id.as_deref(),
                &handshake.id,
                credential.json,
            )
            .await
            .inspect_err(|error| {
                // A passkey Latchkey does not know: the password manager drops it.
                if let PasskeyError::UnknownPasskey { credential_id } = error {
                    let rp_id = at(&handshake.public_key, &["rpId"]).as_string();
                    signals::signal_unknown_credential(&rp_id.unwrap_or_default(), credential_id);
                }
            })?;
        if let Some(current) = &finish.signals {
            signal_current(current);
        }
        Ok(finish.nonce)
    }

    /// Posts a start; the handshake it answers, its options left as the
    /// browser parsed them (JSON).
    async fn start(&self, path: &str, request: &impl Serialize) -> Result<Handshake, PasskeyError> {
        let request =
            serde_json::to_string(request).map_err(|e| PasskeyError::Network(e.to_string()))?;
        let answer = js_sys::JSON::parse(&self.post(path, &request.into()).await?)
            .map_err(|_| not_latchkey())?;
        let public_key = at(&answer, &PUBLIC_KEY);
        Ok(Handshake {
            id: at(&answer, &HANDSHAKE_ID)
                .as_string()
                .ok_or_else(not_latchkey)?,
            public_key: public_key
                .is_object()
                .then_some(public_key)
                .ok_or_else(not_latchkey)?,
        })
    }

    /// Posts a finish: the browser's credential JSON passes through as the
    /// `handshake_response` (so the body is made here, with the field names
    /// of `RegisterFinishRequest` and `AuthenticateFinishRequest`).
    async fn finish(
        &self,
        path: &str,
        transaction_id: Option<&str>,
        handshake_id: &str,
        credential: JsValue,
    ) -> Result<NonceResponse, PasskeyError> {
        let [transaction, handshake, response] = FINISH_FIELDS;
        let mut fields = Vec::new();
        if let Some(transaction_id) = transaction_id {
            fields.push((transaction, transaction_id.into()));
        }
        fields.push((handshake, handshake_id.into()));
        fields.push((response, credential));
        let body = js_sys::JSON::stringify(&signals::object(&fields))
            .map_err(|_| PasskeyError::NotAllowed)?;
        let answer = self.post(path, &body).await?;
        serde_json::from_str(&answer).map_err(|_| not_latchkey())
    }

    /// Posts one of the client API's requests (JSON); its answer's text, or
    /// Latchkey's `{code, error}`.
    async fn post(&self, path: &str, body: &JsValue) -> Result<String, PasskeyError> {
        let network = |e: JsValue| {
            PasskeyError::Network(e.as_string().unwrap_or_else(|| "request failed".into()))
        };
        let window = web_sys::window().ok_or(PasskeyError::Unsupported)?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(body);
        let headers = web_sys::Headers::new().map_err(network)?;
        headers
            .set("content-type", "application/json")
            .map_err(network)?;
        init.set_headers(&headers);
        let request =
            web_sys::Request::new_with_str_and_init(&format!("{}{path}", self.base), &init)
                .map_err(network)?;
        let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(|_| PasskeyError::Network("no answer".into()))?
            .unchecked_into();
        let text = JsFuture::from(response.text().map_err(network)?)
            .await
            .map_err(network)?
            .as_string()
            .unwrap_or_default();
        if response.ok() {
            return Ok(text);
        }
        Err(match serde_json::from_str::<ErrorBody>(&text) {
            Ok(ErrorBody {
                credential_id: Some(credential_id),
                ..
            }) => PasskeyError::UnknownPasskey { credential_id },
            Ok(refused) => PasskeyError::Server {
                code: refused.code,
                message: refused.error,
            },
            Err(_) => PasskeyError::Server {
                code: "unknown".into(),
                message: "The passkey service refused the request.".into(),
            },
        })
    }
}

/// The fields of a finish request (`RegisterFinishRequest`,
/// `AuthenticateFinishRequest`), which the browser fills with its own JSON.
const FINISH_FIELDS: [&str; 3] = ["transaction_id", "handshake_id", "handshake_response"];

/// Where a start's answer (`HandshakeResponse`) has the handshake's id and the
/// `publicKey` options.
const HANDSHAKE_ID: [&str; 2] = ["handshake", "id"];
const PUBLIC_KEY: [&str; 3] = ["handshake", "challenge", "publicKey"];

/// A start's answer: the handshake's id, and the `publicKey` options as a
/// JavaScript object (binary fields still base64url).
struct Handshake {
    id: String,
    public_key: JsValue,
}

fn not_latchkey() -> PasskeyError {
    PasskeyError::Network("the answer was not Latchkey's".into())
}

/// `value[path[0]][path[1]]…`, or undefined where a step is missing.
fn at(value: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(value.clone(), |value, key| {
        if value.is_object() {
            Reflect::get(&value, &(*key).into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::wire::{
        AuthenticateFinishRequest, Challenge, HandshakeBody, HandshakeResponse,
        RegisterFinishRequest,
    };

    fn keys(value: Value) -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn the_finish_bodies_made_in_the_browser_name_the_fields_as_the_wire_types_do() {
        let mut expected: Vec<String> = FINISH_FIELDS.iter().map(|f| f.to_string()).collect();
        expected.sort();
        let register = RegisterFinishRequest {
            transaction_id: "t".into(),
            handshake_id: "h".into(),
            handshake_response: json!({}),
        };
        let authenticate = AuthenticateFinishRequest {
            transaction_id: Some("t".into()),
            handshake_id: "h".into(),
            handshake_response: json!({}),
        };
        assert_eq!(keys(serde_json::to_value(register).unwrap()), expected);
        assert_eq!(keys(serde_json::to_value(authenticate).unwrap()), expected);
    }

    #[test]
    fn a_start_answer_is_read_where_the_wire_type_puts_the_id_and_the_options() {
        let answer = serde_json::to_value(HandshakeResponse {
            handshake: HandshakeBody {
                id: "h1".into(),
                challenge: Challenge {
                    public_key: json!({"challenge": "AAAA"}),
                },
            },
        })
        .unwrap();
        let pointer = |path: &[&str]| format!("/{}", path.join("/"));
        assert_eq!(answer.pointer(&pointer(&HANDSHAKE_ID)), Some(&json!("h1")));
        assert_eq!(
            answer.pointer(&pointer(&PUBLIC_KEY)),
            Some(&json!({"challenge": "AAAA"}))
        );
    }
}
