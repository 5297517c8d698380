//! WebAuthn options arrive as JSON with base64url binary fields, and responses
//! leave the same way; `navigator.credentials` wants and gives ArrayBuffers.
//!
//! Where the browser has them, it converts both ways itself:
//! `PublicKeyCredential.parseCreationOptionsFromJSON` /
//! `parseRequestOptionsFromJSON` and `credential.toJSON()`, and the JSON passes
//! through untouched. Each is detected on its own, per ceremony; where one is
//! missing, the fallback here converts the fields WebAuthn names binary, with
//! the browser's own base64 (`atob`, `btoa`).

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortSignal, AuthenticatorAssertionResponse, AuthenticatorAttestationResponse,
    PublicKeyCredential,
};

use super::{
    at,
    signals::{method, object, static_method},
    PasskeyError,
};

/// Which of the two ceremonies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ceremony {
    /// Registration: `navigator.credentials.create()`.
    Create,
    /// Sign-in: `navigator.credentials.get()`.
    Get,
}

impl Ceremony {
    /// The browser's own parser of this ceremony's options JSON.
    fn parser(self) -> &'static str {
        match self {
            Self::Create => "parseCreationOptionsFromJSON",
            Self::Get => "parseRequestOptionsFromJSON",
        }
    }
}

/// What the browser answered: the credential's id (base64url), and the
/// credential as `RegistrationResponseJSON` or `AuthenticationResponseJSON`.
pub struct Answer {
    pub id: String,
    pub json: JsValue,
}

/// Asks the browser for a credential with the `publicKey` options JSON as
/// Latchkey sent it (optionally with a mediation and an abort signal).
pub async fn ask(
    ceremony: Ceremony,
    options: &JsValue,
    mediation: Option<&str>,
    signal: Option<&AbortSignal>,
) -> Result<Answer, PasskeyError> {
    let started = js_sys::Date::now();
    let timeout_ms = at(options, &["timeout"]).as_f64().unwrap_or(300_000.0);
    let failed = |e| refused(e, started, timeout_ms);
    let mut fields = vec![("publicKey", public_key(ceremony, options).map_err(failed)?)];
    if let Some(mediation) = mediation {
        fields.push(("mediation", mediation.into()));
    }
    if let Some(signal) = signal {
        fields.push(("signal", signal.into()));
    }
    let request = object(&fields);
    let container = web_sys::window()
        .ok_or(PasskeyError::Unsupported)?
        .navigator()
        .credentials();
    let promise = match ceremony {
        Ceremony::Create => container.create_with_options(request.unchecked_ref()),
        Ceremony::Get => container.get_with_options(request.unchecked_ref()),
    }
    .map_err(failed)?;
    let credential: PublicKeyCredential = JsFuture::from(promise)
        .await
        .map_err(failed)?
        .dyn_into()
        .map_err(|_| PasskeyError::NotAllowed)?;
    Ok(Answer {
        id: credential.id(),
        json: to_json(&credential, ceremony)?,
    })
}

/// The `publicKey` member of the request: the browser's parse of the JSON,
/// or the JSON with its binary fields decoded here.
fn public_key(ceremony: Ceremony, options: &JsValue) -> Result<JsValue, JsValue> {
    if let Some((class, parse)) = static_method(ceremony.parser()) {
        return parse.call1(&class, options);
    }
    decode(options, "challenge")?;
    decode(&at(options, &["user"]), "id")?;
    for list in ["excludeCredentials", "allowCredentials"] {
        let items = at(options, &[list]);
        if Array::is_array(&items) {
            for item in Array::from(&items).iter() {
                decode(&item, "id")?;
            }
        }
    }
    Ok(options.clone())
}

