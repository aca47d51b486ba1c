//! The server actions that change what a server is or where it runs (resize with
//! confirm and revert, rebuild, rescue, shelve, createImage, cold and live migration,
//! evacuation), server groups, migrations, and a host forced down.

use ferrostack_compute::{Rebuild, ServerAction};
use ferrostack_types::compute::{Migration, ServerGroup};

use super::fields::{string_map, text};
use super::prelude::*;
use super::views::{nova_time, server_view};
use super::{base, body_object, inner};

/// The action's argument as an object (`null` and absent are an empty one).
fn args(arg: Value, name: &str) -> NResult<Map<String, Value>> {
    match arg {
        Value::Null => Ok(Map::new()),
        Value::Object(o) => Ok(o),
        other => Err(Error::bad_request(format!(
            "Invalid input for field/attribute {name}. Value: {other}. {other} is not of type 'object', 'null'."
        ))
        .into()),
    }
}

/// The last segment of an href, or the id.
fn reference(v: String) -> String {
    v.rsplit('/').next().unwrap_or(&v).to_string()
}

/// The actions this file handles.
const ACTIONS: &[&str] = &[
    "resize",
    "confirmResize",
    "revertResize",
    "migrate",
    "os-migrateLive",
    "evacuate",
    "rebuild",
    "rescue",
    "unrescue",
    "shelve",
    "shelveOffload",
    "unshelve",
    "createImage",
];

/// Handle `name` when it is one of this file's actions; `None` otherwise.
pub(crate) async fn move_action(
    st: &AppState,
    ctx: &Ctx,
    mv: Mv,
    id: &str,
    name: &str,
    arg: Value,
) -> Option<NResult<Response>> {
    if !ACTIONS.contains(&name) {
        return None;
    }
    let c = &st.services.compute;
    let accepted = || StatusCode::ACCEPTED.into_response();
    let r: NResult<Response> = async {
        Ok(match name {
            "resize" => {
                let mut a = args(arg, name)?;
                let flavor = text(&mut a, "flavorRef")?.ok_or_else(|| {
                    Error::bad_request("Invalid input for field/attribute resize. 'flavorRef' is a required property")
                })?;
                c.server_resize(ctx, id, &reference(flavor)).await?;
                accepted()
            }
            "confirmResize" => {
                c.server_confirm_resize(ctx, id).await?;
                StatusCode::NO_CONTENT.into_response()
            }
            "revertResize" => {
                c.server_revert_resize(ctx, id).await?;
                accepted()
            }
            "migrate" => {
                let mut a = args(arg, name)?;
                let host = if mv.at_least(56) { text(&mut a, "host")? } else { None };
                c.server_migrate(ctx, id, host).await?;
                accepted()
            }
            "os-migrateLive" => {
                let mut a = args(arg, name)?;
                let host = text(&mut a, "host")?;
                c.server_live_migrate(ctx, id, host).await?;
                accepted()
            }
            "evacuate" => {
                let mut a = args(arg, name)?;
                let host = text(&mut a, "host")?;
                c.server_evacuate(ctx, id, host).await?;
                // No adminPass: this cloud does not set guests' passwords.
                (StatusCode::OK, Json(json!({}))).into_response()
            }
            "rebuild" => {
                let mut a = args(arg, name)?;
                let image = text(&mut a, "imageRef")?.ok_or_else(|| {
                    Error::bad_request("Invalid input for field/attribute rebuild. 'imageRef' is a required property")
                })?;
                let description = match a.remove("description") {
                    None => None,
                    Some(Value::Null) => Some(None),
                    Some(Value::String(s)) => Some(Some(s)),
                    Some(o) => {
                        return Err(Error::bad_request(format!(
                            "Invalid input for field/attribute description. Value: {o}."
                        ))
                        .into())
                    }
                };
                let metadata = match a.remove("metadata") {
                    None => None,
                    Some(v) => Some(string_map(Some(v), "metadata")?),
                };
                let r = Rebuild {
                    image_id: reference(image),
                    name: text(&mut a, "name")?,
                    metadata,
                    description,
                };
                c.server_rebuild(ctx, id, r).await?;
                let v = c.server_get(ctx, id).await?;
                (StatusCode::ACCEPTED, Json(json!({"server": server_view(st, ctx, &v, mv)})))
                    .into_response()
            }
            "rescue" => {
                let mut a = args(arg, name)?;
                let image = text(&mut a, "rescue_image_ref")?.map(reference);
                c.server_rescue(ctx, id, image).await?;
                (StatusCode::OK, Json(json!({}))).into_response()
            }
            "unrescue" => {
                c.server_action(ctx, id, ServerAction::Unrescue).await?;
                accepted()
            }
            "shelve" => {
                c.server_action(ctx, id, ServerAction::Shelve).await?;
                accepted()
            }
            "shelveOffload" => {
                c.server_action(ctx, id, ServerAction::ShelveOffload).await?;
                accepted()
            }
            "unshelve" => {
                let mut a = args(arg, name)?;
                let az = if mv.at_least(77) { text(&mut a, "availability_zone")? } else { None };
                c.server_unshelve(ctx, id, az).await?;
                accepted()
            }
            "createImage" => {
                let mut a = args(arg, name)?;
                let image_name = text(&mut a, "name")?.ok_or_else(|| {
                    Error::bad_request("Invalid input for field/attribute createImage. 'name' is a required property")
                })?;
                let md = string_map(a.remove("metadata"), "metadata")?;
                let image = c.server_create_image(ctx, id, &image_name, md).await?;
                let location = format!("{}/image/v2/images/{image}", st.public_url);
                let mut resp = if mv.at_least(45) {
                    (StatusCode::ACCEPTED, Json(json!({"image_id": image}))).into_response()
                } else {
                    StatusCode::ACCEPTED.into_response()
                };
                if let Ok(v) = HeaderValue::from_str(&location) {
                    resp.headers_mut().insert(header::LOCATION, v);
                }
                resp
            }
            _ => return Err(Error::bad_request(format!("There is no such action: {name}")).into()),
        })
    }
    .await;
    Some(r)
}

