//! Every service handle, opened once (server/src/runtime.rs) and given once to the REST
//! routers (in `AppState`) and once to the console (one context): adding a service is
//! one crate, one field here, one line where they are opened, one router merge.

use std::sync::Arc;

use leptos::prelude::use_context;

use crate::error::ConsoleError;

#[derive(Clone)]
pub struct Services {
    /// Database, events and jobs of this process.
    pub platform: ferrostack_core::Platform,
    pub identity: Arc<ferrostack_identity::Identity>,
    pub images: Arc<ferrostack_image::Images>,
    pub compute: Arc<ferrostack_compute::Compute>,
    pub network: Arc<ferrostack_network::Networking>,
}

/// The services, in a server function.
pub fn services() -> Result<Services, ConsoleError> {
    use_context::<Services>()
        .ok_or_else(|| ConsoleError::unavailable("The console's services are not available."))
}
