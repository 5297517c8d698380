//! One module per route, and the pieces they share.

mod account;
mod home;
mod sign_in;
mod sign_up;

pub use account::AccountPage;
pub use home::HomePage;
pub use sign_in::SignInPage;
pub use sign_up::SignUpPage;

use std::cell::RefCell;

use leptos::prelude::*;

use crate::api::{current_account, AccountView, FormEcho};

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

thread_local! {
    /// The page's background WebAuthn request (the sign-in page's autofill, the
    /// account page's automatic upgrade) while it may be waiting, in the browser
    /// only. The browser runs one WebAuthn request at a time, so every other
    /// ceremony (and the Signal API) stops it first.
    static BACKGROUND: RefCell<Option<web_sys::AbortController>> = const { RefCell::new(None) };
}

/// An abort signal for a new background request, which `stop_background` aborts.
pub fn background_signal() -> Option<web_sys::AbortSignal> {
    let controller = web_sys::AbortController::new().ok()?;
    let signal = controller.signal();
    BACKGROUND.with(|background| background.replace(Some(controller)));
    Some(signal)
}

/// Stops the background request, if one may be waiting.
pub fn stop_background() {
    if let Some(controller) = BACKGROUND.with(RefCell::take) {
        controller.abort();
    }
}

/// Call once in every island. When all the page's islands have hydrated,
/// the body gets `data-hydrated`: for people's tools, and for the end-to-end
/// tests, which must not click before it.
pub fn island_hydrated() {
    Effect::new(|_| {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let Some(body) = document.body() else {
            return;
        };
        let hydrated = body
            .get_attribute("data-islands-hydrated")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
            + 1;
        let _ = body.set_attribute("data-islands-hydrated", &hydrated.to_string());
        let islands = document
            .query_selector_all("leptos-island")
            .map_or(0, |islands| islands.length());
        if hydrated >= islands {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// The signed-in account, loaded once per page.
pub fn account_resource() -> Resource<Result<Option<AccountView>, ServerFnError>> {
    Resource::new(|| (), |_| current_account())
}

/// What this page's form left after a refused post (on the server; empty in
/// the browser, which never renders the page).
pub fn form_echo(page: &str) -> FormEcho {
    #[cfg(feature = "ssr")]
    if let Some(echo) = crate::api::server::take_form_echo(page) {
        return echo;
    }
    let _ = page;
    FormEcho::default()
}

/// A refused form post's sentence, announced to screen readers (nothing when empty).
#[component]
pub fn FormError(error: String) -> impl IntoView {
    view! {
        <div role="status" aria-live="polite">
            {(!error.is_empty()).then(|| view! { <p class="error" role="alert">{error}</p> })}
        </div>
    }
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
