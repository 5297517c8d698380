//! The Leptos application, compiled twice: with `ssr` for the server and with
//! `hydrate` for the browser. The reference site: pages, server functions
//! (`api`), the interfaces they reach the server through (`backend`, server
//! side only), the browser passkey client (`passkey`, web-sys), and the JSON of
//! the REST API (`wire`), shared by the server, its Rust client and the browser.
#![forbid(unsafe_code)]

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod console;
mod pages;
pub mod passkey;
pub mod wire;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: only this origin's scripts, the
/// hydration script by its nonce, WASM compilation, and no framing.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    // `cargo leptos watch` reloads the page over a websocket.
    let reload = if cfg!(debug_assertions) {
        " ws://localhost:*"
    } else {
        ""
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'{reload}; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'; object-src 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    content_security_policy();
    // Marks the page as hydrated (effects run only in the browser), for people's
    // tools and for the end-to-end tests that must not click before it.
    Effect::new(|_| {
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/latchkey.css"/>
        <Title text="Latchkey"/>
        <Router>
            <pages::SiteHeader/>
            <main>
                <Routes fallback=pages::NotFound>
                    <Route path=path!("") view=pages::HomePage/>
                    <Route path=path!("/signup") view=pages::SignUpPage/>
                    <Route path=path!("/signin") view=pages::SignInPage/>
                    <Route path=path!("/account") view=pages::AccountPage/>
                    // The console renders in full before it answers (async), so its
                    // pages read and post without JavaScript too.
                    <ParentRoute path=path!("/console") view=console::ConsoleLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=console::OverviewPage ssr=SsrMode::Async/>
                        <Route path=path!("signin") view=console::SignInPage ssr=SsrMode::Async/>
                        <Route path=path!("invite/:token") view=console::InvitePage ssr=SsrMode::Async/>
                        <Route path=path!("apps") view=console::AppsPage ssr=SsrMode::Async/>
                        <Route path=path!("apps/:app") view=console::AppPage ssr=SsrMode::Async/>
                        <Route path=path!("apps/:app/users") view=console::UsersPage ssr=SsrMode::Async/>
                        <Route path=path!("apps/:app/users/:user") view=console::UserPage ssr=SsrMode::Async/>
                        <Route path=path!("events") view=console::EventsPage ssr=SsrMode::Async/>
                    </ParentRoute>
                </Routes>
            </main>
        </Router>
    }
}
