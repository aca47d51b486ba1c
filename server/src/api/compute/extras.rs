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

// ---- os-interface

fn interface_view(i: &ferrostack_types::compute::InterfaceAttachment) -> Value {
    json!({
        "port_id": i.port_id, "net_id": i.net_id, "mac_addr": i.mac_addr, "port_state": i.port_state,
        "fixed_ips": i.fixed_ips.iter().map(|(s, a)| json!({"subnet_id": s, "ip_address": a})).collect::<Vec<_>>(),
        "tag": null,
    })
}

pub(crate) async fn server_interfaces(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    let list = st.services.compute.interface_list(&ctx, &id).await?;
    Ok(Json(
        json!({"interfaceAttachments": list.iter().map(interface_view).collect::<Vec<_>>()}),
    ))
}

pub(crate) async fn server_interface_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path((id, port)): Path<(String, String)>,
) -> NResult<Json<Value>> {
    let i = st.services.compute.interface_get(&ctx, &id, &port).await?;
    Ok(Json(json!({"interfaceAttachment": interface_view(&i)})))
}

/// `{"interfaceAttachment": {"port_id" | "net_id", "fixed_ips": [{"ip_address"}], "tag"}}`.
pub(crate) async fn server_interface_attach(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    st.services.compute.server_check_write(&ctx, &id).await?;
    let mut m = super::inner(body_object(&body)?, "interfaceAttachment")?;
    let text = |m: &mut Map<String, Value>, k: &str| -> NResult<Option<String>> {
        match m.remove(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(Error::bad_request(format!(
                "Invalid input for field '{k}': {v} is not a string."
            ))
            .into()),
        }
    };
    let port_id = text(&mut m, "port_id")?;
    let net_id = text(&mut m, "net_id")?;
    let fixed_ip = match m.remove("fixed_ips") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.len() <= 1 => match a.first() {
            None => None,
            Some(Value::Object(o))
                if o.len() == 1 && o.get("ip_address").is_some_and(Value::is_string) =>
            {
                o["ip_address"].as_str().map(str::to_string)
            }
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field 'fixed_ips': {v} is not {{\"ip_address\": \"...\"}}."
                ))
                .into())
            }
        },
        Some(v) => {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'fixed_ips': {v} is not a list of at most one address."
            ))
            .into())
        }
    };
    m.remove("tag");
    if let Some(k) = m.keys().next() {
        return Err(Error::bad_request(format!(
            "Additional properties are not allowed ('{k}' was unexpected)."
        ))
        .into());
    }
    let i = st
        .services
        .compute
        .interface_attach(
            &ctx,
            &id,
            ferrostack_compute::InterfaceRequest {
                port_id,
                net_id,
                fixed_ip,
            },
        )
        .await?;
    Ok(Json(json!({"interfaceAttachment": interface_view(&i)})))
}

pub(crate) async fn server_interface_detach(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path((id, port)): Path<(String, String)>,
) -> NResult<StatusCode> {
    st.services
        .compute
        .interface_detach(&ctx, &id, &port)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

pub(crate) async fn server_volumes(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    st.services.compute.server_get(&ctx, &id).await?;
    Ok(Json(json!({"volumeAttachments": []})))
}
