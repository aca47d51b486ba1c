//! /v3/regions, /v3/services, /v3/endpoints

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_identity::{
    EndpointFilter, EndpointUpdate, NewEndpoint, NewRegion, NewService, ServiceUpdate,
};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v3/regions", Token, region_list)
        .post("/v3/regions", Admin, region_create)
        .get("/v3/regions/{id}", Token, region_show)
        .put("/v3/regions/{id}", Admin, region_put)
        .patch("/v3/regions/{id}", Admin, region_update)
        .delete("/v3/regions/{id}", Admin, region_delete)
        .get("/v3/services", Token, service_list)
        .post("/v3/services", Admin, service_create)
        .get("/v3/services/{id}", Token, service_show)
        .patch("/v3/services/{id}", Admin, service_update)
        .delete("/v3/services/{id}", Admin, service_delete)
        .get("/v3/endpoints", Token, endpoint_list)
        .post("/v3/endpoints", Admin, endpoint_create)
        .get("/v3/endpoints/{id}", Token, endpoint_show)
        .patch("/v3/endpoints/{id}", Admin, endpoint_update)
        .delete("/v3/endpoints/{id}", Admin, endpoint_delete)
}

#[derive(Deserialize)]
struct RegionBody<T> {
    region: T,
}

#[derive(Deserialize)]
struct RegionIn {
    id: Option<String>,
    description: Option<String>,
    parent_region_id: Option<String>,
}

async fn region_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    f: Filters,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let parent = f.text("parent_region_id");
    let list = s
        .services
        .identity
        .region_list(&ctx, parent.as_deref())
        .await?;
    Ok(Json(
        json!({"regions": list.iter().map(|r| views::region(&l, r)).collect::<Vec<_>>(), "links": l.list("regions")}),
    ))
}

async fn region_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<RegionBody<RegionIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let r = b.region;
    let new = NewRegion {
        id: r.id,
        description: r.description.unwrap_or_default(),
        parent_region_id: r.parent_region_id,
    };
    let r = s.services.identity.region_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"region": views::region(&Links(&s.public_url), &r)})),
    ))
}

/// PUT /v3/regions/{id}: a region created with the id the client chose (201; 409 when
/// it exists). An id in the body must be the same.
async fn region_put(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RegionBody<RegionIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let r = b.region;
    if r.id.as_deref().is_some_and(|body| body != id) {
        return Err(ferrostack_core::Error::bad_request(format!(
            "The region id in the body ({}) is not the one in the URL ({id}).",
            r.id.unwrap_or_default()
        ))
        .into());
    }
    let new = NewRegion {
        id: Some(id),
        description: r.description.unwrap_or_default(),
        parent_region_id: r.parent_region_id,
    };
    let r = s.services.identity.region_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"region": views::region(&Links(&s.public_url), &r)})),
    ))
}

async fn region_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let r = s.services.identity.region_get(&ctx, &id).await?;
    Ok(Json(
        json!({"region": views::region(&Links(&s.public_url), &r)}),
    ))
}

async fn region_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RegionBody<RegionIn>>,
) -> KsResult<Json<Value>> {
    let r = s
        .services
        .identity
        .region_update(&ctx, &id, b.region.description)
        .await?;
    Ok(Json(
        json!({"region": views::region(&Links(&s.public_url), &r)}),
    ))
}

async fn region_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.region_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ServiceBody<T> {
    service: T,
}

#[derive(Deserialize)]
struct ServiceIn {
    #[serde(rename = "type")]
    service_type: Option<String>,
    name: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
}

async fn service_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    f: Filters,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s
        .services
        .identity
        .service_list(&ctx, f.text("type"), f.text("name"))
        .await?;
    Ok(Json(
        json!({"services": list.iter().map(|x| views::service(&l, x)).collect::<Vec<_>>(), "links": l.list("services")}),
    ))
}

async fn service_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<ServiceBody<ServiceIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let x = b.service;
    let new = NewService {
        service_type: x.service_type.unwrap_or_default(),
        name: x.name.unwrap_or_default(),
        description: x.description.unwrap_or_default(),
        enabled: x.enabled.unwrap_or(true),
    };
    let svc = s.services.identity.service_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"service": views::service(&Links(&s.public_url), &svc)})),
    ))
}

async fn service_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let svc = s.services.identity.service_get(&ctx, &id).await?;
    Ok(Json(
        json!({"service": views::service(&Links(&s.public_url), &svc)}),
    ))
}

async fn service_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ServiceBody<ServiceIn>>,
) -> KsResult<Json<Value>> {
    let x = b.service;
    let upd = ServiceUpdate {
        service_type: x.service_type,
        name: x.name,
        description: x.description,
        enabled: x.enabled,
    };
    let svc = s.services.identity.service_update(&ctx, &id, upd).await?;
    Ok(Json(
        json!({"service": views::service(&Links(&s.public_url), &svc)}),
    ))
}

async fn service_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.service_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct EndpointBody<T> {
    endpoint: T,
}

fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct EndpointIn {
    service_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    region_id: Option<Option<String>>,
    /// The older spelling of region_id, still sent by some clients.
    #[serde(default, deserialize_with = "nullable")]
    region: Option<Option<String>>,
    interface: Option<String>,
    url: Option<String>,
    enabled: Option<bool>,
}

async fn endpoint_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    f: Filters,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let filter = EndpointFilter {
        service_id: f.text("service_id"),
        region_id: f.text("region_id"),
        interface: f.text("interface"),
    };
    let list = s.services.identity.endpoint_list(&ctx, filter).await?;
    Ok(Json(
        json!({"endpoints": list.iter().map(|e| views::endpoint(&l, e)).collect::<Vec<_>>(), "links": l.list("endpoints")}),
    ))
}

async fn endpoint_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<EndpointBody<EndpointIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let e = b.endpoint;
    let new = NewEndpoint {
        service_id: e.service_id.unwrap_or_default(),
        region_id: e.region_id.or(e.region).flatten(),
        interface: e.interface.unwrap_or_default(),
        url: e.url.unwrap_or_default(),
        enabled: e.enabled.unwrap_or(true),
    };
    let ep = s.services.identity.endpoint_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"endpoint": views::endpoint(&Links(&s.public_url), &ep)})),
    ))
}

async fn endpoint_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let ep = s.services.identity.endpoint_get(&ctx, &id).await?;
    Ok(Json(
        json!({"endpoint": views::endpoint(&Links(&s.public_url), &ep)}),
    ))
}

async fn endpoint_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<EndpointBody<EndpointIn>>,
) -> KsResult<Json<Value>> {
    let e = b.endpoint;
    let upd = EndpointUpdate {
        region_id: e.region_id.or(e.region),
        interface: e.interface,
        url: e.url,
        enabled: e.enabled,
    };
    let ep = s.services.identity.endpoint_update(&ctx, &id, upd).await?;
    Ok(Json(
        json!({"endpoint": views::endpoint(&Links(&s.public_url), &ep)}),
    ))
}

async fn endpoint_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.endpoint_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
