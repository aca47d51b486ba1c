//! Key pairs, limits, availability zones, hypervisors, services and quota sets.

use ferrostack_types::compute::{Host, Keypair};

use super::fields::{flag, text};
use super::prelude::*;
use super::views::nova_time;
use super::{body_object, inner};

// ---- key pairs

fn keypair_view(k: &Keypair, mv: Mv, full: bool) -> Value {
    let mut v = json!({"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint});
    if mv.at_least(2) {
        v["type"] = json!(k.key_type);
    }
    if full {
        v["user_id"] = json!(k.user_id);
        v["created_at"] = json!(format!(
            "{}.000000",
            &k.created_at[..19.min(k.created_at.len())]
        ));
        v["deleted"] = json!(false);
        v["deleted_at"] = Value::Null;
        v["updated_at"] = Value::Null;
        v["id"] = json!(0);
    }
    if let Some(p) = &k.private_key {
        v["private_key"] = json!(p);
    }
    v
}

fn user_param(q: Option<&str>) -> Option<String> {
    Filters::pairs(q)
        .into_iter()
        .find(|(k, _)| k == "user_id")
        .map(|(_, v)| v)
}

pub(crate) async fn keypair_list(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    RawQuery(q): RawQuery,
) -> NResult<Json<Value>> {
    let user = user_param(q.as_deref()).filter(|_| mv.at_least(10));
    let all = st
        .services
        .compute
        .keypair_list(&ctx, user.as_deref())
        .await?;
    Ok(Json(
        json!({"keypairs": all.iter().map(|k| json!({"keypair": keypair_view(k, mv, false)})).collect::<Vec<_>>()}),
    ))
}

pub(crate) async fn keypair_create(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    body: axum::body::Bytes,
) -> NResult<Response> {
    let mut m = inner(body_object(&body)?, "keypair")?;
    let mut s = |k: &str| text(&mut m, k);
    let name = s("name")?.ok_or_else(|| {
        NovaError(Error::bad_request(
            "Invalid input for field/attribute keypair. 'name' is a required property",
        ))
    })?;
    let public_key = s("public_key")?;
    if public_key.is_none() && mv.at_least(92) {
        return Err(Error::bad_request("Invalid input for field/attribute keypair. 'public_key' is a required property (since 2.92 the cloud no longer generates key pairs)").into());
    }
    let key_type = if mv.at_least(2) { s("type")? } else { None };
    let user = if mv.at_least(10) { s("user_id")? } else { None };
    let k = st
        .services
        .compute
        .keypair_create(&ctx, &name, public_key, key_type, user.as_deref())
        .await?;
    let status = if mv.at_least(2) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({"keypair": keypair_view(&k, mv, true)}))).into_response())
}

pub(crate) async fn keypair_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> NResult<Json<Value>> {
    let user = user_param(q.as_deref()).filter(|_| mv.at_least(10));
    let k = st
        .services
        .compute
        .keypair_get(&ctx, &name, user.as_deref())
        .await?;
    Ok(Json(json!({"keypair": keypair_view(&k, mv, true)})))
}

pub(crate) async fn keypair_delete(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> NResult<StatusCode> {
    let user = user_param(q.as_deref()).filter(|_| mv.at_least(10));
    st.services
        .compute
        .keypair_delete(&ctx, &name, user.as_deref())
        .await?;
    Ok(if mv.at_least(2) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::ACCEPTED
    })
}

// ---- limits

