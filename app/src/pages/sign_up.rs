use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;

use super::{form_echo, FormError};
use crate::api::SignUp;

/// A plain form (no island, no WASM): the browser posts it, the server answers
/// with the account page or with this page again, saying what went wrong and
/// keeping the email.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let echo = form_echo("/signup");
    view! {
        <section class="card narrow">
            <h1>"Make an account"</h1>
            <p>"An ordinary account with a password. You can add a passkey to it next."</p>
            <form method="post" action=SignUp::url() class="form">
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required=true
                    value=echo.email/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password"
                    minlength="8" required=true aria-describedby="password-hint"/>
                <p id="password-hint" class="hint">"At least 8 characters."</p>
                <button type="submit">"Make account"</button>
            </form>
            <FormError error=echo.error/>
            <p>"Have an account? " <a href="/signin">"Sign in"</a> "."</p>
        </section>
    }
}
