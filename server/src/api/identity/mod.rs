//! Keystone v3 at /identity. One module per resource; this one holds the router and
//! version discovery.
//! API reference: https://docs.openstack.org/api-ref/identity/v3/

mod app_creds;
mod assignments;
mod auth;
mod catalog;
mod credentials;
mod domains;
mod ep_filter;
mod groups;
mod policies;
mod projects;
mod roles;
mod trusts;
mod users;
pub mod views;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

/// The version document at the base URL with its trailing slash (`/identity/`), which
/// a nested router cannot register.
pub fn root_routes() -> Routes {
    Routes::new().get("/identity/", Public, versions)
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/", Public, versions)
        .get("/v3", Public, version)
        .get("/v3/", Public, version)
        .merge(auth::routes())
        .merge(domains::routes())
        .merge(projects::routes())
        .merge(users::routes())
        .merge(groups::routes())
        .merge(roles::routes())
        .merge(assignments::routes())
        .merge(catalog::routes())
        .merge(app_creds::routes())
        .merge(trusts::routes())
        .merge(credentials::routes())
        .merge(ep_filter::routes())
        .merge(policies::routes())
}

fn v3(public_url: &str) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{public_url}/identity/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

/// GET /identity: the versions this endpoint offers (300 Multiple Choices, as Keystone).
async fn versions(State(s): State<AppState>) -> Response {
    (
        StatusCode::MULTIPLE_CHOICES,
        Json(json!({"versions": {"values": [v3(&s.public_url)]}})),
    )
        .into_response()
}

/// GET /identity/v3
async fn version(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"version": v3(&s.public_url)}))
}
