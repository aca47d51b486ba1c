//! What every request handler and server function can reach.

use std::sync::Arc;

use app::CloudInfo;
use axum::extract::FromRef;
use ferrostack_identity::Identity;
use ferrostack_image::Images;
use leptos::config::LeptosOptions;

#[derive(Clone)]
pub struct AppState {
    /// Database, events and jobs of this process, shared by every service.
    pub platform: ferrostack_core::Platform,
    pub identity: Arc<Identity>,
    pub images: Arc<Images>,
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
