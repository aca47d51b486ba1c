//! /servers: create, list and detail with filters and `servers_links`, show, update,
//! delete and the action endpoint.

use ferrostack_compute::{NewServer, ServerAction, ServerQuery, ServerUpdate};

use super::fields::{flag, int, string_map, strings, text};
use super::prelude::*;
use super::views::{brief, links, server_view};
use super::{base, body_object, inner, next_link};

// ---- create

/// The last path segment of an href (`flavorRef` may be a link), or the id itself.
fn reference(v: String) -> String {
    v.rsplit('/').next().unwrap_or(&v).to_string()
}

pub(crate) async fn server_create(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    body: axum::body::Bytes,
) -> NResult<Response> {
    let mut outer = body_object(&body)?;
    // Nova reads both spellings (openstacksdk sends the second).
    let hints = outer
        .remove("os:scheduler_hints")
        .or_else(|| outer.remove("OS-SCH-HNT:scheduler_hints"));
    let group = match hints {
        Some(Value::Object(mut h)) => match h.remove("group") {
            None | Some(Value::Null) => None,
            Some(Value::String(g)) => Some(g),
            Some(Value::Array(a)) if a.len() == 1 && a[0].is_string() => {
                a[0].as_str().map(str::to_string)
            }
            Some(o) => {
                return Err(Error::bad_request(format!(
                "Invalid input for field/attribute group. Value: {o}. {o} is not of type 'string'."
            ))
                .into())
            }
        },
        _ => None,
    };
    let mut m = inner(outer, "server")?;
    let name = text(&mut m, "name")?.ok_or_else(|| {
        Error::bad_request(
            "Invalid input for field/attribute server. 'name' is a required property",
        )
    })?;
    let flavor = text(&mut m, "flavorRef")?.ok_or_else(|| {
        Error::bad_request(
            "Invalid input for field/attribute server. 'flavorRef' is a required property",
        )
    })?;
    let mut image = text(&mut m, "imageRef")?
        .filter(|s| !s.is_empty())
        .map(reference);
    // The CLI describes an image boot as a mapping too (image → local disk, boot index
    // 0): that one is the image; volumes are not available yet.
    if m.contains_key("block_device_mapping") {
        return Err(Error::bad_request(
            "Block device mappings (boot from volume) are not available in this cloud yet.",
        )
        .into());
    }
    if let Some(bdms) = m.remove("block_device_mapping_v2") {
        let list = bdms.as_array().cloned().ok_or_else(|| {
            NovaError(Error::bad_request(
                "Invalid input for field/attribute block_device_mapping_v2: not a list.",
            ))
        })?;
        for b in list {
            let field = |k: &str| b.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let local_image = field("source_type").as_deref() == Some("image")
                && matches!(field("destination_type").as_deref(), None | Some("local"));
            if !local_image {
                return Err(Error::bad_request("Block device mappings other than the image itself (volumes, blank or swap disks) are not available in this cloud yet.").into());
            }
            if let Some(u) = field("uuid") {
                match &image {
                    None => image = Some(u),
                    Some(i) if *i == u => {}
                    Some(_) => {
                        return Err(Error::bad_request(
                            "The block device mapping names another image than imageRef.",
                        )
                        .into())
                    }
                }
            }
        }
    }
    let networks = match m.remove("networks") {
        None | Some(Value::Null) if mv.at_least(37) => {
            return Err(Error::bad_request(
                "Invalid input for field/attribute server. 'networks' is a required property",
            )
            .into())
        }
        None | Some(Value::Null) => ferrostack_compute::Networks::Auto,
        Some(Value::String(s)) if s == "auto" => ferrostack_compute::Networks::Auto,
        Some(Value::String(s)) if s == "none" => ferrostack_compute::Networks::None,
        Some(Value::Array(a)) if a.is_empty() => ferrostack_compute::Networks::None,
        Some(Value::Array(a)) => {
            let mut list = Vec::new();
            for item in a {
                let Value::Object(mut o) = item else {
                    return Err(Error::bad_request(
                        "Invalid input for field/attribute networks: each entry is an object.",
                    )
                    .into());
                };
                let mut field = |k: &str| -> Result<Option<String>, Error> {
                    match o.remove(k) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s)),
                        Some(v) => Err(Error::bad_request(format!(
                            "Invalid input for field/attribute {k}. Value: {v} is not a string."
                        ))),
                    }
                };
                let r = ferrostack_compute::NicRequest {
                    network: field("uuid")?,
                    port: field("port")?,
                    fixed_ip: field("fixed_ip")?,
                };
                field("tag")?;
                if let Some(k) = o.keys().next() {
                    return Err(Error::bad_request(format!(
                        "Invalid input for field/attribute networks: unknown key '{k}'."
                    ))
                    .into());
                }
                if r.network.is_none() && r.port.is_none() {
                    return Err(Error::bad_request("Invalid input for field/attribute networks: each entry needs a uuid or a port.").into());
                }
                list.push(r);
            }
            ferrostack_compute::Networks::List(list)
        }
        Some(v) => {
            return Err(Error::bad_request(format!(
            "Invalid input for field/attribute networks: {v} is not \"auto\", \"none\" or a list."
        ))
            .into())
        }
    };
    let security_groups = match m.remove("security_groups") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|g| match g {
                Value::Object(mut o) => match o.remove("name") {
                    Some(Value::String(s)) => Ok(s),
                    _ => Err(Error::bad_request(
                        "Invalid input for field/attribute security_groups: each needs a name.",
                    )),
                },
                _ => Err(Error::bad_request(
                    "Invalid input for field/attribute security_groups: each is an object.",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(Error::bad_request(
                "Invalid input for field/attribute security_groups: a list.",
            )
            .into())
        }
    };
    let config_drive = flag(&mut m, "config_drive")?.unwrap_or(false);
    let tags = strings(&mut m, "tags")?.unwrap_or_default();
    let return_reservation = matches!(m.remove("return_reservation_id"), Some(Value::Bool(true)));
    let new = NewServer {
        name,
        image_id: image,
        flavor_id: reference(flavor),
        key_name: text(&mut m, "key_name")?,
        user_data: text(&mut m, "user_data")?,
        metadata: string_map(m.remove("metadata"), "metadata")?,
        availability_zone: text(&mut m, "availability_zone")?,
        min_count: int(&mut m, "min_count", Some(1))?,
        max_count: match m.get("max_count") {
            Some(_) => int(&mut m, "max_count", Some(1))?,
            None => 0,
        },
        config_drive,
        description: text(&mut m, "description")?,
        tags,
        networks,
        group,
        security_groups,
    };
    let new = NewServer {
        max_count: if new.max_count == 0 {
            new.min_count
        } else {
            new.max_count
        },
        ..new
    };
    let made = st.services.compute.server_create(&ctx, new).await?;
    let first = &made[0];
    if return_reservation {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"reservation_id": first.reservation_id})),
        )
            .into_response());
    }
    let body = json!({"server": {
        "id": first.id, "links": links(&st, "servers", &first.id),
        "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}],
        "adminPass": ferrostack_core::ids::new_id(),
    }});
    let mut resp = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/v2.1/servers/{}", base(&st), first.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

