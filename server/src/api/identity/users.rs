//! /v3/users (and a user's password and groups)

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_identity::{NewUser, UserFilter, UserUpdate};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v3/users", Admin, list)
        .post("/v3/users", Admin, create)
        .get("/v3/users/{id}", UserSelf, show)
        .patch("/v3/users/{id}", Admin, update)
        .delete("/v3/users/{id}", Admin, delete)
        .post("/v3/users/{id}/password", UserSelf, change_password)
        .get("/v3/users/{id}/groups", UserSelf, groups)
}

#[derive(Deserialize)]
struct Body<T> {
    user: T,
}

#[derive(Deserialize)]
struct CreateIn {
    name: String,
    domain_id: Option<String>,
    password: Option<String>,
    enabled: Option<bool>,
    default_project_id: Option<String>,
    email: Option<String>,
    description: Option<String>,
}

/// `null` present means "clear"; absent means "leave as is".
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct UpdateIn {
    name: Option<String>,
    enabled: Option<bool>,
    password: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    default_project_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    options: Option<UserOptions>,
}

/// Keystone's user options; the one we keep is the lockout exemption.
#[derive(Deserialize)]
struct UserOptions {
    ignore_lockout_failure_attempts: Option<bool>,
}

#[derive(Deserialize)]
struct PasswordIn {
    password: String,
    original_password: String,
}

async fn list(State(s): State<AppState>, Authed(ctx): Authed, f: Filters) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let filter = UserFilter {
        name: f.text("name"),
        domain_id: f.text("domain_id"),
        enabled: f.bool("enabled"),
        default_project_id: f.text("default_project_id"),
    };
    let list = s.services.identity.user_list(&ctx, filter).await?;
    Ok(Json(
        json!({"users": list.iter().map(|u| views::user(&l, u)).collect::<Vec<_>>(), "links": l.list("users")}),
    ))
}

async fn create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<Body<CreateIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let u = b.user;
    let new = NewUser {
        name: u.name,
        domain_id: u.domain_id,
        password: u.password,
        enabled: u.enabled.unwrap_or(true),
        default_project_id: u.default_project_id,
        email: u.email,
        description: u.description,
    };
    let user = s.services.identity.user_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user": views::user(&Links(&s.public_url), &user)})),
    ))
}

async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let u = s.services.identity.user_get(&ctx, &id).await?;
    Ok(Json(
        json!({"user": views::user(&Links(&s.public_url), &u)}),
    ))
}

async fn update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Body<UpdateIn>>,
) -> KsResult<Json<Value>> {
    let u = b.user;
    let upd = UserUpdate {
        name: u.name,
        enabled: u.enabled,
        password: u.password,
        default_project_id: u.default_project_id,
        email: u.email,
        description: u.description,
        ignore_lockout: u.options.and_then(|o| o.ignore_lockout_failure_attempts),
    };
    let user = s.services.identity.user_update(&ctx, &id, upd).await?;
    Ok(Json(
        json!({"user": views::user(&Links(&s.public_url), &user)}),
    ))
}

async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.user_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /v3/users/{id}/password
async fn change_password(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Body<PasswordIn>>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .user_change_password(&ctx, &id, &b.user.original_password, &b.user.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /v3/users/{id}/groups
async fn groups(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s.services.identity.user_groups(&ctx, &id).await?;
    Ok(Json(
        json!({"groups": list.iter().map(|g| views::group(&l, g)).collect::<Vec<_>>(), "links": l.list(&format!("users/{id}/groups"))}),
    ))
}
