//! The one state value handed to Axum and, as context, to Leptos.

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
