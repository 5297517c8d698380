//! The startup seam: build the application from a config, read back the port
//! it bound, run it until a shutdown signal.

use std::{future::Future, net::SocketAddr, path::Path, sync::Arc};

use anyhow::Context;
use axum::{response::IntoResponse, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    config::{redact, Config, SiteFiles},
    flex::{apps::Origin, attestation, signing::Signing, webhooks::WebhookSettings, Flex},
    routes,
    site::{self, limits::SiteLimits},
    state::{AppState, Shared},
    store::Store,
    traffic::{client_ip::TrustedProxies, limits::Limits},
};

pub struct Application {
    listener: TcpListener,
    router: Router,
    flex: Flex,
    limits: Arc<Limits>,
    site_limits: Arc<SiteLimits>,
    event_retention_days: u32,
    webhooks: WebhookSettings,
}

impl Application {
    /// Connects to the database (running its migrations) and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database_url)
            .await
            .with_context(|| format!("database {}", redact(&config.database_url)))?;
        let builtin_origin = Origin::parse(&config.public_url.origin())?;
        let flex = Flex::new(store.clone(), config.clock.clone())
            .allowing_private_webhooks(config.webhooks.allow_private)
            .with_signing(Signing {
                secret_key: config.secret_key.clone(),
                public_origin: Some(config.public_url.origin()),
            })
            .with_attestation_cas(
                attestation::trusted_cas(config.attestation_ca.as_deref())
                    .context("--attestation-ca")?,
            );
        let problems = flex
            .signing_key_problems()
            .await
            .context("could not check the apps' signing keys")?;
        if !problems.is_empty() {
            anyhow::bail!(
                "Latchkey will not start, as signed results could not be signed: {}",
                problems.join("; ")
            );
        }
        let builtin = flex
            .ensure_builtin_app(&builtin_origin)
            .await
            .context("could not create the built-in site's app")?;
        tracing::info!(app_id = %builtin.id, rp_id = %builtin.rp_id, "the built-in site's app");
        flex.ensure_console_app(&builtin_origin)
            .await
            .context("could not create the console's app")?;
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let leptos_options = leptos_options(&config, listener.local_addr()?);
        let limits = Arc::new(Limits::new(
            config.rate_limits,
            &store,
            &config.clock,
            flex.metrics(),
        ));
        let site_limits = Arc::new(SiteLimits::new(&config.clock));
        let state = AppState::new(Shared {
            leptos_options,
            flex: flex.clone(),
            clock: config.clock.clone(),
            public_url: config.public_url.clone(),
            site: site::site(&flex, builtin, &config.public_url),
            console: crate::console::console(&flex, &config.public_url),
            limits: limits.clone(),
            site_limits: site_limits.clone(),
            metrics_token: config.metrics_token.clone(),
        });
        Ok(Self {
            listener,
            router: router(
                state,
                config.request_timeout,
                config.trusted_proxies,
                (config.site == SiteFiles::Embedded)
                    .then(crate::site_files::embedded)
                    .flatten(),
            ),
            flex,
            limits,
            site_limits,
            event_retention_days: config.event_retention_days,
            webhooks: config.webhooks,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The store the application runs on (tests inspect it).
    pub fn store(&self) -> Store {
        self.flex.store().clone()
    }

    /// The core the application serves (and caches) with: what it changes, this
    /// instance sees at once.
    pub fn flex(&self) -> Flex {
        self.flex.clone()
    }

    /// The rate limits the application counts with (tests read their key count).
    pub fn limits(&self) -> Arc<Limits> {
        self.limits.clone()
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Every path the router has a route for, read from the router itself
    /// (axum lists them in its `Debug`; it has no other way to enumerate).
    /// The OpenAPI test compares them with the document.
    pub fn served_paths(&self) -> Vec<String> {
        let router = format!("{:?}", self.router);
        let mut paths: Vec<String> = router
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|text| text.starts_with('/'))
            .map(str::to_owned)
            .collect();
        paths.sort_unstable();
        paths.dedup();
        paths
    }

    /// Serves until `shutdown` completes, then finishes the requests under way.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(
            address = %self.local_addr(),
            engine = ?self.flex.store().engine(),
            "latchkey is listening on http://{}",
            self.local_addr()
        );
        let sweeper = tokio::spawn(sweep_expired(
            self.flex.clone(),
            self.limits.clone(),
            self.site_limits.clone(),
            self.event_retention_days,
        ));
        // Delivers the webhook outbox (its state is all in the database).
        let webhooks = tokio::spawn(self.flex.clone().run_webhook_worker(self.webhooks));
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("the server failed")?;
        sweeper.abort();
        webhooks.abort();
        self.flex.store().close().await;
        tracing::info!("latchkey stopped cleanly");
        Ok(())
    }
}

