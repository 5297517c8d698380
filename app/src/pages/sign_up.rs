use leptos::prelude::*;

use super::{go_to_account_after_password, message};
use crate::api::SignUp;

#[component]
pub fn SignUpPage() -> impl IntoView {
    let sign_up = ServerAction::<SignUp>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_up.value().get() {
            go_to_account_after_password();
        }
    });
    let error = move || {
        sign_up
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| message(&e))
    };

    view! {
        <section class="card narrow">
            <h1>"Make an account"</h1>
            <p>"An ordinary account with a password. You can add a passkey to it next."</p>
            <ActionForm action=sign_up attr:class="form">
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required=true/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password"
                    minlength="8" required=true aria-describedby="password-hint"/>
                <p id="password-hint" class="hint">"At least 8 characters."</p>
                <button type="submit" disabled=move || sign_up.pending().get()>
                    {move || if sign_up.pending().get() { "Making your account…" } else { "Make account" }}
                </button>
            </ActionForm>
            <div role="status" aria-live="polite">
                {move || error().map(|text| view! { <p class="error" role="alert">{text}</p> })}
            </div>
            <p>"Have an account? " <a href="/signin">"Sign in"</a> "."</p>
        </section>
    }
}