// ---- list

fn query(q: Option<&str>) -> NResult<ServerQuery> {
    let mut sq = ServerQuery::default();
    for (k, v) in Filters::pairs(q) {
        match k.as_str() {
            "name" => sq.name = Some(v),
            "status" => sq.status = Some(v),
            "image" => sq.image = Some(reference(v)),
            "flavor" => sq.flavor = Some(reference(v)),
            "host" | "node" => sq.host = Some(v),
            "changes-since" | "changes_since" => sq.changes_since = Some(v),
            "all_tenants" => {
                sq.all_tenants = !matches!(
                    v.to_ascii_lowercase().as_str(),
                    "0" | "false" | "no" | "off"
                )
            }
            "project_id" | "tenant_id" => sq.project_id = Some(v),
            "tags" => sq
                .tags
                .extend(v.split(',').filter(|t| !t.is_empty()).map(str::to_string)),
            "tags-any" => sq
                .tags_any
                .extend(v.split(',').filter(|t| !t.is_empty()).map(str::to_string)),
            "marker" => sq.marker = Some(v),
            "limit" => {
                let n: i64 = v.parse().map_err(|_| Error::bad_request(format!("Invalid input for query parameters limit. Value: {v}. '{v}' does not match '^[0-9]*$'")))?;
                if n < 0 {
                    return Err(Error::bad_request(format!(
                        "Invalid input for query parameters limit. Value: {v}."
                    ))
                    .into());
                }
                sq.limit = Some(n.max(1) as usize);
            }
            // Nova ignores filters it does not know (and those a caller may not use).
            _ => {}
        }
    }
    Ok(sq)
}

async fn list(
    st: AppState,
    ctx: Ctx,
    mv: Mv,
    q: Option<String>,
    detail: bool,
) -> NResult<Json<Value>> {
    let sq = query(q.as_deref())?;
    let (page, more) = st.services.compute.server_list(&ctx, &sq).await?;
    let servers: Vec<Value> = page
        .iter()
        .map(|v| {
            if detail {
                server_view(&st, &ctx, v, mv)
            } else {
                brief(&st, v)
            }
        })
        .collect();
    let mut body = json!({"servers": servers});
    if more {
        if let Some(last) = page.last() {
            let path = if detail { "servers/detail" } else { "servers" };
            body["servers_links"] = next_link(&st, path, q.as_deref(), &last.id);
        }
    }
    Ok(Json(body))
}

