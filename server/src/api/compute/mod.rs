//! Nova v2.1 at `/compute`: version discovery and microversions, servers (create,
//! list with filters and marker paging, show, update, delete, actions, console output,
//! metadata, tags, instance actions), flavors (access lists, extra specs), key pairs,
//! limits, availability zones, hypervisors, services and quota sets. Each handler calls
//! one compute-service function and renders Nova's JSON for the asked microversion.

mod consoles;
mod extras;
mod fields;
mod flavors;
mod misc;
mod moves;
mod servers;
mod views;

/// What the handler modules share.
mod prelude {
    #![allow(unused_imports)]
    pub(crate) use std::collections::BTreeMap;

    pub(crate) use axum::extract::{Extension, Path, RawQuery, State};
    pub(crate) use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
    pub(crate) use axum::response::{IntoResponse, Response};
    pub(crate) use axum::Json;
    pub(crate) use ferrostack_core::{Ctx, Error};
    pub(crate) use serde_json::{json, Map, Value};

    pub(crate) use super::{
        consoles::*, extras::*, flavors::*, misc::*, moves::*, servers::*, Mv, NResult, NovaError,
    };
    pub(crate) use crate::api::extract::{parse_json, Authed, Filters};
    pub(crate) use crate::state::AppState;
}

use axum::extract::Request;
use axum::middleware::{self, Next};
use prelude::*;

use crate::api::table::{Access::*, Routes};

/// The microversions this API speaks (the pinned CLI and openstacksdk negotiate up to
/// 2.100 for servers).
pub const MIN_VERSION: (u32, u32) = (2, 1);
pub const MAX_VERSION: (u32, u32) = (2, 100);

/// The microversion of this request (the minor number of 2.x).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mv(pub u32);

impl Mv {
    pub fn at_least(self, minor: u32) -> bool {
        self.0 >= minor
    }
}

/// Read the asked microversion (`OpenStack-API-Version: compute 2.N` or
/// `X-OpenStack-Nova-API-Version: 2.N`, `latest` for the newest), refuse one outside
/// the range with 406, and say which one answered.
async fn microversions(mut req: Request, next: Next) -> Response {
    let h = req.headers();
    let asked = h
        .get("openstack-api-version")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .map(str::trim)
                .find_map(|p| p.strip_prefix("compute ").map(|s| s.trim().to_string()))
        })
        .or_else(|| {
            h.get("x-openstack-nova-api-version")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim().to_string())
        });
    let mv = match asked.as_deref() {
        None => MIN_VERSION.1,
        Some("latest") => MAX_VERSION.1,
        Some(v) => {
            let parsed = v
                .split_once('.')
                .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
            match parsed {
                Some((2, minor)) if (MIN_VERSION.1..=MAX_VERSION.1).contains(&minor) => minor,
                Some(_) => {
                    let msg = format!(
                        "Version {v} is not supported by the API. Minimum is 2.{} and maximum is 2.{}.",
                        MIN_VERSION.1, MAX_VERSION.1
                    );
                    return (
                        StatusCode::NOT_ACCEPTABLE,
                        Json(json!({"computeFault": {"code": 406, "message": msg}})),
                    )
                        .into_response();
                }
                None => {
                    let msg = format!("API Version String {v} is of invalid format. Must be of format MajorNum.MinorNum.");
                    return NovaError(Error::bad_request(msg)).into_response();
                }
            }
        }
    };
    req.extensions_mut().insert(Mv(mv));
    let mut resp = next.run(req).await;
    let hs = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("compute 2.{mv}")) {
        hs.insert("openstack-api-version", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("2.{mv}")) {
        hs.insert("x-openstack-nova-api-version", v);
    }
    hs.insert(
        header::VARY,
        HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
    );
    resp
}

/// A service error in Nova's shape: `{"itemNotFound": {"code": 404, "message": "..."}}`.
#[derive(Debug)]
pub struct NovaError(pub Error);

impl From<Error> for NovaError {
    fn from(e: Error) -> Self {
        NovaError(e)
    }
}

impl From<crate::api::error::KeystoneError> for NovaError {
    fn from(e: crate::api::error::KeystoneError) -> Self {
        NovaError(e.0)
    }
}

impl IntoResponse for NovaError {
    fn into_response(self) -> Response {
        if let Error::Unauthenticated(_) = &self.0 {
            // keystonemiddleware answers 401 in Nova's place, in Keystone's shape.
            return crate::api::error::KeystoneError(self.0).into_response();
        }
        if let Error::Internal(detail) = &self.0 {
            tracing::error!(detail = %detail, "internal error");
        }
        let (status, message) = match &self.0 {
            Error::QuotaExceeded { resource, used, limit, asked } => (
                StatusCode::FORBIDDEN,
                format!(
                    "Quota exceeded for {resource}: Requested {}, but already used {used} of {limit} {resource}.",
                    (*asked).max(1)
                ),
            ),
            e => (
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                e.to_string(),
            ),
        };
        let key = match status.as_u16() {
            400 => "badRequest",
            403 => "forbidden",
            404 => "itemNotFound",
            409 => "conflictingRequest",
            413 | 429 => "overLimit",
            503 => "serviceUnavailable",
            _ => "computeFault",
        };
        let mut resp = (
            status,
            Json(json!({ key: {"code": status.as_u16(), "message": message} })),
        )
            .into_response();
        crate::api::error::with_retry_after(&mut resp, &self.0);
        resp
    }
}

