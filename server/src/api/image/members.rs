//! /v2/images/{id}/members: sharing with other projects.

use super::prelude::*;

pub(crate) fn member_view(m: &ImageMember) -> Value {
    json!({
        "image_id": m.image_id, "member_id": m.member_id, "status": m.status,
        "created_at": glance_time(&m.created_at), "updated_at": glance_time(&m.updated_at),
        "schema": "/v2/schemas/member",
    })
}

pub(crate) async fn members_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<Json<Value>> {
    let list = s.services.images.member_list(&ctx, &id).await?;
    Ok(Json(
        json!({"members": list.iter().map(member_view).collect::<Vec<_>>(), "schema": "/v2/schemas/members"}),
    ))
}

pub(crate) async fn member_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> GResult<Json<Value>> {
    let mut m: Map<String, Value> = parse_json(&body)?;
    let member = string_field(&mut m, "member")?
        .ok_or_else(|| Error::bad_request("The body needs 'member': a project id."))?;
    Ok(Json(member_view(
        &s.services.images.member_add(&ctx, &id, &member).await?,
    )))
}

pub(crate) async fn member_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, member)): Path<(String, String)>,
) -> GResult<Json<Value>> {
    Ok(Json(member_view(
        &s.services.images.member_get(&ctx, &id, &member).await?,
    )))
}

pub(crate) async fn member_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, member)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> GResult<Json<Value>> {
    let mut m: Map<String, Value> = parse_json(&body)?;
    let status = string_field(&mut m, "status")?.ok_or_else(|| {
        Error::bad_request("The body needs 'status': accepted, rejected or pending.")
    })?;
    Ok(Json(member_view(
        &s.services
            .images
            .member_update(&ctx, &id, &member, &status)
            .await?,
    )))
}

pub(crate) async fn member_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, member)): Path<(String, String)>,
) -> GResult<StatusCode> {
    s.services.images.member_delete(&ctx, &id, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}
