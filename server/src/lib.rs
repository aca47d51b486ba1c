//! The `ferrostack` binary's library half: CLI, configuration, the REST routers per
//! OpenStack API, the console wiring and the runtime. A library so that tests can
//! build the same application the binary serves.

pub mod api;
pub mod cli;
pub mod config;
pub mod console;
pub mod http;
pub mod logs;
pub mod runtime;
pub mod sessions;
pub mod state;

pub use state::AppState;

/// The whole application `ferrostack serve` mounts: every API, then the console.
pub fn app(state: AppState) -> axum::Router {
    app_and_table(state).0
}

/// The application and its endpoint table: every REST route, console route and
/// server function, with who may call it (the every-endpoint test walks it).
pub fn app_and_table(state: AppState) -> (axum::Router, Vec<api::table::Endpoint>) {
    let allowed = http::AllowedHosts::new(&state.public_url);
    let (router, table) = api::routes().merge(console::routes(&state)).into_parts();
    let app = router
        .with_state(state)
        .layer(axum::middleware::from_fn(http::body_limit))
        .layer(axum::middleware::from_fn_with_state(
            allowed,
            http::host_check,
        ));
    (api::with_request_ids(app), table)
}
