use leptos::prelude::*;

use super::island_hydrated;
use crate::{passkey, IslandScripts};

/// What Latchkey is, and whether this browser can use passkeys.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <section class="hero">
            <h1>"Latchkey"</h1>
            <p class="lede">
                "Passkeys for the accounts your application already has. "
                "Your app keeps its users and sessions; Latchkey adds passkeys to them."
            </p>
            <p>
                "This is the reference site: make an account with a password, add a passkey, "
                "and sign in with it. "
                <a href="/signup">"Make an account"</a> " or " <a href="/signin">"sign in"</a> "."
            </p>
        </section>
        <section class="card" aria-labelledby="support-heading">
            <h2 id="support-heading">"This browser"</h2>
            <PasskeySupport/>
            <noscript>
                <p class="warn">
                    "JavaScript is off. Passkeys are created and used by your browser, "
                    "so they need it: turn JavaScript on to use them."
                </p>
            </noscript>
        </section>
        <IslandScripts/>
    }
}

/// Whether this browser can use passkeys, decided in the browser once the
/// island has hydrated (the server renders "checking").
#[island]
fn PasskeySupport() -> impl IntoView {
    island_hydrated();
    let can_use_passkeys = RwSignal::new(None::<bool>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            can_use_passkeys.set(Some(passkey::can_register_passkey().await));
        });
    });
    view! {
        <div id="passkey-support" role="status" aria-live="polite">
            {move || match can_use_passkeys.get() {
                None => view! {
                    <p data-passkeys="checking">"Checking whether this browser can use passkeys…"</p>
                }.into_any(),
                Some(true) => view! {
                    <p data-passkeys="supported" class="ok">
                        "This browser can use passkeys: it has a platform authenticator "
                        "that verifies you (a fingerprint, a face or a device PIN)."
                    </p>
                }.into_any(),
                Some(false) => view! {
                    <p data-passkeys="unsupported" class="warn">
                        "This browser cannot create passkeys here: it has no authenticator "
                        "that can verify you. Try a current version of Chrome, Safari, Edge "
                        "or Firefox on a device with a screen lock, or keep signing in with "
                        "your password."
                    </p>
                }.into_any(),
            }}
        </div>
    }
}