/// The credential as JSON: its own `toJSON()`, or the same object made here.
fn to_json(credential: &PublicKeyCredential, ceremony: Ceremony) -> Result<JsValue, PasskeyError> {
    if let Some(to_json) = method(credential, "toJSON") {
        return to_json
            .call0(credential)
            .map_err(|_| PasskeyError::NotAllowed);
    }
    let response = match ceremony {
        Ceremony::Create => {
            let response: AuthenticatorAttestationResponse = credential.response().unchecked_into();
            object(&[
                ("clientDataJSON", encode(&response.client_data_json())?),
                ("attestationObject", encode(&response.attestation_object())?),
                ("transports", transports(&response)),
            ])
        }
        Ceremony::Get => {
            let response: AuthenticatorAssertionResponse = credential.response().unchecked_into();
            let user_handle = match response.user_handle() {
                Some(handle) => encode(&handle)?,
                None => JsValue::NULL,
            };
            object(&[
                ("clientDataJSON", encode(&response.client_data_json())?),
                ("authenticatorData", encode(&response.authenticator_data())?),
                ("signature", encode(&response.signature())?),
                ("userHandle", user_handle),
            ])
        }
    };
    Ok(object(&[
        ("id", credential.id().into()),
        ("rawId", encode(&credential.raw_id())?),
        ("type", "public-key".into()),
        ("response", response.into()),
        ("clientExtensionResults", Object::new().into()),
    ])
    .into())
}

/// `getTransports()`, where the browser has it; else none.
fn transports(response: &AuthenticatorAttestationResponse) -> JsValue {
    method(response, "getTransports")
        .and_then(|get| get.call0(response).ok())
        .unwrap_or_else(|| Array::new().into())
}

/// Replaces `target[key]`, a base64url string, with its bytes; leaves anything else.
fn decode(target: &JsValue, key: &str) -> Result<(), JsValue> {
    let Some(text) = at(target, &[key]).as_string() else {
        return Ok(());
    };
    let window = web_sys::window().ok_or(JsValue::UNDEFINED)?;
    let bytes =
        from_binary_string(&window.atob(&base64_from_url(&text))?).ok_or(JsValue::UNDEFINED)?;
    Reflect::set(target, &key.into(), &Uint8Array::from(bytes.as_slice())).map(drop)
}

/// An ArrayBuffer as base64url.
fn encode(buffer: &JsValue) -> Result<JsValue, PasskeyError> {
    let window = web_sys::window().ok_or(PasskeyError::Unsupported)?;
    let standard = window
        .btoa(&binary_string(&Uint8Array::new(buffer).to_vec()))
        .map_err(|_| PasskeyError::NotAllowed)?;
    Ok(base64_to_url(&standard).into())
}

/// Bytes as a string of code points 0–255, what `btoa` encodes.
fn binary_string(bytes: &[u8]) -> String {
    bytes.iter().copied().map(char::from).collect()
}

/// What `atob` decodes to, back to bytes (`None` for a code point above 255).
fn from_binary_string(text: &str) -> Option<Vec<u8>> {
    text.chars().map(|c| u8::try_from(c).ok()).collect()
}

/// base64 (as `btoa` writes it) to base64url without padding (as WebAuthn's JSON has it).
fn base64_to_url(standard: &str) -> String {
    standard
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect()
}

/// base64url to base64, as `atob` reads it (with or without padding).
fn base64_from_url(url: &str) -> String {
    url.chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect()
}

/// Maps the browser's DOMException to what it means to a person.
fn refused(error: JsValue, started: f64, timeout_ms: f64) -> PasskeyError {
    let name = error
        .dyn_ref::<web_sys::DomException>()
        .map(|e| e.name())
        .unwrap_or_default();
    match name.as_str() {
        "InvalidStateError" => PasskeyError::AlreadyRegistered,
        "AbortError" => PasskeyError::Aborted,
        "NotSupportedError" | "SecurityError" => PasskeyError::Unsupported,
        "NotAllowedError" if js_sys::Date::now() - started >= timeout_ms - 1000.0 => {
            PasskeyError::TimedOut
        }
        "NotAllowedError" => PasskeyError::Cancelled,
        _ => PasskeyError::NotAllowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_survives_the_binary_string_both_ways() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(from_binary_string(&binary_string(&bytes)), Some(bytes));
    }

    #[test]
    fn a_code_point_above_255_is_not_a_byte() {
        assert_eq!(from_binary_string("a\u{100}"), None);
    }

    #[test]
    fn base64url_uses_dash_and_underscore_and_drops_the_padding() {
        // 0xfb 0xff: "+/8=" in base64.
        assert_eq!(base64_to_url("+/8="), "-_8");
        assert_eq!(base64_to_url("AAAA"), "AAAA");
        assert_eq!(base64_from_url("-_8"), "+/8");
        assert_eq!(base64_from_url("-_8="), "+/8=");
    }
}
