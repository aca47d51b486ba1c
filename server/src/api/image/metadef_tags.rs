//! /v2/metadefs/namespaces/{ns}/tags: a namespace's tags (one by one, or a list that
//! replaces them or, with `X-Openstack-Append: true`, adds to them).

use ferrostack_image::metadefs::ItemKind;
use serde::Deserialize;

use super::metadefs::{item_delete, items_put, tag_view};
use super::prelude::*;

pub(super) async fn tag_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
) -> GResult<Json<Value>> {
    let list = s
        .services
        .images
        .metadef_items(&ctx, &ns, ItemKind::Tag)
        .await?;
    Ok(Json(
        json!({"tags": list.iter().map(tag_view).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
struct TagsIn {
    tags: Vec<TagIn>,
}

#[derive(Deserialize)]
struct TagIn {
    name: String,
}

/// POST .../tags `{"tags": [{"name": …}, …]}`: the namespace's tags become these
/// (`X-Openstack-Append: true` adds them instead).
pub(super) async fn tags_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> GResult<(StatusCode, Json<Value>)> {
    let t: TagsIn = parse_json(&body)?;
    let names: Vec<String> = t.tags.into_iter().map(|t| t.name).collect();
    let append = headers
        .get("x-openstack-append")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let made = s
        .services
        .images
        .metadef_tags_create(&ctx, &ns, &names, append)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"tags": made.iter().map(tag_view).collect::<Vec<_>>()})),
    ))
}

pub(super) async fn tag_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((ns, name)): Path<(String, String)>,
) -> GResult<Json<Value>> {
    let i = s
        .services
        .images
        .metadef_item(&ctx, &ns, ItemKind::Tag, &name)
        .await?;
    Ok(Json(tag_view(&i)))
}

pub(super) async fn tag_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((ns, name)): Path<(String, String)>,
) -> GResult<(StatusCode, Json<Value>)> {
    let i = s
        .services
        .images
        .metadef_item_put(&ctx, &ns, ItemKind::Tag, None, &name, Map::new())
        .await?;
    Ok((StatusCode::CREATED, Json(tag_view(&i))))
}

pub(super) async fn tag_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((ns, name)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> GResult<Json<Value>> {
    let i = items_put(&s, &ctx, &ns, ItemKind::Tag, Some(&name), &body).await?;
    Ok(Json(tag_view(&i)))
}

pub(super) async fn tag_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((ns, name)): Path<(String, String)>,
) -> GResult<StatusCode> {
    item_delete(&s, &ctx, &ns, ItemKind::Tag, Some(&name)).await
}

pub(super) async fn tag_clear(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
) -> GResult<StatusCode> {
    item_delete(&s, &ctx, &ns, ItemKind::Tag, None).await
}
