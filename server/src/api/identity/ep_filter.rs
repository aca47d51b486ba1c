//! /v3/OS-EP-FILTER: endpoint groups and the endpoints a project's catalog holds.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_core::Ctx;
use ferrostack_identity::{EndpointGroup, EndpointGroupUpdate, EpKind};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

const GROUPS: &str = "/v3/OS-EP-FILTER/endpoint_groups";

pub fn routes() -> Routes {
    Routes::new()
        .get(GROUPS, Admin, group_list)
        .post(GROUPS, Admin, group_create)
        .get("/v3/OS-EP-FILTER/endpoint_groups/{id}", Admin, group_show)
        .patch("/v3/OS-EP-FILTER/endpoint_groups/{id}", Admin, group_update)
        .delete("/v3/OS-EP-FILTER/endpoint_groups/{id}", Admin, group_delete)
        .get(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}/endpoints",
            Admin,
            group_endpoints,
        )
        .get(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}/projects",
            Admin,
            group_projects,
        )
        .get(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}/projects/{project}",
            Admin,
            group_project_check,
        )
        .put(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}/projects/{project}",
            Admin,
            group_project_add,
        )
        .delete(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}/projects/{project}",
            Admin,
            group_project_remove,
        )
        .get(
            "/v3/OS-EP-FILTER/projects/{project}/endpoints",
            Admin,
            project_endpoints,
        )
        .get(
            "/v3/OS-EP-FILTER/projects/{project}/endpoint_groups",
            Admin,
            project_groups,
        )
        .get(
            "/v3/OS-EP-FILTER/projects/{project}/endpoints/{endpoint}",
            Admin,
            endpoint_check,
        )
        .put(
            "/v3/OS-EP-FILTER/projects/{project}/endpoints/{endpoint}",
            Admin,
            endpoint_add,
        )
        .delete(
            "/v3/OS-EP-FILTER/projects/{project}/endpoints/{endpoint}",
            Admin,
            endpoint_remove,
        )
        .get(
            "/v3/OS-EP-FILTER/endpoints/{endpoint}/projects",
            Admin,
            endpoint_projects,
        )
}

#[derive(Deserialize)]
struct Body<T> {
    endpoint_group: T,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateIn {
    name: String,
    #[serde(default)]
    description: String,
    filters: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateIn {
    name: Option<String>,
    description: Option<String>,
    filters: Option<Map<String, Value>>,
}

fn view(l: &Links, g: &EndpointGroup) -> Value {
    json!({
        "id": g.id, "name": g.name, "description": g.description, "filters": g.filters,
        "links": l.to(&format!("OS-EP-FILTER/endpoint_groups/{}", g.id)),
    })
}

async fn group_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    f: Filters,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let name = f.text("name");
    let list = s
        .services
        .identity
        .endpoint_group_list(&ctx, name.as_deref())
        .await?;
    Ok(Json(json!({
        "endpoint_groups": list.iter().map(|g| view(&l, g)).collect::<Vec<_>>(),
        "links": l.list("OS-EP-FILTER/endpoint_groups"),
    })))
}

async fn group_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<Body<CreateIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let g = b.endpoint_group;
    let g = s
        .services
        .identity
        .endpoint_group_create(&ctx, &g.name, &g.description, g.filters)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"endpoint_group": view(&Links(&s.public_url), &g)})),
    ))
}

async fn group_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let g = s.services.identity.endpoint_group_get(&ctx, &id).await?;
    Ok(Json(
        json!({"endpoint_group": view(&Links(&s.public_url), &g)}),
    ))
}

async fn group_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Body<UpdateIn>>,
) -> KsResult<Json<Value>> {
    let u = b.endpoint_group;
    let upd = EndpointGroupUpdate {
        name: u.name,
        description: u.description,
        filters: u.filters,
    };
    let g = s
        .services
        .identity
        .endpoint_group_update(&ctx, &id, upd)
        .await?;
    Ok(Json(
        json!({"endpoint_group": view(&Links(&s.public_url), &g)}),
    ))
}

async fn group_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.endpoint_group_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn endpoints_view(
    s: &AppState,
    list: &[ferrostack_types::identity::Endpoint],
    path: &str,
) -> Json<Value> {
    let l = Links(&s.public_url);
    Json(json!({
        "endpoints": list.iter().map(|e| views::endpoint(&l, e)).collect::<Vec<_>>(),
        "links": l.list(path),
    }))
}

async fn group_endpoints(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let list = s
        .services
        .identity
        .endpoint_group_endpoints(&ctx, &id)
        .await?;
    Ok(endpoints_view(
        &s,
        &list,
        &format!("OS-EP-FILTER/endpoint_groups/{id}/endpoints"),
    ))
}

async fn projects_view(
    s: &AppState,
    ctx: &Ctx,
    ids: Vec<String>,
    path: &str,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let p = s.services.identity.project_get(ctx, &id).await?;
        out.push(views::project(&l, &p));
    }
    Ok(Json(json!({"projects": out, "links": l.list(path)})))
}

async fn group_projects(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let ids = s
        .services
        .identity
        .ep_filter_projects(&ctx, EpKind::Group, &id)
        .await?;
    projects_view(
        &s,
        &ctx,
        ids,
        &format!("OS-EP-FILTER/endpoint_groups/{id}/projects"),
    )
    .await
}

async fn endpoint_projects(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(endpoint): Path<String>,
) -> KsResult<Json<Value>> {
    let ids = s
        .services
        .identity
        .ep_filter_projects(&ctx, EpKind::Endpoint, &endpoint)
        .await?;
    projects_view(
        &s,
        &ctx,
        ids,
        &format!("OS-EP-FILTER/endpoints/{endpoint}/projects"),
    )
    .await
}

async fn group_project_check(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, project)): Path<(String, String)>,
) -> KsResult<Json<Value>> {
    s.services
        .identity
        .ep_filter_check(&ctx, EpKind::Group, &id, &project)
        .await?;
    let p = s.services.identity.project_get(&ctx, &project).await?;
    Ok(Json(
        json!({"project": views::project(&Links(&s.public_url), &p)}),
    ))
}

async fn group_project_add(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, project)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .ep_filter_add(&ctx, EpKind::Group, &id, &project)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn group_project_remove(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, project)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .ep_filter_remove(&ctx, EpKind::Group, &id, &project)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn project_endpoints(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(project): Path<String>,
) -> KsResult<Json<Value>> {
    let list = s
        .services
        .identity
        .project_endpoints(&ctx, &project)
        .await?;
    Ok(endpoints_view(
        &s,
        &list,
        &format!("OS-EP-FILTER/projects/{project}/endpoints"),
    ))
}

async fn project_groups(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(project): Path<String>,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s
        .services
        .identity
        .project_endpoint_groups(&ctx, &project)
        .await?;
    Ok(Json(json!({
        "endpoint_groups": list.iter().map(|g| view(&l, g)).collect::<Vec<_>>(),
        "links": l.list(&format!("OS-EP-FILTER/projects/{project}/endpoint_groups")),
    })))
}

async fn endpoint_check(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((project, endpoint)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .ep_filter_check(&ctx, EpKind::Endpoint, &endpoint, &project)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn endpoint_add(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((project, endpoint)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .ep_filter_add(&ctx, EpKind::Endpoint, &endpoint, &project)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn endpoint_remove(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((project, endpoint)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .ep_filter_remove(&ctx, EpKind::Endpoint, &endpoint, &project)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
