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
        .get("/v3/roles/{id}/implies", Token, implies_list)
        .put("/v3/roles/{id}/implies/{implied}", Admin, implies_put)
        .get("/v3/roles/{id}/implies/{implied}", Token, implies_get)
        .head("/v3/roles/{id}/implies/{implied}", Token, implies_head)
        .delete("/v3/roles/{id}/implies/{implied}", Admin, implies_delete)
        .get("/v3/role_inferences", Token, inferences)
}

#[derive(Deserialize)]
struct Body<T> {
    role: T,
}

#[derive(Deserialize)]
struct CreateIn {
    name: String,
    description: Option<String>,
    domain_id: Option<String>,
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
        .role_list(&ctx, f.text("name"), f.text("domain_id"))
        .await?;
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
        domain_id: b.role.domain_id,
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

async fn implies_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let i = s.services.identity.implied_roles_of(&ctx, &id).await?;
    Ok(Json(json!({
        "role_inference": views::role_inference(&l, &i, false),
        "links": l.to(&format!("roles/{id}/implies")),
    })))
}

async fn implies_put(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, implied)): Path<(String, String)>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let l = Links(&s.public_url);
    let i = s
        .services
        .identity
        .implied_role_create(&ctx, &id, &implied)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "role_inference": views::role_inference(&l, &i, true),
            "links": l.to(&format!("roles/{id}/implies/{implied}")),
        })),
    ))
}

async fn implies_get(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, implied)): Path<(String, String)>,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let i = s
        .services
        .identity
        .implied_role_get(&ctx, &id, &implied)
        .await?;
    Ok(Json(json!({
        "role_inference": views::role_inference(&l, &i, true),
        "links": l.to(&format!("roles/{id}/implies/{implied}")),
    })))
}

async fn implies_head(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, implied)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .implied_role_get(&ctx, &id, &implied)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn implies_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, implied)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .implied_role_delete(&ctx, &id, &implied)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn inferences(State(s): State<AppState>, Authed(ctx): Authed) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s.services.identity.role_inferences(&ctx).await?;
    Ok(Json(json!({
        "role_inferences": list.iter().map(|i| views::role_inference(&l, i, false)).collect::<Vec<_>>(),
        "links": l.list("role_inferences"),
    })))
}
