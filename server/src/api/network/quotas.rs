//! /v2.0/quotas (limits, usage details, defaults) and the tags of every tagged
//! resource (/v2.0/{resources}/{id}/tags).

use std::collections::BTreeMap;

use ferrostack_network::{QuotaSet, TagChange, TAGGED};

use super::prelude::*;
use crate::api::table::{Access::*, Routes};

pub fn routes(mut r: Routes) -> Routes {
    r = r
        .get("/v2.0/quotas", Admin, quota_list)
        .get("/v2.0/quotas/{project}", ProjectRead, quota_show)
        .get("/v2.0/quotas/{project}/details", ProjectRead, quota_details)
        .get("/v2.0/quotas/{project}/default", ProjectRead, quota_default)
        .put("/v2.0/quotas/{project}", Admin, quota_update)
        .delete("/v2.0/quotas/{project}", Admin, quota_delete);
    for kind in TAGGED {
        r = r
            .get(&format!("/v2.0/{kind}/{{id}}/tags"), ProjectRead, tags_show)
            .put(
                &format!("/v2.0/{kind}/{{id}}/tags"),
                ProjectWrite,
                tags_replace,
            )
            .delete(
                &format!("/v2.0/{kind}/{{id}}/tags"),
                ProjectWrite,
                tags_clear,
            )
            .get(
                &format!("/v2.0/{kind}/{{id}}/tags/{{tag}}"),
                ProjectRead,
                tag_check,
            )
            .put(
                &format!("/v2.0/{kind}/{{id}}/tags/{{tag}}"),
                ProjectWrite,
                tag_add,
            )
            .delete(
                &format!("/v2.0/{kind}/{{id}}/tags/{{tag}}"),
                ProjectWrite,
                tag_remove,
            );
    }
    r
}

fn quota_view(q: &QuotaSet) -> Value {
    Value::Object(q.0.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

async fn quota_list(State(s): State<AppState>, Authed(ctx): Authed) -> NeutronResult<Json<Value>> {
    let list = s.services.network.quota_projects(&ctx).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|(p, q)| {
            let mut v = quota_view(q);
            v["project_id"] = json!(p);
            v["tenant_id"] = json!(p);
            v
        })
        .collect();
    Ok(Json(json!({"quotas": items})))
}

async fn quota_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(project): Path<String>,
) -> NeutronResult<Json<Value>> {
    let q = s.services.network.quota_get(&ctx, &project).await?;
    Ok(Json(json!({"quota": quota_view(&q)})))
}

async fn quota_default(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(project): Path<String>,
) -> NeutronResult<Json<Value>> {
    // Any project's members may read the defaults (policy as for its limits).
    s.services.network.quota_get(&ctx, &project).await?;
    Ok(Json(
        json!({"quota": quota_view(&s.services.network.quota_defaults())}),
    ))
}

async fn quota_details(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(project): Path<String>,
) -> NeutronResult<Json<Value>> {
    let q = s.services.network.quota_get(&ctx, &project).await?;
    let used = s.services.network.quota_usage(&ctx, &project).await?;
    let m: Map<String, Value> = q
        .0
        .iter()
        .map(|(k, limit)| {
            (
                k.clone(),
                json!({"limit": limit, "used": used.get(k).copied().unwrap_or(0), "reserved": 0}),
            )
        })
        .collect();
    Ok(Json(json!({"quota": m})))
}

async fn quota_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(project): Path<String>,
    body: axum::body::Bytes,
) -> NeutronResult<Json<Value>> {
    let mut outer: Map<String, Value> = crate::api::extract::parse_json(&body)?;
    let inner = match outer.remove("quota") {
        Some(Value::Object(m)) => m,
        _ => {
            return Err(
                Error::bad_request("Resource body required: send {\"quota\": {...}}.").into(),
            )
        }
    };
    let mut limits = BTreeMap::new();
    for (k, v) in inner {
        let n = v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "Invalid input for {k}. Reason: '{v}' is not an integer."
                ))
            })?;
        limits.insert(k, n);
    }
    let q = s
        .services
        .network
        .quota_update(&ctx, &project, limits)
        .await?;
    Ok(Json(json!({"quota": quota_view(&q)})))
}

async fn quota_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(project): Path<String>,
) -> NeutronResult<StatusCode> {
    s.services.network.quota_delete(&ctx, &project).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The resource type a tag route is for (`networks` in /network/v2.0/networks/{id}/tags).
fn kind(m: &MatchedPath) -> String {
    m.as_str()
        .split('/')
        .skip_while(|s| *s != "v2.0")
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

async fn tags_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    m: MatchedPath,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    let tags = s.services.network.tags_get(&ctx, &kind(&m), &id).await?;
    Ok(Json(json!({"tags": tags})))
}

async fn tags_replace(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    m: MatchedPath,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NeutronResult<Json<Value>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Tags {
        tags: Vec<String>,
    }
    let t: Tags = crate::api::extract::parse_json(&body)?;
    let tags = s
        .services
        .network
        .tags_change(&ctx, &kind(&m), &id, TagChange::Replace(t.tags))
        .await?;
    Ok(Json(json!({"tags": tags})))
}

async fn tags_clear(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    m: MatchedPath,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    s.services
        .network
        .tags_change(&ctx, &kind(&m), &id, TagChange::Clear)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tag_check(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    m: MatchedPath,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult<StatusCode> {
    let tags = s.services.network.tags_get(&ctx, &kind(&m), &id).await?;
    if tags.contains(&tag) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::not_found("tag", tag).into())
    }
}

async fn tag_add(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    m: MatchedPath,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult<StatusCode> {
    s.services
        .network
        .tags_change(&ctx, &kind(&m), &id, TagChange::Add(tag))
        .await?;
    Ok(StatusCode::CREATED)
}

async fn tag_remove(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    m: MatchedPath,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult<StatusCode> {
    s.services
        .network
        .tags_change(&ctx, &kind(&m), &id, TagChange::Remove(tag))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
