//! Neutron v2.0 at `/network` (clients append `/v2.0`): version discovery, the
//! extensions list, networks, subnets, ports, security groups and rules, quotas and
//! tags. Each handler reads Neutron's body (`{"network": {...}}`, unknown attributes
//! refused), calls one network-service function and renders Neutron's JSON, with
//! `fields=` and `<resources>_links` paging. Errors carry Neutron's body:
//! `{"NeutronError": {"type": ..., "message": ..., "detail": ""}}`.

mod networks;
mod ports;
mod quotas;
mod routers;
mod security;

/// What the handler modules share.
mod prelude {
    #![allow(unused_imports)]
    pub(crate) use axum::extract::{MatchedPath, Path, RawQuery, State};
    pub(crate) use axum::http::StatusCode;
    pub(crate) use axum::response::{IntoResponse, Response};
    pub(crate) use axum::Json;
    pub(crate) use ferrostack_core::{Ctx, Error};
    pub(crate) use ferrostack_network::ListQuery;
    pub(crate) use serde_json::{json, Map, Value};

    pub(crate) use super::{
        created, list_reply, neutron_time, one_reply, Body, ListParams, NeutronResult,
    };
    pub(crate) use crate::api::extract::{Authed, Filters};
    pub(crate) use crate::state::AppState;
}

use prelude::*;

use crate::api::table::{Access::*, Routes};

/// The version document at the base URL with its trailing slash (`/network/`), which
/// a nested router cannot register.
pub fn root_routes() -> Routes {
    Routes::new().get("/network/", Public, versions)
}

pub fn routes() -> Routes {
    let mut r = Routes::new()
        .get("/", Public, versions)
        .get("/v2.0", Token, resources)
        .get("/v2.0/extensions", Token, extensions)
        .get("/v2.0/extensions/{alias}", Token, extension);
    r = networks::routes(r);
    r = ports::routes(r);
    r = security::routes(r);
    r = routers::routes(r);
    quotas::routes(r)
}

async fn versions(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"versions": [{
        "id": "v2.0", "status": "CURRENT",
        "links": [{"rel": "self", "href": format!("{}/network/v2.0/", s.public_url)}],
    }]}))
}

async fn resources(State(s): State<AppState>, Authed(_): Authed) -> Json<Value> {
    let list: Vec<Value> = [
        ("network", "networks"),
        ("subnet", "subnets"),
        ("port", "ports"),
        ("security_group", "security-groups"),
        ("security_group_rule", "security-group-rules"),
        ("router", "routers"),
        ("floatingip", "floatingips"),
        ("quota", "quotas"),
    ]
    .iter()
    .map(|(name, collection)| {
        json!({"name": name, "collection": collection, "links": [
            {"rel": "self", "href": format!("{}/network/v2.0/{collection}", s.public_url)}]})
    })
    .collect();
    Json(json!({"resources": list}))
}