pub(crate) async fn limits(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    RawQuery(q): RawQuery,
) -> NResult<Json<Value>> {
    let asked = Filters::pairs(q.as_deref())
        .into_iter()
        .find(|(k, _)| k == "tenant_id")
        .map(|(_, v)| v);
    let project = match asked {
        Some(p) if ctx.is_admin() => p,
        _ => ctx.project_id().unwrap_or_default().to_string(),
    };
    let c = &st.services.compute;
    let q = c.quota_get(&ctx, &project).await?;
    let used = c.quota_usage(&ctx, &project).await?;
    let mut abs = json!({
        "maxTotalInstances": q.get("instances"), "maxTotalCores": q.get("cores"), "maxTotalRAMSize": q.get("ram"),
        "maxServerMeta": q.get("metadata_items"), "maxImageMeta": q.get("metadata_items"),
        "maxTotalKeypairs": q.get("key_pairs"), "maxServerGroups": q.get("server_groups"),
        "maxServerGroupMembers": q.get("server_group_members"),
        "totalInstancesUsed": used.get("instances"), "totalCoresUsed": used.get("cores"),
        "totalRAMUsed": used.get("ram"), "totalServerGroupsUsed": used.get("server_groups"),
    });
    if !mv.at_least(57) {
        abs["maxPersonality"] = json!(q.get("injected_files"));
        abs["maxPersonalitySize"] = json!(q.get("injected_file_content_bytes"));
    }
    if !mv.at_least(36) {
        for k in [
            "maxSecurityGroups",
            "maxSecurityGroupRules",
            "maxTotalFloatingIps",
        ] {
            abs[k] = json!(-1);
        }
        abs["totalFloatingIpsUsed"] = json!(0);
        abs["totalSecurityGroupsUsed"] = json!(0);
    }
    Ok(Json(json!({"limits": {"rate": [], "absolute": abs}})))
}

// ---- availability zones

pub(crate) async fn zones(State(st): State<AppState>, Authed(ctx): Authed) -> NResult<Json<Value>> {
    let zones = st.services.compute.availability_zones(&ctx).await?;
    Ok(Json(
        json!({"availabilityZoneInfo": zones.into_iter().map(|(z, up)| json!({"zoneName": z, "zoneState": {"available": up}, "hosts": null})).collect::<Vec<_>>()}),
    ))
}

pub(crate) async fn zones_detail(
    State(st): State<AppState>,
    Authed(ctx): Authed,
) -> NResult<Json<Value>> {
    let hosts = st.services.compute.host_list(&ctx).await?;
    let zones = st.services.compute.availability_zones(&ctx).await?;
    let info: Vec<Value> = zones
        .into_iter()
        .map(|(z, up)| {
            let mut hs = Map::new();
            for h in hosts.iter().filter(|h| h.availability_zone == z) {
                hs.insert(h.name.clone(), json!({"nova-compute": {"available": h.enabled, "active": h.state == "up", "updated_at": nova_time(&h.updated_at)}}));
            }
            json!({"zoneName": z, "zoneState": {"available": up}, "hosts": hs})
        })
        .collect();
    Ok(Json(json!({"availabilityZoneInfo": info})))
}

// ---- hypervisors and services

/// The usage figures Nova reports per hypervisor before 2.88 (and sums in
/// `os-hypervisors/statistics`).
fn usage(h: &Host) -> [(&'static str, i64); 11] {
    let (_, ram, disk) = ferrostack_compute::scheduler::free(h);
    [
        ("vcpus", h.vcpus),
        ("memory_mb", h.memory_mb),
        ("local_gb", h.disk_gb),
        ("vcpus_used", h.vcpus_used),
        ("memory_mb_used", h.memory_mb_used),
        ("local_gb_used", h.disk_gb_used),
        ("free_ram_mb", ram),
        ("free_disk_gb", disk),
        ("current_workload", 0),
        ("running_vms", h.running_vms),
        ("disk_available_least", disk),
    ]
}

fn hypervisor_view(h: &Host, mv: Mv, detail: bool) -> Value {
    let mut v = json!({
        "id": h.id, "hypervisor_hostname": h.name,
        "state": h.state, "status": if h.enabled { "enabled" } else { "disabled" },
    });
    if detail {
        v["hypervisor_type"] = json!(h.hypervisor_type);
        v["hypervisor_version"] = json!(h.hypervisor_version);
        v["host_ip"] = json!("127.0.0.1");
        v["service"] = json!({"id": h.id, "host": h.name, "disabled_reason": h.disabled_reason});
        if mv.at_least(88) {
            v["uptime"] = Value::Null;
        } else {
            for (k, val) in usage(h) {
                v[k] = json!(val);
            }
            // A JSON string before 2.28, an object since.
            let info = json!({"model": h.cpu_model, "arch": "x86_64", "vendor": "", "features": [], "topology": {"cores": h.vcpus, "threads": 1, "sockets": 1}});
            v["cpu_info"] = if mv.at_least(28) {
                info
            } else {
                Value::String(info.to_string())
            };
        }
    }
    v
}

pub(crate) async fn hypervisor_list(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
) -> NResult<Json<Value>> {
    let hosts = st.services.compute.host_list(&ctx).await?;
    Ok(Json(
        json!({"hypervisors": hosts.iter().map(|h| hypervisor_view(h, mv, false)).collect::<Vec<_>>()}),
    ))
}

pub(crate) async fn hypervisor_list_detail(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
) -> NResult<Json<Value>> {
    let hosts = st.services.compute.host_list(&ctx).await?;
    Ok(Json(
        json!({"hypervisors": hosts.iter().map(|h| hypervisor_view(h, mv, true)).collect::<Vec<_>>()}),
    ))
}

pub(crate) async fn hypervisor_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    let h = st.services.compute.host_get(&ctx, &id).await?;
    Ok(Json(json!({"hypervisor": hypervisor_view(&h, mv, true)})))
}

