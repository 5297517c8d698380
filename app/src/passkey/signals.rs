//! What browsers ship beyond Passage's client: client capabilities (for the
//! automatic passkey upgrade) and the WebAuthn Signal API (Level 3 §5.1.10),
//! which tells the password manager which passkeys are gone and what the user
//! is called now. Each is feature-detected on `PublicKeyCredential`: where a
//! browser lacks one, nothing happens and the flows work as before.

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::wire::WebauthnSignals;

/// `target.{name}`, if it is a function (this browser has it).
pub(super) fn method(target: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(target, &name.into()).ok()?.dyn_into().ok()
}

/// `PublicKeyCredential.{name}`, if this browser has it, with its class (its `this`).
pub(super) fn static_method(name: &str) -> Option<(JsValue, Function)> {
    let class = Reflect::get(&js_sys::global(), &"PublicKeyCredential".into()).ok()?;
    let method = method(&class, name)?;
    Some((class, method))
}

/// Whether `PublicKeyCredential.getClientCapabilities()` says this browser can
/// create a passkey without a dialog (`mediation: "conditional"`).
pub async fn can_use_conditional_create() -> bool {
    let Some((class, capabilities)) = static_method("getClientCapabilities") else {
        return false;
    };
    let Ok(promise) = capabilities.call0(&class) else {
        return false;
    };
    let Ok(answer) = JsFuture::from(Promise::from(promise)).await else {
        return false;
    };
    Reflect::get(&answer, &"conditionalCreate".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

pub(super) fn object(fields: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&object, &(*key).into(), value);
    }
    object
}

/// Calls a Signal API method if the browser has it, without waiting for it:
/// its answer changes nothing here, and a refusal is not the person's concern.
fn signal(name: &str, argument: Object) {
    let Some((class, method)) = static_method(name) else {
        return;
    };
    if let Ok(promise) = method.call1(&class, &argument) {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(Promise::from(promise)).await;
        });
    }
}

/// Tells the password manager that this RP does not know this credential
/// (base64url), so it drops the dead passkey.
pub fn signal_unknown_credential(rp_id: &str, credential_id: &str) {
    signal(
        "signalUnknownCredential",
        object(&[
            ("rpId", rp_id.into()),
            ("credentialId", credential_id.into()),
        ]),
    );
}

/// Tells the password manager which of the user's passkeys still work (it
/// hides the others) and what the user is called now.
pub fn signal_current(signals: &WebauthnSignals) {
    let ids: Array = signals
        .all_accepted_credential_ids
        .iter()
        .map(|id| JsValue::from_str(id))
        .collect();
    signal(
        "signalAllAcceptedCredentials",
        object(&[
            ("rpId", signals.rp_id.as_str().into()),
            ("userId", signals.user_id.as_str().into()),
            ("allAcceptedCredentialIds", ids.into()),
        ]),
    );
    signal(
        "signalCurrentUserDetails",
        object(&[
            ("rpId", signals.rp_id.as_str().into()),
            ("userId", signals.user_id.as_str().into()),
            ("name", signals.name.as_str().into()),
            ("displayName", signals.display_name.as_str().into()),
        ]),
    );
}