pub(crate) async fn server_list(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    RawQuery(q): RawQuery,
) -> NResult<Json<Value>> {
    list(st, ctx, mv, q, false).await
}

pub(crate) async fn server_list_detail(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    RawQuery(q): RawQuery,
) -> NResult<Json<Value>> {
    list(st, ctx, mv, q, true).await
}

pub(crate) async fn server_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    let v = st.services.compute.server_get(&ctx, &id).await?;
    Ok(Json(json!({"server": server_view(&st, &ctx, &v, mv)})))
}

pub(crate) async fn server_update(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let mut m = inner(body_object(&body)?, "server")?;
    let up = ServerUpdate {
        name: text(&mut m, "name")?,
        description: match m.remove("description") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s)),
            Some(o) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute description. Value: {o}."
                ))
                .into())
            }
        },
    };
    let v = st.services.compute.server_update(&ctx, &id, up).await?;
    Ok(Json(json!({"server": server_view(&st, &ctx, &v, mv)})))
}

pub(crate) async fn server_delete(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<StatusCode> {
    st.services.compute.server_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /servers/{id}/action: one action named by the body's only key.
pub(crate) async fn server_action(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Response> {
    // Who may act first: a refusal must not depend on the body.
    st.services.compute.server_check_write(&ctx, &id).await?;
    let m = body_object(&body)?;
    if m.len() != 1 {
        return Err(Error::bad_request("The action body names exactly one action.").into());
    }
    let (name, arg) = m.into_iter().next().unwrap_or_default();
    let c = &st.services.compute;
    let simple = |a: ServerAction| a;
    let action = match name.as_str() {
        "os-start" => Some(simple(ServerAction::Start)),
        "os-stop" => Some(ServerAction::Stop),
        "pause" => Some(ServerAction::Pause),
        "unpause" => Some(ServerAction::Unpause),
        "suspend" => Some(ServerAction::Suspend),
        "resume" => Some(ServerAction::Resume),
        "reboot" => {
            let kind = arg.get("type").and_then(|t| t.as_str()).unwrap_or("");
            match kind.to_ascii_uppercase().as_str() {
                "SOFT" => Some(ServerAction::Reboot { hard: false }),
                "HARD" => Some(ServerAction::Reboot { hard: true }),
                _ => return Err(Error::bad_request(format!("Invalid input for field/attribute type. Value: {kind}. '{kind}' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']")).into()),
            }
        }
        _ => None,
    };
    if let Some(a) = action {
        c.server_action(&ctx, &id, a).await?;
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    if let Some(r) = super::moves::move_action(&st, &ctx, mv, &id, &name, arg.clone()).await {
        return r;
    }
    if let Some(r) = super::consoles::console_action(&st, &ctx, &id, &name, &arg).await {
        return r;
    }
    match name.as_str() {
        "lock" => {
            let reason = arg
                .get("locked_reason")
                .and_then(|r| r.as_str())
                .map(str::to_string);
            c.server_lock(&ctx, &id, reason).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "unlock" => {
            c.server_unlock(&ctx, &id).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-getConsoleOutput" => {
            let length = match arg.get("length") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => n.as_i64(),
                Some(Value::String(s)) => Some(s.parse::<i64>().map_err(|_| {
                    Error::bad_request(format!(
                        "Invalid input for field/attribute length. Value: {s}."
                    ))
                })?),
                Some(o) => {
                    return Err(Error::bad_request(format!(
                        "Invalid input for field/attribute length. Value: {o}."
                    ))
                    .into())
                }
            };
            let output = c.console_output(&ctx, &id, length).await?;
            Ok(Json(json!({"output": output})).into_response())
        }
        "addSecurityGroup"
        | "removeSecurityGroup"
        | "changePassword"
        | "trigger_crash_dump"
        | "restore"
        | "forceDelete"
        | "os-resetState"
        | "injectNetworkInfo"
        | "resetNetwork"
        | "createBackup" => {
            // Make sure the caller may see the server before saying what is missing.
            c.server_get(&ctx, &id).await?;
            Err(Error::conflict(format!(
                "The '{name}' action is not available in this cloud yet."
            ))
            .into())
        }
        _ => Err(Error::bad_request(format!("There is no such action: {name}")).into()),
    }
}