/// What `uptime` says on the host (Nova's libvirt driver runs it there): this machine's
/// for the local host; nothing for simulated and remote hosts.
pub(crate) async fn hypervisor_uptime(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    let h = st.services.compute.host_get(&ctx, &id).await?;
    if mv.at_least(88) {
        return Err(
            Error::not_found("resource", "os-hypervisors/{id}/uptime (removed in 2.88)").into(),
        );
    }
    let uptime = if h.uri.starts_with("qemu:///") {
        tokio::process::Command::new("uptime")
            .output()
            .await
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    } else {
        None
    };
    let mut v = hypervisor_view(&h, mv, false);
    v["uptime"] = json!(uptime);
    Ok(Json(json!({"hypervisor": v})))
}

pub(crate) async fn hypervisor_stats(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
) -> NResult<Json<Value>> {
    let hosts = st.services.compute.host_list(&ctx).await?;
    if mv.at_least(88) {
        return Err(
            Error::not_found("resource", "os-hypervisors/statistics (removed in 2.88)").into(),
        );
    }
    let mut totals = Map::new();
    totals.insert("count".into(), json!(hosts.len()));
    for h in &hosts {
        for (k, v) in usage(h) {
            let sum = totals.get(k).and_then(Value::as_i64).unwrap_or(0) + v;
            totals.insert(k.into(), json!(sum));
        }
    }
    Ok(Json(json!({"hypervisor_statistics": totals})))
}

/// Host aggregates cannot be made yet (zones are the hosts' own): the list is empty,
/// which is what `openstack hypervisor show` reads.
pub(crate) async fn aggregate_list(
    State(st): State<AppState>,
    Authed(ctx): Authed,
) -> NResult<Json<Value>> {
    st.services.compute.host_list(&ctx).await?;
    Ok(Json(json!({"aggregates": []})))
}

fn service_view(h: &Host) -> Value {
    json!({
        "id": h.id, "binary": "nova-compute", "host": h.name, "zone": h.availability_zone,
        "status": if h.enabled { "enabled" } else { "disabled" }, "state": h.state,
        "updated_at": nova_time(&h.updated_at), "disabled_reason": h.disabled_reason, "forced_down": h.forced_down,
    })
}

pub(crate) async fn service_list(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    RawQuery(q): RawQuery,
) -> NResult<Json<Value>> {
    let hosts = st.services.compute.host_list(&ctx).await?;
    let f = Filters::from_query(q.as_deref());
    let me = ferrostack_core::process::host_name();
    let mut services: Vec<Value> = ["nova-scheduler", "nova-conductor"]
        .iter()
        .map(|b| json!({"id": format!("control-{b}"), "binary": b, "host": me, "zone": "internal", "status": "enabled", "state": "up",
                        "updated_at": nova_time(&ferrostack_core::time::to_db(&ferrostack_core::time::now())), "disabled_reason": null, "forced_down": false}))
        .collect();
    services.extend(hosts.iter().map(service_view));
    services.retain(|s| {
        f.text("binary").is_none_or(|b| s["binary"] == b.as_str())
            && f.text("host").is_none_or(|h| s["host"] == h.as_str())
    });
    Ok(Json(json!({"services": services})))
}