pub type NResult<T> = Result<T, NovaError>;

/// The request body as a JSON object, or Nova's 400.
pub(crate) fn body_object(bytes: &[u8]) -> NResult<Map<String, Value>> {
    Ok(parse_json::<Map<String, Value>>(bytes)?)
}

/// `{"<key>": {...}}`: the inner object, or a 400 naming what is missing.
pub(crate) fn inner(mut m: Map<String, Value>, key: &str) -> NResult<Map<String, Value>> {
    match m.remove(key) {
        Some(Value::Object(o)) => Ok(o),
        Some(other) => Err(Error::bad_request(format!(
            "Invalid input for field '{key}': {other} is not an object."
        ))
        .into()),
        None => Err(Error::bad_request(format!("Missing '{key}' in the request body.")).into()),
    }
}

/// A list's `next` link: the same query with the marker moved to `last`.
pub(crate) fn next_link(s: &AppState, path: &str, query: Option<&str>, last: &str) -> Value {
    let mut params: Vec<String> = Filters::pairs(query)
        .into_iter()
        .filter(|(k, _)| k != "marker")
        .map(|(k, v)| {
            format!(
                "{}={}",
                ferrostack_types::url::encode(&k),
                ferrostack_types::url::encode(&v)
            )
        })
        .collect();
    params.push(format!("marker={}", ferrostack_types::url::encode(last)));
    json!([{"rel": "next", "href": format!("{}/v2.1/{path}?{}", base(s), params.join("&"))}])
}

pub(crate) fn base(s: &AppState) -> String {
    format!("{}/compute", s.public_url)
}

fn version_doc(s: &AppState) -> Value {
    json!({
        "id": "v2.1", "status": "CURRENT",
        "version": format!("2.{}", MAX_VERSION.1), "min_version": format!("2.{}", MIN_VERSION.1),
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{}/v2.1/", base(s))},
                  {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    })
}

async fn versions(State(s): State<AppState>) -> Response {
    (StatusCode::OK, Json(json!({"versions": [version_doc(&s)]}))).into_response()
}

async fn version(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"version": version_doc(&s)}))
}

/// Nova's 404 for a path it does not serve (not the console's page).
async fn not_found() -> NovaError {
    NovaError(Error::NotFound {
        kind: "resource",
        id: "the requested URL".into(),
    })
}

