//! /v3/groups and membership

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_identity::{GroupUpdate, NewGroup};
use serde::Deserialize;
use serde_json::{json, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v3/groups", Admin, list)
        .post("/v3/groups", Admin, create)
        .get("/v3/groups/{id}", Admin, show)
        .patch("/v3/groups/{id}", Admin, update)
        .delete("/v3/groups/{id}", Admin, delete)
        .get("/v3/groups/{id}/users", Admin, members)
        .put("/v3/groups/{id}/users/{user_id}", Admin, add_member)
        .head("/v3/groups/{id}/users/{user_id}", UserSelf, check_member)
        .delete("/v3/groups/{id}/users/{user_id}", Admin, remove_member)
}

#[derive(Deserialize)]
struct Body<T> {
    group: T,
}

#[derive(Deserialize)]
struct CreateIn {
    name: String,
    domain_id: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct UpdateIn {
    name: Option<String>,
    description: Option<String>,
}

async fn list(State(s): State<AppState>, Authed(ctx): Authed, f: Filters) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s
        .services
        .identity
        .group_list(&ctx, f.text("name"), f.text("domain_id"))
        .await?;
    Ok(Json(
        json!({"groups": list.iter().map(|g| views::group(&l, g)).collect::<Vec<_>>(), "links": l.list("groups")}),
    ))
}

async fn create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<Body<CreateIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let g = b.group;
    let new = NewGroup {
        name: g.name,
        domain_id: g.domain_id,
        description: g.description.unwrap_or_default(),
    };
    let g = s.services.identity.group_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"group": views::group(&Links(&s.public_url), &g)})),
    ))
}

async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let g = s.services.identity.group_get(&ctx, &id).await?;
    Ok(Json(
        json!({"group": views::group(&Links(&s.public_url), &g)}),
    ))
}

async fn update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Body<UpdateIn>>,
) -> KsResult<Json<Value>> {
    let upd = GroupUpdate {
        name: b.group.name,
        description: b.group.description,
    };
    let g = s.services.identity.group_update(&ctx, &id, upd).await?;
    Ok(Json(
        json!({"group": views::group(&Links(&s.public_url), &g)}),
    ))
}

async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.group_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn members(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s.services.identity.group_users(&ctx, &id).await?;
    Ok(Json(
        json!({"users": list.iter().map(|u| views::user(&l, u)).collect::<Vec<_>>(), "links": l.list(&format!("groups/{id}/users"))}),
    ))
}

async fn add_member(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, user)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services.identity.group_add_user(&ctx, &id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn check_member(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, user)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .group_check_user(&ctx, &id, &user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, user)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .group_remove_user(&ctx, &id, &user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
