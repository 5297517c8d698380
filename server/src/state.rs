//! The one state value handed to Axum and, as context, to Leptos.

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::{
    config::PublicUrl,
    flex::{clock::Clock, Flex},
};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// The core, with the store and its caches.
    pub flex: Flex,
    pub clock: Clock,
    /// Where this server is reached; icon URLs are built on it.
    pub public_url: PublicUrl,
    /// The reference site's backends, handed to its server functions as context.
    pub site: app::backend::Site,
    pub limits: std::sync::Arc<crate::traffic::limits::Limits>,
    /// The limits on the site's server functions.
    pub site_limits: std::sync::Arc<crate::site::limits::SiteLimits>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
