//! The browser passkey client: the helpers of passage-flex-js, in Rust, through
//! web-sys. It runs in the browser only (after hydration); on the server these
//! functions are never called.

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// Whether this browser exposes WebAuthn at all (`window.PublicKeyCredential`).
pub fn has_webauthn() -> bool {
    web_sys::window()
        .and_then(|window| {
            js_sys::Reflect::get(&window, &JsValue::from_str("PublicKeyCredential")).ok()
        })
        .is_some_and(|value| !value.is_undefined())
}

/// Whether this browser can create a passkey here: WebAuthn is present and a
/// user-verifying platform authenticator is available.
pub async fn can_register_passkey() -> bool {
    if !has_webauthn() {
        return false;
    }
    let promise =
        web_sys::PublicKeyCredential::is_user_verifying_platform_authenticator_available();
    JsFuture::from(promise)
        .await
        .ok()
        .and_then(|answer| answer.as_bool())
        .unwrap_or(false)
}
