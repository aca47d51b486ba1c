//! /v3/domains

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_identity::{DomainUpdate, NewDomain};
use serde::Deserialize;
use serde_json::{json, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v3/domains", Token, list)
        .post("/v3/domains", Admin, create)
        .get("/v3/domains/{id}", Token, show)
        .patch("/v3/domains/{id}", Admin, update)
        .delete("/v3/domains/{id}", Admin, delete)
}

#[derive(Deserialize)]
struct Body<T> {
    domain: T,
}

#[derive(Deserialize)]
struct CreateIn {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Deserialize)]
struct UpdateIn {
    name: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
}

async fn list(State(s): State<AppState>, Authed(ctx): Authed, f: Filters) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s
        .services
        .identity
        .domain_list(&ctx, f.text("name"), f.bool("enabled"))
        .await?;
    Ok(Json(
        json!({"domains": list.iter().map(|d| views::domain(&l, d)).collect::<Vec<_>>(), "links": l.list("domains")}),
    ))
}

async fn create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<Body<CreateIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let new = NewDomain {
        id: None,
        name: b.domain.name,
        description: b.domain.description.unwrap_or_default(),
        enabled: b.domain.enabled.unwrap_or(true),
    };
    let d = s.services.identity.domain_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"domain": views::domain(&Links(&s.public_url), &d)})),
    ))
}

async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let d = s.services.identity.domain_get(&ctx, &id).await?;
    Ok(Json(
        json!({"domain": views::domain(&Links(&s.public_url), &d)}),
    ))
}

async fn update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Body<UpdateIn>>,
) -> KsResult<Json<Value>> {
    let upd = DomainUpdate {
        name: b.domain.name,
        description: b.domain.description,
        enabled: b.domain.enabled,
    };
    let d = s.services.identity.domain_update(&ctx, &id, upd).await?;
    Ok(Json(
        json!({"domain": views::domain(&Links(&s.public_url), &d)}),
    ))
}

async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.domain_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
