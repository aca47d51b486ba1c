//! /v3/projects

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_core::Error;
use ferrostack_identity::{NewProject, ProjectFilter, ProjectUpdate};
use serde::Deserialize;
use serde_json::{json, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v3/projects", Token, list)
        .post("/v3/projects", Admin, create)
        .get("/v3/projects/{id}", ProjectRead, show)
        .patch("/v3/projects/{id}", Admin, update)
        .delete("/v3/projects/{id}", Admin, delete)
        .get("/v3/users/{id}/projects", UserSelf, of_user)
}

#[derive(Deserialize)]
struct Body<T> {
    project: T,
}

#[derive(Deserialize)]
struct CreateIn {
    name: String,
    domain_id: Option<String>,
    parent_id: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    is_domain: bool,
}

#[derive(Deserialize)]
struct UpdateIn {
    name: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
    tags: Option<Vec<String>>,
}

fn render(s: &AppState, list: &[ferrostack_types::identity::Project], path: &str) -> Json<Value> {
    let l = Links(&s.public_url);
    Json(
        json!({"projects": list.iter().map(|p| views::project(&l, p)).collect::<Vec<_>>(), "links": l.list(path)}),
    )
}

async fn list(State(s): State<AppState>, Authed(ctx): Authed, f: Filters) -> KsResult<Json<Value>> {
    let tags = f
        .text("tags")
        .map(|t| t.split(',').map(String::from).collect())
        .unwrap_or_default();
    let filter = ProjectFilter {
        name: f.text("name"),
        domain_id: f.text("domain_id"),
        parent_id: f.text("parent_id"),
        enabled: f.bool("enabled"),
        tags,
    };
    let list = s.services.identity.project_list(&ctx, filter).await?;
    Ok(render(&s, &list, "projects"))
}

async fn of_user(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let list = s.services.identity.user_projects(&ctx, &id).await?;
    Ok(render(&s, &list, &format!("users/{id}/projects")))
}

async fn create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<Body<CreateIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let p = b.project;
    if p.is_domain {
        return Err(Error::bad_request(
            "Projects acting as domains (is_domain) are not supported; create a domain instead.",
        )
        .into());
    }
    let new = NewProject {
        name: p.name,
        domain_id: p.domain_id,
        parent_id: p.parent_id,
        description: p.description.unwrap_or_default(),
        enabled: p.enabled.unwrap_or(true),
        tags: p.tags,
    };
    let p = s.services.identity.project_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"project": views::project(&Links(&s.public_url), &p)})),
    ))
}

async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let p = s.services.identity.project_get(&ctx, &id).await?;
    Ok(Json(
        json!({"project": views::project(&Links(&s.public_url), &p)}),
    ))
}

async fn update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Body<UpdateIn>>,
) -> KsResult<Json<Value>> {
    let u = b.project;
    let upd = ProjectUpdate {
        name: u.name,
        description: u.description,
        enabled: u.enabled,
        tags: u.tags,
    };
    let p = s.services.identity.project_update(&ctx, &id, upd).await?;
    Ok(Json(
        json!({"project": views::project(&Links(&s.public_url), &p)}),
    ))
}

async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.project_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