fn router(
    state: AppState,
    request_timeout: std::time::Duration,
    trusted_proxies: TrustedProxies,
    embedded_site: Option<&'static include_dir::Dir<'static>>,
) -> Router {
    let routes = generate_route_list(app::App);
    let context_state = state.clone();
    let shell_options = state.leptos_options.clone();
    Router::new()
        .merge(routes::router(state.clone()))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.site.clone());
                provide_context(context_state.console.clone());
            },
            move || app::shell(shell_options.clone()),
        )
        .fallback(fallback(&state, embedded_site))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::site_fns::limit_server_fns,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::security::same_site_server_fns,
        ))
        // The audit log's context (client IP, user agent, request id) for
        // everything the request does.
        .layer(axum::middleware::from_fn(
            crate::traffic::context::middleware,
        ))
        // Before anything that reads the `ClientIp` (limits, server functions).
        .layer(axum::middleware::from_fn_with_state(
            trusted_proxies,
            crate::traffic::client_ip::middleware,
        ))
        // Every request, its body included, must arrive and be answered in time.
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(routes::security::headers))
        // The request's span, around everything logged while it is handled
        // (`routes::requests::observe` logs the request itself, outside it).
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(()),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.flex.metrics().clone(),
            routes::requests::observe,
        ))
        // Each request gets an id (or keeps its proxy's), in its log span and its answer.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// What no route answers: under `/v1/`, the API's `{code, error}` 404; elsewhere
/// a file of the site (embedded in the binary, or in its folder), or the site's
/// own 404 page (with the site in its context).
fn fallback(
    state: &AppState,
    embedded: Option<&'static include_dir::Dir<'static>>,
) -> impl Fn(
    axum::http::Uri,
    axum::extract::State<AppState>,
    axum::extract::Request,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = axum::response::Response> + Send>>
       + Clone
       + Send
       + 'static {
    let (site, console) = (state.site.clone(), state.console.clone());
    let site_files = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        move || {
            provide_context(site.clone());
            provide_context(console.clone());
        },
        app::shell,
    );
    move |uri, state, request| {
        if uri.path().starts_with("/v1/") {
            return Box::pin(async { routes::api_not_found() });
        }
        if let Some(file) = embedded
            .and_then(|site| crate::site_files::response(site, uri.path(), request.headers()))
        {
            return Box::pin(async { file });
        }
        let answer = site_files(uri.clone(), state, request);
        Box::pin(async move {
            let mut answer = answer.await;
            if answer.status() == axum::http::StatusCode::OK && uri.path().starts_with("/pkg/") {
                answer.headers_mut().insert(
                    axum::http::header::CACHE_CONTROL,
                    crate::site_files::cache_control(uri.path()),
                );
            }
            answer
        })
    }
}

/// The span of a request's log lines: its method, route (the matched
/// template, `other` if none), path (not the query) and id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get(routes::requests::REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("other", |path| path.as_str());
    // A route's template names the request; the raw path only when no route
    // matched, since a path may carry a secret (a console invite's token).
    let path = (route == "other").then(|| request.uri().path());
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        path,
        request_id = id,
    )
}

/// A panic in a handler is a bug: log it, answer a generic 500, keep serving.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    let body = serde_json::json!({
        "code": "internal_server_error",
        "error": "Something went wrong on our side. Try again; if it keeps failing, tell the operator.",
    });
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(body),
    )
        .into_response()
}

fn leptos_options(config: &Config, addr: SocketAddr) -> LeptosOptions {
    let reload_port = std::env::var("LEPTOS_RELOAD_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(3001);
    LeptosOptions::builder()
        .output_name(Arc::<str>::from("latchkey"))
        // An embedded site has no folder: a path that cannot exist keeps Leptos's
        // file handler from serving any (the fallback serves the embedded files).
        .site_root(Arc::<str>::from(
            config
                .site
                .folder()
                .unwrap_or(Path::new("/dev/null/no-site-folder"))
                .to_string_lossy()
                .as_ref(),
        ))
        .site_pkg_dir(Arc::<str>::from("pkg"))
        // cargo-leptos names the files by their hash and writes the hashes next
        // to the binary (`make dist` packs it there too).
        .hash_files(crate::site_files::hash_file_beside_binary())
        .site_addr(addr)
        .reload_port(reload_port)
        .build()
}

/// Deletes expired transactions, handshakes, nonces and site sessions once a
/// minute, and the events older than the retention; prunes the in-memory rate
/// limits (the API's and the site's). Expiry is checked on every use anyway;
/// this only keeps the tables and the limiters small.
async fn sweep_expired(
    flex: Flex,
    limits: Arc<Limits>,
    site_limits: Arc<SiteLimits>,
    event_retention_days: u32,
) {
    let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        every_minute.tick().await;
        limits.prune();
        let (store, now) = (flex.store(), flex.clock().now());
        if let Err(error) = store.forget_hits_before(now / 1000 - 60).await {
            tracing::warn!(error = %error, "could not forget old rate-limit windows");
        }
        match flex.sweep_expired().await {
            Ok(swept) => tracing::debug!(swept, "expired ceremony rows deleted"),
            Err(error) => tracing::warn!(error = %error, "could not delete expired ceremony rows"),
        }
        match flex.sweep_console().await {
            Ok(swept) => tracing::debug!(swept, "expired console sessions and invites deleted"),
            Err(error) => {
                tracing::warn!(error = %error, "could not delete expired console sessions")
            }
        }
        match store.sweep_expired_sessions(now).await {
            Ok(swept) => tracing::debug!(swept, "expired site sessions deleted"),
            Err(error) => tracing::warn!(error = %error, "could not delete expired site sessions"),
        }
        site_limits.prune();
        match flex.sweep_events(event_retention_days).await {
            Ok(swept) => tracing::debug!(swept, "events past their retention deleted"),
            Err(error) => tracing::warn!(error = %error, "could not delete old events"),
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
