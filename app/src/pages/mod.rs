//! One module per route, and the pieces they share.

mod account;
mod home;
mod sign_in;
mod sign_up;

pub use account::AccountPage;
pub use home::HomePage;
pub use sign_in::SignInPage;
pub use sign_up::SignUpPage;

use leptos::prelude::*;

use crate::api::{current_account, AccountView};

/// The sentence to show for a failed server function.
pub fn message(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        _ => "Could not reach the server. Check your connection and try again.".to_owned(),
    }
}

/// Loads a page in full (so every part sees the new session).
pub fn go_to(path: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(path);
    }
}

/// Where the sign-in and sign-up pages leave word, for the account page they
/// open, that the person just used their password: the moment to offer an
/// automatic passkey upgrade.
const PASSWORD_SIGN_IN: &str = "latchkey.password-sign-in";

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Goes to the account page after a password sign-in (or sign-up).
pub fn go_to_account_after_password() {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(PASSWORD_SIGN_IN, "1");
    }
    go_to("/account");
}

/// Whether this page opened right after a password sign-in (asked once).
pub fn after_password_sign_in() -> bool {
    let Some(storage) = session_storage() else {
        return false;
    };
    let marked = storage.get_item(PASSWORD_SIGN_IN).ok().flatten().is_some();
    let _ = storage.remove_item(PASSWORD_SIGN_IN);
    marked
}

/// The signed-in account, loaded once per page.
pub fn account_resource() -> Resource<Result<Option<AccountView>, ServerFnError>> {
    Resource::new(|| (), |_| current_account())
}

/// A status line: progress, success or error, announced to screen readers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Working(String),
    Done(String),
    Failed(String),
}

#[component]
pub fn StatusLine(status: RwSignal<Option<Status>>) -> impl IntoView {
    view! {
        <div class="status" role="status" aria-live="polite">
            {move || status.get().map(|status| match status {
                Status::Working(text) => view! { <p class="working">{text}</p> }.into_any(),
                Status::Done(text) => view! { <p class="ok">{text}</p> }.into_any(),
                Status::Failed(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
            })}
        </div>
    }
}

#[component]
pub fn SiteHeader() -> impl IntoView {
    // The console has a header of its own.
    let location = leptos_router::hooks::use_location();
    if location.pathname.get_untracked().starts_with("/console") {
        return ().into_any();
    }
    let account = account_resource();
    view! {
        <header class="site-header">
            <a href="/" class="brand">"Latchkey"</a>
            <nav aria-label="Account">
                <Transition fallback=|| ()>
                    {move || account.get().map(|account| match account {
                        Ok(Some(account)) => view! {
                            <a href="/account">{account.email}</a>
                        }.into_any(),
                        _ => view! {
                            <a href="/signin">"Sign in"</a>
                            <a href="/signup" class="button-link">"Sign up"</a>
                        }.into_any(),
                    })}
                </Transition>
            </nav>
        </header>
    }
    .into_any()
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <h1>"Page not found"</h1>
        <p>"There is nothing at this address. " <a href="/">"Go to the home page"</a> "."</p>
    }
}