/// The API extensions this service implements (clients probe some by alias).
const EXTENSIONS: &[(&str, &str, &str)] = &[
    ("security-group", "security-group", "The security groups extension."),
    ("quotas", "Quota management support", "Expose functions for quotas management per project"),
    ("quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"),
    ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
    ("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
    ("port-security", "Port Security", "Provides port security"),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("standard-attr-tag", "Tag support for resources with standard attribute", "Enables to set tag on resources with standard attribute."),
    ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."),
    ("standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of neutron resources."),
    ("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"),
    ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
    ("filter-validation", "Filter parameters validation", "Provides validation on filter parameters."),
    ("fields", "Fields", "Chooses the attributes a response shows."),
    ("sorting", "Sorting", "Sorting of list results."),
    ("pagination", "Pagination", "Marker paging of list results."),
];

fn extension_view(alias: &str, name: &str, description: &str) -> Value {
    json!({"alias": alias, "name": name, "description": description, "updated": "2026-12-01T00:00:00-00:00", "links": []})
}

async fn extensions(Authed(_): Authed) -> Json<Value> {
    Json(
        json!({"extensions": EXTENSIONS.iter().map(|(a, n, d)| extension_view(a, n, d)).collect::<Vec<_>>()}),
    )
}

async fn extension(Authed(_): Authed, Path(alias): Path<String>) -> NeutronResult<Json<Value>> {
    let (a, n, d) = EXTENSIONS
        .iter()
        .find(|(a, _, _)| *a == alias)
        .ok_or_else(|| Error::not_found("extension", &alias))?;
    Ok(Json(json!({"extension": extension_view(a, n, d)})))
}

/// A service error in Neutron's shape.
#[derive(Debug)]
pub struct NeutronError(pub Error);

impl From<Error> for NeutronError {
    fn from(e: Error) -> Self {
        NeutronError(e)
    }
}

impl From<crate::api::error::KeystoneError> for NeutronError {
    fn from(e: crate::api::error::KeystoneError) -> Self {
        NeutronError(e.0)
    }
}

fn camel(kind: &str) -> String {
    kind.split([' ', '_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

impl IntoResponse for NeutronError {
    fn into_response(self) -> Response {
        if let Error::Unauthenticated(_) = &self.0 {
            // keystonemiddleware answers 401 in Neutron's place, in Keystone's shape.
            return crate::api::error::KeystoneError(self.0).into_response();
        }
        if let Error::Internal(detail) = &self.0 {
            tracing::error!(detail = %detail, "internal error");
        }
        let (status, kind, message) = match &self.0 {
            Error::Coded {
                status,
                code,
                message,
            } => (*status, code.to_string(), message.clone()),
            Error::NotFound { kind, .. } => {
                (404, format!("{}NotFound", camel(kind)), self.0.to_string())
            }
            // Neutron answers an exceeded quota with 409 OverQuota.
            Error::QuotaExceeded { resource, .. } => (
                409,
                "OverQuota".into(),
                format!("Quota exceeded for resources: ['{resource}']. {}", self.0),
            ),
            e => {
                let status = e.status();
                let kind = match status {
                    400 => "HTTPBadRequest",
                    403 => "HTTPForbidden",
                    409 => "HTTPConflict",
                    413 => "HTTPRequestEntityTooLarge",
                    429 => "HTTPTooManyRequests",
                    503 => "HTTPServiceUnavailable",
                    _ => "HTTPInternalServerError",
                };
                (status, kind.to_string(), e.to_string())
            }
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (
            status,
            Json(json!({"NeutronError": {"type": kind, "message": message, "detail": ""}})),
        )
            .into_response();
        crate::api::error::with_retry_after(&mut resp, &self.0);
        resp
    }
}

pub type NeutronResult<T> = Result<T, NeutronError>;

/// Neutron's timestamps: whole seconds, `Z`.
pub fn neutron_time(t: &str) -> String {
    t.get(..19)
        .map(|s| format!("{s}Z"))
        .unwrap_or_else(|| t.to_string())
}

/// A request body's resource object, read attribute by attribute; what is left over
/// at the end is refused, as Neutron refuses unknown attributes.
pub struct Body {
    m: Map<String, Value>,
    kind: &'static str,
}

fn wrong(field: &str, v: &Value, what: &str) -> Error {
    Error::bad_request(format!(
        "Invalid input for {field}. Reason: '{v}' is not {what}."
    ))
}

impl Body {
    /// `{"<kind>": {...}}` from the raw body.
    pub fn parse(bytes: &[u8], kind: &'static str) -> NeutronResult<Body> {
        let mut outer: Map<String, Value> = crate::api::extract::parse_json(bytes)?;
        let plural = format!("{kind}s");
        match outer.remove(kind) {
            Some(Value::Object(m)) if outer.is_empty() => Ok(Body { m, kind }),
            Some(Value::Object(_)) => Err(Error::bad_request(format!(
                "Unrecognized attribute(s) '{}' beside '{kind}'.",
                outer.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
            .into()),
            Some(other) => Err(wrong(kind, &other, "a dict").into()),
            None if outer.contains_key(&plural) => Err(Error::bad_request(format!(
                "Bulk creation of {plural} is not supported: create one {kind} per request."
            ))
            .into()),
            None => Err(Error::bad_request(format!(
                "Resource body required: send {{\"{kind}\": {{...}}}}."
            ))
            .into()),
        }
    }

    pub fn take(&mut self, k: &str) -> Option<Value> {
        self.m.remove(k)
    }

    pub fn string(&mut self, k: &str) -> Result<Option<String>, Error> {
        match self.m.remove(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(wrong(k, &v, "a valid string")),
        }
    }

    /// A string that may be null (`gateway_ip: null`): outer None = absent.
    pub fn nullable(&mut self, k: &str) -> Result<Option<Option<String>>, Error> {
        match self.m.remove(k) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s))),
            Some(v) => Err(wrong(k, &v, "a valid string")),
        }
    }

    pub fn boolean(&mut self, k: &str) -> Result<Option<bool>, Error> {
        match self.m.remove(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::String(s)) if matches!(s.as_str(), "true" | "True" | "1") => Ok(Some(true)),
            Some(Value::String(s)) if matches!(s.as_str(), "false" | "False" | "0") => {
                Ok(Some(false))
            }
            Some(v) => Err(Error::bad_request(format!(
                "Invalid input for {k}. Reason: '{v}' cannot be converted to boolean."
            ))),
        }
    }

    pub fn int(&mut self, k: &str) -> Result<Option<i64>, Error> {
        match self.m.remove(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Value::String(s)) if s.parse::<i64>().is_ok() => Ok(s.parse().ok()),
            Some(v) => Err(wrong(k, &v, "an integer")),
        }
    }

    pub fn strings(&mut self, k: &str) -> Result<Option<Vec<String>>, Error> {
        match self.m.remove(k) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    v => Err(wrong(k, &v, "a list of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(wrong(k, &v, "a list")),
        }
    }

    /// A list of objects deserialised into `T` (pools, routes, address pairs).
    pub fn objects<T: serde::de::DeserializeOwned>(
        &mut self,
        k: &str,
    ) -> Result<Option<Vec<T>>, Error> {
        match self.m.remove(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Array(_)) => serde_json::from_value(v.clone()).map(Some).map_err(|e| {
                Error::bad_request(format!("Invalid input for {k}. Reason: {e} in {v}."))
            }),
            Some(v) => Err(wrong(k, &v, "a list")),
        }
    }

    /// `project_id` (or the older `tenant_id`); they must agree when both are given.
    pub fn project(&mut self) -> Result<Option<String>, Error> {
        let p = self.string("project_id")?;
        let t = self.string("tenant_id")?;
        match (p, t) {
            (Some(p), Some(t)) if p != t => Err(Error::bad_request(
                "Invalid input: project_id and tenant_id differ.",
            )),
            (p, t) => Ok(p.or(t)),
        }
    }

    /// Attributes clients send that this service accepts and does not keep.
    pub fn ignore(&mut self, keys: &[&str]) {
        for k in keys {
            self.m.remove(*k);
        }
    }

    /// Refuse what no reader took.
    pub fn finish(self) -> Result<(), Error> {
        if self.m.is_empty() {
            return Ok(());
        }
        Err(Error::bad_request(format!(
            "Unrecognized attribute(s) '{}' for {}.",
            self.m.keys().cloned().collect::<Vec<_>>().join(", "),
            self.kind
        )))
    }
}

/// A listing's query: filters for the service, paging, `fields=`.
pub struct ListParams {
    pub query: ListQuery,
    pub fields: Vec<String>,
    pairs: Vec<(String, String)>,
}

impl ListParams {
    pub fn read(raw: Option<&str>) -> NeutronResult<ListParams> {
        let pairs = Filters::pairs(raw);
        let mut q = ListQuery::default();
        let mut fields = Vec::new();
        let (mut keys, mut dirs) = (Vec::new(), Vec::new());
        for (k, v) in &pairs {
            match k.as_str() {
                "fields" => {
                    fields.extend(v.split(',').filter(|f| !f.is_empty()).map(str::to_string))
                }
                "limit" => {
                    let n: usize = v.parse().map_err(|_| {
                        Error::bad_request(format!(
                            "Invalid input for limit. Reason: '{v}' is not an integer."
                        ))
                    })?;
                    q.limit = (n > 0).then_some(n);
                }
                "marker" => q.marker = Some(v.clone()),
                "sort_key" => keys.push(v.clone()),
                "sort_dir" => dirs.push(v.clone()),
                "page_reverse" => {}
                _ => q.filters.push((k.clone(), v.clone())),
            }
        }
        if dirs.len() > keys.len() {
            return Err(
                Error::bad_request("The number of sort_keys and sort_dirs must be same.").into(),
            );
        }
        for (i, k) in keys.into_iter().enumerate() {
            q.sort
                .push((k, dirs.get(i).cloned().unwrap_or_else(|| "asc".into())));
        }
        Ok(ListParams {
            query: q,
            fields,
            pairs,
        })
    }

    /// `fields=` from a show's query.
    pub fn fields_of(raw: Option<&str>) -> Vec<String> {
        Filters::pairs(raw)
            .into_iter()
            .filter(|(k, _)| k == "fields")
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter(|f| !f.is_empty())
            .collect()
    }
}

fn only_fields(v: Value, fields: &[String]) -> Value {
    match v {
        Value::Object(m) if !fields.is_empty() => {
            Value::Object(m.into_iter().filter(|(k, _)| fields.contains(k)).collect())
        }
        v => v,
    }
}

/// `{"<key>": view}` with `fields=` applied.
pub fn one_reply(key: &str, view: Value, fields: &[String]) -> Json<Value> {
    Json(json!({ key: only_fields(view, fields) }))
}

/// `{"<key>": [...], "<key>_links": [next]}`: a page, with a link to the next one.
pub fn list_reply(
    s: &AppState,
    collection: &str,
    key: &str,
    views: Vec<(String, Value)>,
    more: bool,
    p: &ListParams,
) -> Json<Value> {
    let last = views.last().map(|(id, _)| id.clone());
    let items: Vec<Value> = views
        .into_iter()
        .map(|(_, v)| only_fields(v, &p.fields))
        .collect();
    let mut body = json!({ key: items });
    if let (true, Some(last)) = (more, last) {
        let mut q: Vec<String> = p
            .pairs
            .iter()
            .filter(|(k, _)| k != "marker")
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    ferrostack_types::url::encode(k),
                    ferrostack_types::url::encode(v)
                )
            })
            .collect();
        if p.query.limit.is_none() {
            q.push(format!("limit={}", ferrostack_core::list::MAX_LIMIT));
        }
        q.push(format!("marker={}", ferrostack_types::url::encode(&last)));
        let href = format!("{}/network/v2.0/{collection}?{}", s.public_url, q.join("&"));
        body[format!("{key}_links")] = json!([{"rel": "next", "href": href}]);
    }
    Json(body)
}

/// 201 with the created resource.
pub fn created(key: &str, view: Value) -> Response {
    (StatusCode::CREATED, Json(json!({ key: view }))).into_response()
}
