//! The OpenStack REST APIs, one router per API, merged here. Handlers translate: they
//! parse input, build the caller context, call one service function, render JSON.

pub mod compute;
pub mod error;
pub mod extract;
pub mod identity;
pub mod image;
pub mod network;
pub mod paging;
pub mod table;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tracing::Instrument;

pub use ferrostack_core::ctx::RequestId;

pub const REQUEST_ID_HEADER: &str = "x-openstack-request-id";

/// Every REST route with its entry in the endpoint table.
pub fn routes() -> table::Routes {
    table::Routes::new()
        .nest("/identity", identity::routes())
        .nest("/image", image::routes())
        .nest("/compute", compute::routes())
        .nest("/network", network::routes())
        .merge(compute::root_routes())
        .merge(identity::root_routes())
        .merge(image::root_routes())
        .merge(network::root_routes())
}

/// Give every request an id: in the logs (one span per request) and in the
/// `x-openstack-request-id` response header, as OpenStack services do.
pub fn with_request_ids(app: Router) -> Router {
    app.layer(middleware::from_fn(request_id_layer))
}

async fn request_id_layer(mut req: Request, next: Next) -> Response {
    let id = ferrostack_core::ids::new_request_id();
    req.extensions_mut().insert(RequestId(id.clone()));
    let span =
        tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
    let started = std::time::Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, ms, "request failed");
        } else {
            tracing::debug!(status, ms, "request");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    resp
}
