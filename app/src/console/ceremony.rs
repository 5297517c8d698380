//! The console's interactive pieces, each small and self-contained with
//! serializable props: the passkey sign-in and the invite's passkey
//! registration (islands), and the copy button (inside the islands that show a
//! new key). They reuse the site's
//! passkey client (`crate::passkey`).

use leptos::{prelude::*, task::spawn_local};

use super::api::{invite_finish, invite_start, sign_in_finish, sign_in_start};
use crate::{
    pages::{go_to, island_hydrated, message, Status, StatusLine},
    passkey::{self, AuthenticateOptions, PasskeyFlex, RegisterOptions},
};

/// Shown instead of a ceremony button in a browser without WebAuthn.
const UNSUPPORTED: &str = "This browser cannot use passkeys, and the console signs in only with \
     passkeys. Open this page in a current Chrome, Edge, Firefox or Safari.";

async fn sign_in() -> Result<(), String> {
    let app_id = sign_in_start().await.map_err(|e| message(&e))?;
    let nonce = PasskeyFlex::new(&app_id)
        .authenticate(AuthenticateOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    sign_in_finish(nonce).await.map_err(|e| message(&e))
}

/// "Sign in with a passkey": a discoverable sign-in to the console's app.
#[island(lazy)]
pub fn PasskeySignIn() -> impl IntoView {
    island_hydrated();
    let supported = RwSignal::new(None::<bool>);
    let busy = RwSignal::new(false);
    let status = RwSignal::new(None::<Status>);
    Effect::new(move |_| supported.set(Some(passkey::has_webauthn())));
    let start = move |_| {
        busy.set(true);
        status.set(Some(Status::Working(
            "Follow your browser's prompt to use your passkey…".into(),
        )));
        spawn_local(async move {
            match sign_in().await {
                Ok(()) => {
                    status.set(Some(Status::Done("Signed in.".into())));
                    go_to("/console");
                }
                Err(error) => {
                    busy.set(false);
                    status.set(Some(Status::Failed(error)));
                }
            }
        });
    };
    view! {
        {move || match supported.get() {
            None => view! {
                <p class="hint" data-testid="console-loading">"Signing in needs JavaScript; it is loading…"</p>
            }.into_any(),
            Some(true) => view! {
                <button type="button" data-testid="console-sign-in" disabled=move || busy.get() on:click=start>
                    {move || if busy.get() { "Signing in…" } else { "Sign in with a passkey" }}
                </button>
            }.into_any(),
            Some(false) => view! { <p class="warn" data-testid="passkey-unsupported">{UNSUPPORTED}</p> }.into_any(),
        }}
        <StatusLine status/>
    }
}

async fn register(token: String) -> Result<(), String> {
    let start = invite_start(token.clone()).await.map_err(|e| message(&e))?;
    let options = RegisterOptions {
        authenticator_attachment: passkey::Attachment::Any,
        ..RegisterOptions::default()
    };
    let nonce = PasskeyFlex::new(&start.app_id)
        .register(&start.transaction_id, options)
        .await
        .map_err(|e| e.to_string())?;
    invite_finish(token, nonce).await.map_err(|e| message(&e))
}

/// "Create your passkey": registers an invited operator's passkey, then signs in.
#[island(lazy)]
pub fn InviteRegister(token: String) -> impl IntoView {
    island_hydrated();
    let supported = RwSignal::new(None::<bool>);
    let busy = RwSignal::new(false);
    let status = RwSignal::new(None::<Status>);
    let token = StoredValue::new(token);
    Effect::new(move |_| supported.set(Some(passkey::has_webauthn())));
    let start = move |_| {
        busy.set(true);
        status.set(Some(Status::Working(
            "Follow your browser's prompt to create your passkey…".into(),
        )));
        spawn_local(async move {
            match register(token.get_value()).await {
                Ok(()) => {
                    status.set(Some(Status::Done(
                        "Passkey created. Opening the console…".into(),
                    )));
                    go_to("/console");
                }
                Err(error) => {
                    busy.set(false);
                    status.set(Some(Status::Failed(error)));
                }
            }
        });
    };
    view! {
        {move || match supported.get() {
            None => view! {
                <p class="hint">"Creating a passkey needs JavaScript; it is loading…"</p>
            }.into_any(),
            Some(true) => view! {
                <button type="button" data-testid="invite-register" disabled=move || busy.get() on:click=start>
                    {move || if busy.get() { "Creating your passkey…" } else { "Create your passkey" }}
                </button>
            }.into_any(),
            Some(false) => view! { <p class="warn" data-testid="passkey-unsupported">{UNSUPPORTED}</p> }.into_any(),
        }}
        <StatusLine status/>
    }
}

/// Copies `text` to the clipboard; says whether it did.
#[component]
pub fn CopyButton(text: String, #[prop(optional)] label: Option<String>) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let text = StoredValue::new(text);
    let copy = move |_| {
        spawn_local(async move {
            copied.set(Some(write_clipboard(&text.get_value()).await));
        });
    };
    let label = label.unwrap_or_else(|| "Copy".into());
    view! {
        <button type="button" class="secondary" data-testid="copy" on:click=copy>
            {move || match copied.get() {
                Some(true) => "Copied".to_owned(),
                Some(false) => "Select and copy it by hand".to_owned(),
                None => label.clone(),
            }}
        </button>
    }
}

/// `navigator.clipboard.writeText(text)`, without the web-sys feature flags.
async fn write_clipboard(text: &str) -> bool {
    use wasm_bindgen::{JsCast, JsValue};
    let Some(window) = web_sys::window() else {
        return false;
    };
    let Ok(clipboard) = js_sys::Reflect::get(&window.navigator(), &"clipboard".into()) else {
        return false;
    };
    let Ok(write) = js_sys::Reflect::get(&clipboard, &"writeText".into()) else {
        return false;
    };
    let Some(write) = write.dyn_ref::<js_sys::Function>() else {
        return false;
    };
    match write.call1(&clipboard, &JsValue::from_str(text)) {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise))
            .await
            .is_ok(),
        Err(_) => false,
    }
}
