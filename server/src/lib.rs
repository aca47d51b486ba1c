//! The `ferrostack` binary's library half: CLI, configuration, the REST routers per
//! OpenStack API, the console wiring and the runtime. A library so that tests can
//! build the same application the binary serves.

pub mod api;
pub mod cli;
pub mod config;
pub mod console;
pub mod logs;
pub mod runtime;
pub mod sessions;
pub mod state;

pub use state::AppState;

/// The whole application `ferrostack serve` mounts: every API, then the console.
pub fn app(state: AppState) -> axum::Router {
    let app = api::router(&state)
        .merge(console::router(&state))
        .with_state(state);
    api::with_request_ids(app)
}