// ---- server groups

fn group_view(g: &ServerGroup, mv: Mv) -> Value {
    let mut v = json!({"id": g.id, "name": g.name, "members": g.members});
    if mv.at_least(64) {
        v["policy"] = json!(g.policy);
        v["rules"] = match g.max_server_per_host {
            Some(m) => json!({"max_server_per_host": m}),
            None => json!({}),
        };
    } else {
        v["policies"] = json!([g.policy]);
        v["metadata"] = json!({});
    }
    if mv.at_least(13) {
        v["project_id"] = json!(g.project_id);
        v["user_id"] = json!(g.user_id);
    }
    v
}

pub(crate) async fn group_list(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    RawQuery(q): RawQuery,
) -> NResult<Json<Value>> {
    let f = Filters::from_query(q.as_deref());
    let all = f
        .text("all_projects")
        .is_some_and(|v| !matches!(v.as_str(), "0" | "false" | "False"));
    let groups = st.services.compute.group_list(&ctx, all).await?;
    Ok(Json(
        json!({"server_groups": groups.iter().map(|g| group_view(g, mv)).collect::<Vec<_>>()}),
    ))
}

pub(crate) async fn group_create(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let mut m = inner(body_object(&body)?, "server_group")?;
    let name = text(&mut m, "name")?.ok_or_else(|| {
        Error::bad_request(
            "Invalid input for field/attribute server_group. 'name' is a required property",
        )
    })?;
    let (policy, max) = if mv.at_least(64) {
        let policy = text(&mut m, "policy")?.ok_or_else(|| {
            Error::bad_request(
                "Invalid input for field/attribute server_group. 'policy' is a required property",
            )
        })?;
        let max = match m.remove("rules") {
            None | Some(Value::Null) => None,
            Some(Value::Object(mut r)) => {
                let v = r.remove("max_server_per_host");
                if let Some(k) = r.keys().next() {
                    return Err(Error::bad_request(format!("Invalid input for field/attribute rules. Additional properties are not allowed ('{k}' was unexpected)")).into());
                }
                match v {
                    None => None,
                    Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
                    Some(Value::String(s)) if s.parse::<i64>().is_ok() => s.parse().ok(),
                    Some(o) => return Err(Error::bad_request(format!("Invalid input for field/attribute max_server_per_host. Value: {o}. {o} is not an integer.")).into()),
                }
            }
            Some(o) => {
                return Err(Error::bad_request(format!(
                "Invalid input for field/attribute rules. Value: {o}. {o} is not of type 'object'."
            ))
                .into())
            }
        };
        (policy, max)
    } else {
        let list = match m.remove("policies") {
            Some(Value::Array(a)) => a,
            _ => return Err(Error::bad_request("Invalid input for field/attribute server_group. 'policies' is a required property (a list of one policy)").into()),
        };
        match list.as_slice() {
            [Value::String(p)] => (p.clone(), None),
            _ => {
                return Err(Error::bad_request(
                    "Invalid input for field/attribute policies: exactly one policy.",
                )
                .into())
            }
        }
    };
    let g = st
        .services
        .compute
        .group_create(&ctx, &name, &policy, max)
        .await?;
    Ok(Json(json!({"server_group": group_view(&g, mv)})))
}