pub(crate) async fn service_update(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let m = body_object(&body)?;
    let status = m.get("status").and_then(|v| v.as_str());
    let reason = m
        .get("disabled_reason")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let enabled = match status {
        Some("enabled") => true,
        Some("disabled") => false,
        Some(other) => return Err(Error::bad_request(format!("Invalid input for field/attribute status. Value: {other}. '{other}' is not one of ['enabled', 'disabled']")).into()),
        None => {
            let h = match m.get("forced_down") {
                Some(Value::Bool(down)) => {
                    st.services
                        .compute
                        .host_set_forced_down(&ctx, &id, *down)
                        .await?
                }
                Some(o) => return Err(Error::bad_request(format!("Invalid input for field/attribute forced_down. Value: {o}. {o} is not of type 'boolean'.")).into()),
                None => st.services.compute.host_get(&ctx, &id).await?,
            };
            return Ok(Json(json!({"service": service_view(&h)})));
        }
    };
    let h = st
        .services
        .compute
        .host_set_enabled(&ctx, &id, enabled, reason)
        .await?;
    Ok(Json(json!({"service": service_view(&h)})))
}

// ---- quota sets

fn quota_body(q: &ferrostack_compute::QuotaSet, mv: Mv) -> Map<String, Value> {
    let mut m = Map::new();
    for k in ferrostack_compute::QUOTA_RESOURCES {
        if k.starts_with("injected_") && mv.at_least(57) {
            continue;
        }
        m.insert(k.to_string(), json!(q.get(k)));
    }
    if !mv.at_least(36) {
        for k in [
            "fixed_ips",
            "floating_ips",
            "security_group_rules",
            "security_groups",
        ] {
            m.insert(k.into(), json!(-1));
        }
    }
    m
}

pub(crate) async fn quota_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(project): Path<String>,
) -> NResult<Json<Value>> {
    let q = st.services.compute.quota_get(&ctx, &project).await?;
    let mut m = quota_body(&q, mv);
    m.insert("id".into(), json!(project));
    Ok(Json(json!({"quota_set": m})))
}

pub(crate) async fn quota_detail(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(project): Path<String>,
) -> NResult<Json<Value>> {
    let c = &st.services.compute;
    let q = c.quota_get(&ctx, &project).await?;
    let used = c.quota_usage(&ctx, &project).await?;
    let mut m = Map::new();
    for (k, limit) in quota_body(&q, mv) {
        m.insert(
            k.clone(),
            json!({"limit": limit, "in_use": used.get(&k).copied().unwrap_or(0), "reserved": 0}),
        );
    }
    m.insert("id".into(), json!(project));
    Ok(Json(json!({"quota_set": m})))
}

pub(crate) async fn quota_defaults(
    State(st): State<AppState>,
    Authed(_ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(project): Path<String>,
) -> NResult<Json<Value>> {
    let mut m = quota_body(&st.services.compute.quota_defaults(), mv);
    m.insert("id".into(), json!(project));
    Ok(Json(json!({"quota_set": m})))
}

pub(crate) async fn quota_update(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(project): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let mut m = inner(body_object(&body)?, "quota_set")?;
    let force = flag(&mut m, "force")?.unwrap_or(false);
    let mut limits = BTreeMap::new();
    for (k, v) in m {
        let n = match &v {
            Value::Number(n) if n.is_i64() => n.as_i64().unwrap_or(0),
            Value::String(s) if s.parse::<i64>().is_ok() => s.parse().unwrap_or(0),
            o => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute {k}. Value: {o}. It is not an integer."
                ))
                .into())
            }
        };
        // Nova still accepts (and ignores) the network quotas old clients send.
        if [
            "fixed_ips",
            "floating_ips",
            "security_group_rules",
            "security_groups",
            "networks",
        ]
        .contains(&k.as_str())
        {
            continue;
        }
        limits.insert(k, n);
    }
    let q = st
        .services
        .compute
        .quota_update(&ctx, &project, limits, force)
        .await?;
    Ok(Json(json!({"quota_set": quota_body(&q, mv)})))
}

pub(crate) async fn quota_delete(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(project): Path<String>,
) -> NResult<StatusCode> {
    st.services.compute.quota_delete(&ctx, &project).await?;
    Ok(StatusCode::ACCEPTED)
}
