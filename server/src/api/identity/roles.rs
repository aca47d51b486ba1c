//! /v3/roles

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_identity::{NewRole, RoleUpdate};
use serde::Deserialize;
use serde_json::{json, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v3/roles", Token, list)
        .post("/v3/roles", Admin, create)
        .get("/v3/roles/{id}", Token, show)
        .patch("/v3/roles/{id}", Admin, update)
        .delete("/v3/roles/{id}", Admin, delete)
}

#[derive(Deserialize)]
struct Body<T> {
    role: T,
}

#[derive(Deserialize)]
struct CreateIn {
    name: String,
    description: Option<String>,
}

#[derive(Deserialize)]
struct UpdateIn {
    name: Option<String>,
    description: Option<String>,
}

async fn list(State(s): State<AppState>, Authed(ctx): Authed, f: Filters) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s.services.identity.role_list(&ctx, f.text("name")).await?;
    Ok(Json(
        json!({"roles": list.iter().map(|r| views::role(&l, r)).collect::<Vec<_>>(), "links": l.list("roles")}),
    ))
}

async fn create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<Body<CreateIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let new = NewRole {
        name: b.role.name,
        description: b.role.description.unwrap_or_default(),
    };
    let r = s.services.identity.role_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"role": views::role(&Links(&s.public_url), &r)})),
    ))
}

async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let r = s.services.identity.role_get(&ctx, &id).await?;
    Ok(Json(
        json!({"role": views::role(&Links(&s.public_url), &r)}),
    ))
}

async fn update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Body<UpdateIn>>,
) -> KsResult<Json<Value>> {
    let upd = RoleUpdate {
        name: b.role.name,
        description: b.role.description,
    };
    let r = s.services.identity.role_update(&ctx, &id, upd).await?;
    Ok(Json(
        json!({"role": views::role(&Links(&s.public_url), &r)}),
    ))
}

async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.role_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
