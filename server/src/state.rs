//! The one state value handed to Axum and, as context, to Leptos: cloned for
//! every request and every middleware, so it is one `Arc`.

use std::{ops::Deref, sync::Arc};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::{
    config::PublicUrl,
    flex::{clock::Clock, Flex},
};

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What every request may reach.
pub struct Shared {
    pub leptos_options: LeptosOptions,
    /// The core, with the store and its caches.
    pub flex: Flex,
    pub clock: Clock,
    /// Where this server is reached; icon URLs are built on it.
    pub public_url: PublicUrl,
    /// The reference site's backends, handed to its server functions as context.
    pub site: app::backend::Site,
    /// The console's backend, handed to its server functions as context.
    pub console: app::console::backend::Console,
    pub limits: Arc<crate::traffic::limits::Limits>,
    /// The limits on the site's server functions.
    pub site_limits: Arc<crate::site::limits::SiteLimits>,
    /// The bearer token `GET /metrics` asks for, if any.
    pub metrics_token: Option<crate::metrics::MetricsToken>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
