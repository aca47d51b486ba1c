//! What every request handler and server function can reach.

use app::{services::Services, CloudInfo};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

#[derive(Clone)]
pub struct AppState {
    /// Every service handle (the console gets the same value).
    pub services: Services,
    /// Base URL clients reach the cloud at, without a trailing slash.
    pub public_url: String,
    pub cloud: CloudInfo,
    pub leptos: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos.clone()
    }
}
