//! WebAuthn options arrive as JSON with base64url binary fields, and responses
//! leave the same way; `navigator.credentials` wants and gives ArrayBuffers.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use js_sys::{Array, Object, Reflect, Uint8Array};
use serde::Serialize;
use serde_json::{Map, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortSignal, AuthenticatorAssertionResponse, AuthenticatorAttestationResponse,
    PublicKeyCredential,
};

use super::PasskeyError;

fn bytes(text: &Value) -> JsValue {
    let decoded = URL_SAFE_NO_PAD
        .decode(text.as_str().unwrap_or_default().trim_end_matches('='))
        .unwrap_or_default();
    Uint8Array::from(decoded.as_slice()).into()
}

fn b64(buffer: &JsValue) -> Option<String> {
    if buffer.is_null() || buffer.is_undefined() {
        return None;
    }
    Some(URL_SAFE_NO_PAD.encode(Uint8Array::new(buffer).to_vec()))
}

/// A `RegistrationResponseJSON` or `AuthenticationResponseJSON`: what the
/// browser answered, binary fields base64url (`null` where it gave none).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CredentialJson<Response> {
    id: String,
    raw_id: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    response: Response,
    client_extension_results: Map<String, Value>,
}

impl<Response: Serialize> CredentialJson<Response> {
    fn new(credential: &PublicKeyCredential, response: Response) -> Self {
        Self {
            id: credential.id(),
            raw_id: b64(&credential.raw_id()),
            kind: "public-key",
            response,
            client_extension_results: Map::new(),
        }
    }

    /// As the `handshake_response` of a finish request.
    fn into_value(self) -> Result<Value, PasskeyError> {
        // Strings, lists and maps with string keys: this cannot fail.
        serde_json::to_value(self).map_err(|_| PasskeyError::NotAllowed)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttestationJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: Option<String>,
    attestation_object: Option<String>,
    transports: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AssertionJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: Option<String>,
    authenticator_data: Option<String>,
    signature: Option<String>,
    user_handle: Option<String>,
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// Parses JSON into a plain JS object, then turns the named base64url fields into bytes.
fn to_js(options: &Value) -> JsValue {
    let object = js_sys::JSON::parse(&options.to_string()).unwrap_or_else(|_| Object::new().into());
    set(&object, "challenge", &bytes(&options["challenge"]));
    if let Some(user_id) = options.get("user").and_then(|u| u.get("id")) {
        let user = Reflect::get(&object, &"user".into()).unwrap_or(JsValue::UNDEFINED);
        set(&user, "id", &bytes(user_id));
    }
    for list in ["excludeCredentials", "allowCredentials"] {
        let Some(items) = options.get(list).and_then(Value::as_array) else {
            continue;
        };
        let js_items =
            Array::from(&Reflect::get(&object, &list.into()).unwrap_or(JsValue::UNDEFINED));
        for (index, item) in items.iter().enumerate() {
            set(&js_items.get(index as u32), "id", &bytes(&item["id"]));
        }
    }
    object
}

fn credentials() -> Result<web_sys::CredentialsContainer, PasskeyError> {
    Ok(web_sys::window()
        .ok_or(PasskeyError::Unsupported)?
        .navigator()
        .credentials())
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

fn timeout_of(options: &Value) -> f64 {
    options["timeout"].as_f64().unwrap_or(300_000.0)
}

/// Asks the browser for a credential: `create()` (registration) or `get()`
/// (sign-in, optionally with a mediation and an abort signal).
async fn ask_browser(
    options: &Value,
    mediation: Option<&str>,
    signal: Option<&AbortSignal>,
    create: bool,
) -> Result<PublicKeyCredential, PasskeyError> {
    let request = Object::new();
    set(&request, "publicKey", &to_js(options));
    if let Some(mediation) = mediation {
        set(&request, "mediation", &JsValue::from_str(mediation));
    }
    if let Some(signal) = signal {
        set(&request, "signal", signal);
    }
    let started = js_sys::Date::now();
    let failed = |e| refused(e, started, timeout_of(options));
    let container = credentials()?;
    let promise = if create {
        container.create_with_options(request.unchecked_ref())
    } else {
        container.get_with_options(request.unchecked_ref())
    }
    .map_err(failed)?;
    JsFuture::from(promise)
        .await
        .map_err(failed)?
        .dyn_into()
        .map_err(|_| PasskeyError::NotAllowed)
}

/// `navigator.credentials.create()` (optionally with a mediation and an abort
/// signal); the answer as `RegistrationResponseJSON`.
pub async fn create(
    options: &Value,
    mediation: Option<&str>,
    signal: Option<&AbortSignal>,
) -> Result<Value, PasskeyError> {
    let credential = ask_browser(options, mediation, signal, true).await?;
    let response: AuthenticatorAttestationResponse = credential.response().unchecked_into();
    let transports: Vec<String> = Reflect::get(&response, &"getTransports".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call0(&response).ok())
        .map(|list| {
            Array::from(&list)
                .iter()
                .filter_map(|t| t.as_string())
                .collect()
        })
        .unwrap_or_default();
    let attestation = AttestationJson {
        client_data_json: b64(&response.client_data_json()),
        attestation_object: b64(&response.attestation_object()),
        transports,
    };
    CredentialJson::new(&credential, attestation).into_value()
}

/// `navigator.credentials.get()`; the answer as `AuthenticationResponseJSON`.
pub async fn get(
    options: &Value,
    mediation: Option<&str>,
    signal: Option<&AbortSignal>,
) -> Result<Value, PasskeyError> {
    let credential = ask_browser(options, mediation, signal, false).await?;
    let response: AuthenticatorAssertionResponse = credential.response().unchecked_into();
    let assertion = AssertionJson {
        client_data_json: b64(&response.client_data_json()),
        authenticator_data: b64(&response.authenticator_data()),
        signature: b64(&response.signature()),
        user_handle: response.user_handle().and_then(|h| b64(&h)),
    };
    CredentialJson::new(&credential, assertion).into_value()
}
