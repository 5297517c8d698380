//! The browser passkey client: passage-flex-js, in Rust, through web-sys.
//!
//! `can_register_passkey`, `can_authenticate_with_passkey`,
//! `can_use_conditional_mediation` and `can_use_conditional_create`
//! feature-detect; `PasskeyFlex` runs the ceremonies against Latchkey's client
//! API and returns the nonce, and keeps the password manager in step through
//! the Signal API where the browser has it (`signals`). It runs in the browser
//! only (after hydration); on the server these are never called.

mod json;
mod signals;

pub use signals::{can_use_conditional_create, signal_current};

use std::fmt;

use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, PublicKeyCredential};

use crate::wire::{
    AuthenticateFinishRequest, AuthenticateStartRequest, ErrorBody, HandshakeResponse,
    NonceResponse, RegisterFinishRequest, RegisterStartRequest,
};

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
        let start: HandshakeResponse = self
            .post(
                "/register/transactions/webauthn/start",
                &RegisterStartRequest {
                    transaction_id: transaction_id.to_owned(),
                    authenticator_attachment: Some(
                        options.authenticator_attachment.as_str().to_owned(),
                    ),
                    mediation: options.conditional.then(|| "conditional".to_owned()),
                },
            )
            .await?;
        let handshake = start.handshake;
        let mediation = options.conditional.then_some("conditional");
        let public_key = &handshake.challenge.public_key;
        let credential = json::create(public_key, mediation, options.signal.as_ref()).await?;
        let credential_id = credential["id"].as_str().unwrap_or_default().to_owned();
        let finish = self
            .post::<NonceResponse>(
                "/register/transactions/webauthn/finish",
                &RegisterFinishRequest {
                    transaction_id: transaction_id.to_owned(),
                    handshake_id: handshake.id,
                    handshake_response: credential,
                },
            )
            .await;
        // A passkey the password manager made on its own but Latchkey refused
        // would be a dead entry: tell the password manager to drop it.
        if finish.is_err() && options.conditional {
            let rp_id = public_key["rp"]["id"].as_str().unwrap_or_default();
            signals::signal_unknown_credential(rp_id, &credential_id);
        }
        Ok(finish?.nonce)
    }

    /// Signs in: identifier-first with a transaction, else discoverable (modal,
    /// or autofill when `conditional`); returns the nonce.
    pub async fn authenticate(&self, options: AuthenticateOptions) -> Result<String, PasskeyError> {
        if !has_webauthn() {
            return Err(PasskeyError::Unsupported);
        }
        let start: HandshakeResponse = self
            .post(
                "/authenticate/transactions/webauthn/start",
                &AuthenticateStartRequest {
                    transaction_id: options.transaction_id.clone(),
                },
            )
            .await?;
        let handshake = start.handshake;
        let mediation = options.conditional.then_some("conditional");
        let credential = json::get(
            &handshake.challenge.public_key,
            mediation,
            options.signal.as_ref(),
        )
        .await?;
        let finish: NonceResponse = self
            .post(
                "/authenticate/transactions/webauthn/finish",
                &AuthenticateFinishRequest {
                    transaction_id: options.transaction_id,
                    handshake_id: handshake.id,
                    handshake_response: credential,
                },
            )
            .await
            .inspect_err(|error| {
                // A passkey Latchkey does not know: the password manager drops it.
                if let PasskeyError::UnknownPasskey { credential_id } = error {
                    let rp_id = handshake.challenge.public_key["rpId"].as_str();
                    signals::signal_unknown_credential(rp_id.unwrap_or_default(), credential_id);
                }
            })?;
        if let Some(current) = &finish.signals {
            signal_current(current);
        }
        Ok(finish.nonce)
    }

    /// Posts one of the client API's requests; its answer, or Latchkey's `{code, error}`.
    async fn post<Answer: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<Answer, PasskeyError> {
        let network = |e: JsValue| {
            PasskeyError::Network(e.as_string().unwrap_or_else(|| "request failed".into()))
        };
        let body = serde_json::to_string(body).map_err(|e| PasskeyError::Network(e.to_string()))?;
        let window = web_sys::window().ok_or(PasskeyError::Unsupported)?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&body));
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
            return serde_json::from_str(&text)
                .map_err(|_| PasskeyError::Network("the answer was not Latchkey's".into()));
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
