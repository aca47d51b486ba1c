//! /v3/projects

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrostack_core::Error;
use ferrostack_identity::{NewProject, ProjectFilter, ProjectUpdate};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v3/projects", Admin, list)
        .post("/v3/projects", Admin, create)
        .get("/v3/projects/{id}", ProjectRead, show)
        .patch("/v3/projects/{id}", Admin, update)
        .delete("/v3/projects/{id}", Admin, delete)
        .get("/v3/users/{id}/projects", UserSelf, of_user)
        .get("/v3/projects/{id}/tags", ProjectRead, tags_list)
        .put("/v3/projects/{id}/tags", Admin, tags_replace)
        .delete("/v3/projects/{id}/tags", Admin, tags_clear)
        .get("/v3/projects/{id}/tags/{tag}", ProjectRead, tag_check)
        .put("/v3/projects/{id}/tags/{tag}", Admin, tag_add)
        .delete("/v3/projects/{id}/tags/{tag}", Admin, tag_remove)
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
    options: Option<Map<String, Value>>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// Keystone's project options (`immutable`) are not offered: refused, not dropped.
fn no_options(o: &Option<Map<String, Value>>) -> Result<(), Error> {
    match o {
        Some(m) if !m.is_empty() => Err(Error::bad_request(
            "Invalid input for field 'options': project options (immutable) are not supported by this cloud.",
        )),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
struct UpdateIn {
    name: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
    tags: Option<Vec<String>>,
    options: Option<Map<String, Value>>,
    #[serde(flatten)]
    extra: Map<String, Value>,
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
    no_options(&p.options)?;
    let new = NewProject {
        name: p.name,
        domain_id: p.domain_id,
        parent_id: p.parent_id,
        description: p.description.unwrap_or_default(),
        enabled: p.enabled.unwrap_or(true),
        tags: p.tags,
        extra: p.extra,
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
    no_options(&u.options)?;
    let upd = ProjectUpdate {
        name: u.name,
        description: u.description,
        enabled: u.enabled,
        tags: u.tags,
        extra: u.extra,
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

#[derive(Deserialize)]
struct TagsIn {
    tags: Vec<String>,
}

async fn tags_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let p = s.services.identity.project_get(&ctx, &id).await?;
    Ok(Json(json!({"tags": p.tags})))
}

async fn set_tags(
    s: &AppState,
    ctx: &ferrostack_core::Ctx,
    id: &str,
    tags: Vec<String>,
) -> KsResult<Json<Value>> {
    let upd = ProjectUpdate {
        tags: Some(tags),
        ..Default::default()
    };
    let p = s.services.identity.project_update(ctx, id, upd).await?;
    Ok(Json(json!({"tags": p.tags})))
}

async fn tags_replace(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<TagsIn>,
) -> KsResult<Json<Value>> {
    set_tags(&s, &ctx, &id, b.tags).await
}

async fn tags_clear(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    let _ = set_tags(&s, &ctx, &id, Vec::new()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tag_check(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, tag)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .project_tag_check(&ctx, &id, &tag)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 201 with the tag's URL in `Location` and no body, as Keystone.
async fn tag_add(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, tag)): Path<(String, String)>,
) -> KsResult<Response> {
    s.services.identity.project_tag_add(&ctx, &id, &tag).await?;
    let url = format!("{}/identity/v3/projects/{id}/tags/{tag}", s.public_url);
    let mut r = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

async fn tag_remove(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, tag)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .project_tag_remove(&ctx, &id, &tag)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