pub(crate) async fn group_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    let g = st.services.compute.group_get(&ctx, &id).await?;
    Ok(Json(json!({"server_group": group_view(&g, mv)})))
}

pub(crate) async fn group_delete(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<StatusCode> {
    st.services.compute.group_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- migrations

fn migration_view(st: &AppState, m: &Migration, mv: Mv) -> Value {
    let mut v = json!({
        "id": m.id, "status": m.status, "instance_uuid": m.server_id,
        "source_compute": m.source_compute, "source_node": m.source_compute,
        "dest_compute": m.dest_compute, "dest_node": m.dest_compute, "dest_host": m.dest_compute,
        "old_instance_type_id": m.old_flavor.id, "new_instance_type_id": m.new_flavor.id,
        "source_region": "RegionOne", "dest_region": "RegionOne",
        "created_at": nova_time(&m.created_at), "updated_at": nova_time(&m.updated_at),
        "server_uuid": m.server_id,
        "disk_processed_bytes": 0, "disk_remaining_bytes": 0, "disk_total_bytes": 0,
        "memory_processed_bytes": 0, "memory_remaining_bytes": 0, "memory_total_bytes": 0,
    });
    if mv.at_least(23) {
        v["migration_type"] = json!(m.migration_type);
        v["links"] = json!([{"rel": "self", "href": format!("{}/v2.1/servers/{}/migrations/{}", base(st), m.server_id, m.id)}]);
    }
    if mv.at_least(59) {
        v["uuid"] = json!(m.uuid);
    }
    if mv.at_least(80) {
        v["project_id"] = json!(m.project_id);
        v["user_id"] = json!(m.user_id);
    }
    v
}

pub(crate) async fn migration_list(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    RawQuery(q): RawQuery,
) -> NResult<Json<Value>> {
    let f = Filters::from_query(q.as_deref());
    let mut list = st.services.compute.migrations(&ctx, None).await?;
    list.retain(|m| {
        f.text("instance_uuid").is_none_or(|i| m.server_id == i)
            && f.text("status").is_none_or(|s| m.status == s)
            && f.text("migration_type")
                .is_none_or(|t| m.migration_type == t)
            && f.text("source_compute")
                .is_none_or(|h| m.source_compute.as_deref() == Some(h.as_str()))
    });
    Ok(Json(
        json!({"migrations": list.iter().map(|m| migration_view(&st, m, mv)).collect::<Vec<_>>()}),
    ))
}

pub(crate) async fn server_migrations(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    let mut list = st.services.compute.migrations(&ctx, Some(&id)).await?;
    // Nova lists a server's migrations in progress only.
    list.retain(|m| {
        matches!(
            m.status.as_str(),
            "pre-migrating" | "migrating" | "running" | "finished"
        )
    });
    Ok(Json(
        json!({"migrations": list.iter().map(|m| migration_view(&st, m, mv)).collect::<Vec<_>>()}),
    ))
}

pub(crate) async fn server_migration_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path((id, mid)): Path<(String, String)>,
) -> NResult<Json<Value>> {
    let list = st.services.compute.migrations(&ctx, Some(&id)).await?;
    let m = list
        .iter()
        .find(|m| m.id.to_string() == mid)
        .ok_or_else(|| Error::not_found("migration", &mid))?;
    Ok(Json(json!({"migration": migration_view(&st, m, mv)})))
}

// ---- a host forced down (os-services, 2.11 and 2.53)

pub(crate) async fn service_force_down(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let m = body_object(&body)?;
    let host = m.get("host").and_then(|v| v.as_str()).ok_or_else(|| {
        Error::bad_request("Invalid input for field/attribute host. 'host' is a required property")
    })?;
    let down = match m.get("forced_down") {
        Some(Value::Bool(b)) => *b,
        _ => {
            return Err(Error::bad_request(
                "Invalid input for field/attribute forced_down: a boolean.",
            )
            .into())
        }
    };
    let h = st
        .services
        .compute
        .host_set_forced_down(&ctx, host, down)
        .await?;
    Ok(Json(
        json!({"service": {"host": h.name, "binary": "nova-compute", "forced_down": h.forced_down}}),
    ))
}