/// The version document at the base URL with its trailing slash (`/compute/`), which
/// a nested router cannot register.
pub fn root_routes() -> Routes {
    Routes::new().get("/compute/", Public, versions)
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/", Public, versions)
        .get("/v2.1", Public, version)
        .get("/v2.1/", Public, version)
        // consoles: authorised by the token in their URL (consoles.rs)
        .get("/console/serial", Public, serial_ws)
        .get("/console/terminal", Public, terminal_page)
        .get("/console/novnc", Public, novnc_page)
        .get("/console/novnc/ws", Public, vnc_ws)
        .get("/console/log", Public, log_ws)
        .get("/console/logview", Public, log_page)
        // servers
        .get("/v2.1/servers", Token, server_list)
        .post("/v2.1/servers", Create, server_create)
        .get("/v2.1/servers/detail", Token, server_list_detail)
        .get("/v2.1/servers/{id}", ProjectRead, server_show)
        .put("/v2.1/servers/{id}", ProjectWrite, server_update)
        .delete("/v2.1/servers/{id}", ProjectWrite, server_delete)
        .post("/v2.1/servers/{id}/action", ProjectWrite, server_action)
        .get("/v2.1/servers/{id}/metadata", ProjectRead, metadata_show)
        .put(
            "/v2.1/servers/{id}/metadata",
            ProjectWrite,
            metadata_replace,
        )
        .post("/v2.1/servers/{id}/metadata", ProjectWrite, metadata_merge)
        .get(
            "/v2.1/servers/{id}/metadata/{key}",
            ProjectRead,
            metadata_item_show,
        )
        .put(
            "/v2.1/servers/{id}/metadata/{key}",
            ProjectWrite,
            metadata_item_set,
        )
        .delete(
            "/v2.1/servers/{id}/metadata/{key}",
            ProjectWrite,
            metadata_item_delete,
        )
        .get("/v2.1/servers/{id}/tags", ProjectRead, tags_show)
        .put("/v2.1/servers/{id}/tags", ProjectWrite, tags_replace)
        .delete("/v2.1/servers/{id}/tags", ProjectWrite, tags_clear)
        .get("/v2.1/servers/{id}/tags/{tag}", ProjectRead, tag_check)
        .put("/v2.1/servers/{id}/tags/{tag}", ProjectWrite, tag_add)
        .delete("/v2.1/servers/{id}/tags/{tag}", ProjectWrite, tag_delete)
        .get(
            "/v2.1/servers/{id}/os-instance-actions",
            ProjectRead,
            actions_list,
        )
        .get(
            "/v2.1/servers/{id}/os-instance-actions/{request_id}",
            ProjectRead,
            action_show,
        )
        .get(
            "/v2.1/servers/{id}/migrations",
            ProjectRead,
            server_migrations,
        )
        .get(
            "/v2.1/servers/{id}/migrations/{migration}",
            ProjectRead,
            server_migration_show,
        )
        .post(
            "/v2.1/servers/{id}/remote-consoles",
            ProjectWrite,
            remote_console,
        )
        .get("/v2.1/servers/{id}/ips", ProjectRead, server_ips)
        .get(
            "/v2.1/servers/{id}/os-interface",
            ProjectRead,
            server_interfaces,
        )
        .post(
            "/v2.1/servers/{id}/os-interface",
            ProjectWrite,
            server_interface_attach,
        )
        .get(
            "/v2.1/servers/{id}/os-interface/{port_id}",
            ProjectRead,
            server_interface_show,
        )
        .delete(
            "/v2.1/servers/{id}/os-interface/{port_id}",
            ProjectWrite,
            server_interface_detach,
        )
        .get(
            "/v2.1/servers/{id}/os-volume_attachments",
            ProjectRead,
            server_volumes,
        )
        // flavors
        .get("/v2.1/flavors", Token, flavor_list)
        .post("/v2.1/flavors", Admin, flavor_create)
        .get("/v2.1/flavors/detail", Token, flavor_list_detail)
        .get("/v2.1/flavors/{id}", Token, flavor_show)
        .put("/v2.1/flavors/{id}", Admin, flavor_update)
        .delete("/v2.1/flavors/{id}", Admin, flavor_delete)
        .post("/v2.1/flavors/{id}/action", Admin, flavor_action)
        .get("/v2.1/flavors/{id}/os-flavor-access", Admin, flavor_access)
        .get("/v2.1/flavors/{id}/os-extra_specs", Token, specs_show)
        .post("/v2.1/flavors/{id}/os-extra_specs", Admin, specs_set)
        .get("/v2.1/flavors/{id}/os-extra_specs/{key}", Token, spec_show)
        .put("/v2.1/flavors/{id}/os-extra_specs/{key}", Admin, spec_set)
        .delete(
            "/v2.1/flavors/{id}/os-extra_specs/{key}",
            Admin,
            spec_delete,
        )
        // key pairs, limits, zones, hypervisors, services, quotas
        .get("/v2.1/os-keypairs", Token, keypair_list)
        .post("/v2.1/os-keypairs", Token, keypair_create)
        .get("/v2.1/os-keypairs/{name}", UserSelf, keypair_show)
        .delete("/v2.1/os-keypairs/{name}", UserSelf, keypair_delete)
        .get("/v2.1/limits", Token, limits)
        .get("/v2.1/os-availability-zone", Token, zones)
        .get("/v2.1/os-availability-zone/detail", Admin, zones_detail)
        .get("/v2.1/os-hypervisors", Admin, hypervisor_list)
        .get("/v2.1/os-hypervisors/detail", Admin, hypervisor_list_detail)
        .get("/v2.1/os-hypervisors/statistics", Admin, hypervisor_stats)
        .get("/v2.1/os-hypervisors/{id}", Admin, hypervisor_show)
        .get("/v2.1/os-hypervisors/{id}/uptime", Admin, hypervisor_uptime)
        .get("/v2.1/os-aggregates", Admin, aggregate_list)
        .get("/v2.1/os-services", Admin, service_list)
        .put("/v2.1/os-services/force-down", Admin, service_force_down)
        .put("/v2.1/os-services/{id}", Admin, service_update)
        .get("/v2.1/os-migrations", Admin, migration_list)
        .get("/v2.1/os-server-groups", Token, group_list)
        .post("/v2.1/os-server-groups", Create, group_create)
        .get("/v2.1/os-server-groups/{id}", ProjectRead, group_show)
        .delete("/v2.1/os-server-groups/{id}", ProjectWrite, group_delete)
        .get("/v2.1/os-quota-sets/{project}", ProjectRead, quota_show)
        .put("/v2.1/os-quota-sets/{project}", Admin, quota_update)
        .delete("/v2.1/os-quota-sets/{project}", Admin, quota_delete)
        .get(
            "/v2.1/os-quota-sets/{project}/defaults",
            Token,
            quota_defaults,
        )
        .get(
            "/v2.1/os-quota-sets/{project}/detail",
            ProjectRead,
            quota_detail,
        )
        .wrap(|r| {
            r.fallback(not_found)
                .layer(middleware::from_fn(microversions))
        })
}
