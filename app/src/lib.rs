//! The Leptos application, compiled twice: with `ssr` for the server and with
//! `hydrate` for the browser, in islands mode: pages render on the server
//! only, and just the `#[island]` components (the passkey buttons, the
//! account's controls; the console's are lazy, in WASM chunks of their own)
//! run in the browser. The reference site: pages, server functions
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
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app, rendered on the server only. It loads no
/// script: a page with islands adds `IslandScripts`, so the others load no WASM.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // Islands mode: the page is not hydrated, only its islands (each opts in).
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    provide_context(options.clone());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet options id="leptos"/>
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

/// The script that loads the WASM and hydrates the page's islands. Only pages
/// with islands render it (once, anywhere in the page).
#[component]
pub fn IslandScripts() -> impl IntoView {
    use_context::<LeptosOptions>().map(|options| {
        // The WASM's glue imports the loader of the lazy chunks: fetched with
        // it, not one round trip after it.
        let loader =
            split_loader(&options).map(|href| view! { <link rel="modulepreload" href=href/> });
        view! {
            {loader}
            <HydrationScripts options islands=true/>
        }
    })
}

/// `/pkg/__wasm_split.<hash>.js`, from cargo-leptos's `hash.txt` beside the
/// binary (read once); `None` without one.
fn split_loader(options: &LeptosOptions) -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        static LOADER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        LOADER
            .get_or_init(|| {
                let hashes = std::fs::read_to_string(
                    std::env::current_exe()
                        .ok()?
                        .parent()?
                        .join(&*options.hash_file),
                )
                .ok()?;
                let hash = hashes
                    .lines()
                    .find_map(|line| line.trim().strip_prefix("split:"))?;
                Some(format!(
                    "/{}/__wasm_split.{}.js",
                    options.site_pkg_dir,
                    hash.trim()
                ))
            })
            .clone()
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = options;
        None
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <Title text="Latchkey"/>
        <Router>
            <pages::SiteHeader/>
            <main>
                <Routes fallback=pages::NotFound>
                    // Every page renders in full before it answers (async): it reads
                    // and posts without JavaScript, and its islands get their data.
                    <Route path=path!("") view=pages::HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/signup") view=pages::SignUpPage ssr=SsrMode::Async/>
                    <Route path=path!("/signin") view=pages::SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=pages::AccountPage ssr=SsrMode::Async/>
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
