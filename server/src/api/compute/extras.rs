//! A server's metadata, tags, instance actions, and its (until networking and volumes
//! land, empty) addresses, interfaces and volume attachments.

use ferrostack_types::compute::InstanceAction;

use super::fields::{string_map, strings};
use super::prelude::*;
use super::views::nova_time;
use super::{base, body_object};

// ---- metadata, tags

fn meta_body(body: &[u8], key: &str) -> NResult<BTreeMap<String, String>> {
    let mut m = body_object(body)?;
    match m.remove(key) {
        Some(v) => string_map(Some(v), key),
        None => Err(Error::bad_request(format!("Missing '{key}' in the request body.")).into()),
    }
}

pub(crate) async fn metadata_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    Ok(Json(
        json!({"metadata": st.services.compute.server_metadata(&ctx, &id).await?}),
    ))
}

pub(crate) async fn metadata_replace(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let md = meta_body(&body, "metadata")?;
    Ok(Json(
        json!({"metadata": st.services.compute.server_metadata_set(&ctx, &id, md, true).await?}),
    ))
}

pub(crate) async fn metadata_merge(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let md = meta_body(&body, "metadata")?;
    Ok(Json(
        json!({"metadata": st.services.compute.server_metadata_set(&ctx, &id, md, false).await?}),
    ))
}

pub(crate) async fn metadata_item_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path((id, key)): Path<(String, String)>,
) -> NResult<Json<Value>> {
    let md = st.services.compute.server_metadata(&ctx, &id).await?;
    let v = md
        .get(&key)
        .ok_or_else(|| Error::not_found("metadata item", &key))?;
    Ok(Json(json!({"meta": {key: v}})))
}

pub(crate) async fn metadata_item_set(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path((id, key)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let md = meta_body(&body, "meta")?;
    if md.len() != 1 || !md.contains_key(&key) {
        return Err(Error::bad_request(
            "The request body's 'meta' holds exactly the key of the URL.",
        )
        .into());
    }
    let all = st
        .services
        .compute
        .server_metadata_set(&ctx, &id, md, false)
        .await?;
    Ok(Json(json!({"meta": {&key: all.get(&key)}})))
}

pub(crate) async fn metadata_item_delete(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path((id, key)): Path<(String, String)>,
) -> NResult<StatusCode> {
    st.services
        .compute
        .server_metadata_delete(&ctx, &id, &key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn tags_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    Ok(Json(
        json!({"tags": st.services.compute.server_tags(&ctx, &id).await?}),
    ))
}

pub(crate) async fn tags_replace(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let mut m = body_object(&body)?;
    let tags = strings(&mut m, "tags")?.ok_or_else(|| {
        NovaError(Error::bad_request(
            "Missing 'tags' (a list) in the request body.",
        ))
    })?;
    Ok(Json(
        json!({"tags": st.services.compute.server_tags_set(&ctx, &id, tags, true).await?}),
    ))
}

pub(crate) async fn tags_clear(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<StatusCode> {
    st.services
        .compute
        .server_tags_set(&ctx, &id, Vec::new(), true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn tag_check(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path((id, tag)): Path<(String, String)>,
) -> NResult<StatusCode> {
    let tags = st.services.compute.server_tags(&ctx, &id).await?;
    if tags.contains(&tag) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::not_found("tag", tag).into())
    }
}

pub(crate) async fn tag_add(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path((id, tag)): Path<(String, String)>,
) -> NResult<Response> {
    let had = st
        .services
        .compute
        .server_tags(&ctx, &id)
        .await?
        .contains(&tag);
    st.services
        .compute
        .server_tags_set(&ctx, &id, vec![tag.clone()], false)
        .await?;
    let mut resp = if had {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    }
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}/v2.1/servers/{id}/tags/{}",
        base(&st),
        ferrostack_types::url::encode(&tag)
    )) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

pub(crate) async fn tag_delete(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path((id, tag)): Path<(String, String)>,
) -> NResult<StatusCode> {
    st.services
        .compute
        .server_tag_delete(&ctx, &id, &tag)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- instance actions, addresses, interfaces, volumes

fn action_view(a: &InstanceAction, mv: Mv, ctx: &Ctx, events: bool) -> Value {
    let mut v = json!({
        "action": a.action, "instance_uuid": a.server_id, "message": a.message,
        "project_id": a.project_id, "request_id": a.request_id,
        "start_time": nova_time(&a.start_time), "user_id": a.user_id,
    });
    if mv.at_least(58) {
        v["updated_at"] = json!(nova_time(&a.updated_at));
    }
    if events {
        v["events"] = a
            .events
            .iter()
            .map(|e| {
                let mut ev = json!({"event": e.event, "start_time": nova_time(&e.start_time),
                    "finish_time": e.finish_time.as_deref().map(nova_time), "result": e.result});
                if ctx.is_admin() {
                    ev["traceback"] = Value::Null;
                    if mv.at_least(62) {
                        ev["host"] = json!(e.host);
                    }
                }
                if mv.at_least(62) {
                    ev["hostId"] = json!(e
                        .host
                        .as_deref()
                        .map(|h| ferrostack_compute::host_id(&a.project_id, h))
                        .unwrap_or_default());
                }
                if mv.at_least(84) {
                    ev["details"] = json!(e.details);
                }
                ev
            })
            .collect();
    }
    v
}

pub(crate) async fn actions_list(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    let all = st.services.compute.instance_actions(&ctx, &id).await?;
    Ok(Json(
        json!({"instanceActions": all.iter().map(|a| action_view(a, mv, &ctx, false)).collect::<Vec<_>>()}),
    ))
}

pub(crate) async fn action_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path((id, req)): Path<(String, String)>,
) -> NResult<Json<Value>> {
    let a = st.services.compute.instance_action(&ctx, &id, &req).await?;
    Ok(Json(
        json!({"instanceAction": action_view(&a, mv, &ctx, true)}),
    ))
}

pub(crate) async fn server_ips(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    let s = st.services.compute.server_get(&ctx, &id).await?;
    Ok(Json(
        json!({"addresses": super::views::addresses(&s.addresses)}),
    ))
}

pub(crate) async fn server_interfaces(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    st.services.compute.server_get(&ctx, &id).await?;
    Ok(Json(json!({"interfaceAttachments": []})))
}

pub(crate) async fn server_volumes(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    st.services.compute.server_get(&ctx, &id).await?;
    Ok(Json(json!({"volumeAttachments": []})))
}
