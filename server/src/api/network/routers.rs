//! /v2.0/routers (with add/remove_router_interface) and /v2.0/floatingips.

use ferrostack_network::{
    FixedIpRequest, FloatingIpUpdate, GatewayRequest, InterfaceRequest, NewFloatingIp, NewRouter,
    RouterUpdate,
};
use ferrostack_types::network::{FloatingIp, Router};

use super::prelude::*;
use crate::api::table::{Access::*, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/v2.0/routers", Token, router_list)
        .post("/v2.0/routers", Create, router_create)
        .get("/v2.0/routers/{id}", ProjectRead, router_show)
        .put("/v2.0/routers/{id}", ProjectWrite, router_update)
        .delete("/v2.0/routers/{id}", ProjectWrite, router_delete)
        .put(
            "/v2.0/routers/{id}/add_router_interface",
            ProjectWrite,
            add_interface,
        )
        .put(
            "/v2.0/routers/{id}/remove_router_interface",
            ProjectWrite,
            remove_interface,
        )
        .get("/v2.0/floatingips", Token, fip_list)
        .post("/v2.0/floatingips", Create, fip_create)
        .get("/v2.0/floatingips/{id}", ProjectRead, fip_show)
        .put("/v2.0/floatingips/{id}", ProjectWrite, fip_update)
        .delete("/v2.0/floatingips/{id}", ProjectWrite, fip_delete)
}

pub fn router_view(r: &Router) -> Value {
    let gateway = r.external_gateway_info.as_ref().map(|g| {
        json!({"network_id": g.network_id, "enable_snat": g.enable_snat,
               "external_fixed_ips": g.external_fixed_ips})
    });
    json!({
        "id": r.id, "name": r.name, "description": r.description,
        "project_id": r.project_id, "tenant_id": r.project_id,
        "admin_state_up": r.admin_state_up, "status": r.status,
        "external_gateway_info": gateway, "routes": [], "distributed": false, "ha": false,
        "availability_zone_hints": [], "availability_zones": ["nova"], "flavor_id": null,
        "tags": r.tags, "revision_number": r.revision_number,
        "ferrostack:note": r.note,
        "created_at": neutron_time(&r.created_at), "updated_at": neutron_time(&r.updated_at),
    })
}

pub fn fip_view(f: &FloatingIp) -> Value {
    json!({
        "id": f.id, "description": f.description,
        "project_id": f.project_id, "tenant_id": f.project_id,
        "floating_network_id": f.floating_network_id, "floating_ip_address": f.floating_ip_address,
        "port_id": f.port_id, "fixed_ip_address": f.fixed_ip_address, "router_id": f.router_id,
        "status": f.status, "port_details": null, "port_forwardings": [], "dns_name": "", "dns_domain": "",
        "qos_policy_id": null, "tags": f.tags, "revision_number": f.revision_number,
        "ferrostack:note": f.note,
        "created_at": neutron_time(&f.created_at), "updated_at": neutron_time(&f.updated_at),
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GatewayBody {
    network_id: Option<String>,
    enable_snat: Option<bool>,
    external_fixed_ips: Option<Vec<FixedIpBody>>,
    #[serde(default)]
    qos_policy_id: Option<Value>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedIpBody {
    subnet_id: Option<String>,
    ip_address: Option<String>,
}

/// `external_gateway_info`: absent → None; null or `{}` → Some(None) (remove).
fn gateway(b: &mut Body) -> Result<Option<Option<GatewayRequest>>, Error> {
    let Some(v) = b.take("external_gateway_info") else {
        return Ok(None);
    };
    if v.is_null() || v.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(Some(None));
    }
    let g: GatewayBody = serde_json::from_value(v.clone()).map_err(|e| {
        Error::bad_request(format!(
            "Invalid input for external_gateway_info. Reason: {e} in {v}."
        ))
    })?;
    let _ = g.qos_policy_id;
    let network_id = g.network_id.ok_or_else(|| {
        Error::bad_request(
            "Invalid input for external_gateway_info. Reason: network_id is required.",
        )
    })?;
    Ok(Some(Some(GatewayRequest {
        network_id,
        enable_snat: g.enable_snat,
        fixed_ips: g.external_fixed_ips.map(|l| {
            l.into_iter()
                .map(|f| FixedIpRequest {
                    subnet_id: f.subnet_id,
                    ip_address: f.ip_address,
                })
                .collect()
        }),
    })))
}

const ROUTER_IGNORED: &[&str] = &["availability_zone_hints", "distributed", "ha", "flavor_id"];

async fn router_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    body: axum::body::Bytes,
) -> NeutronResult<Response> {
    let mut b = Body::parse(&body, "router")?;
    let new = NewRouter {
        name: b.string("name")?.unwrap_or_default(),
        description: b.string("description")?.unwrap_or_default(),
        project_id: b.project()?,
        admin_state_up: b.boolean("admin_state_up")?,
        gateway: gateway(&mut b)?.flatten(),
        tags: b.strings("tags")?.unwrap_or_default(),
    };
    b.ignore(ROUTER_IGNORED);
    b.finish()?;
    let r = s.services.network.router_create(&ctx, new).await?;
    Ok(created("router", router_view(&r)))
}

async fn router_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let r = s.services.network.router_get(&ctx, &id).await?;
    Ok(one_reply(
        "router",
        router_view(&r),
        &ListParams::fields_of(q.as_deref()),
    ))
}

async fn router_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let p = ListParams::read(q.as_deref())?;
    let (list, more) = s
        .services
        .network
        .router_list(&ctx, p.query.clone())
        .await?;
    let views = list
        .iter()
        .map(|r| (r.id.clone(), router_view(r)))
        .collect();
    Ok(list_reply(&s, "routers", "routers", views, more, &p))
}

async fn router_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NeutronResult<Json<Value>> {
    let mut b = Body::parse(&body, "router")?;
    let u = RouterUpdate {
        name: b.string("name")?,
        description: b.string("description")?,
        admin_state_up: b.boolean("admin_state_up")?,
        gateway: gateway(&mut b)?,
    };
    if b.take("routes")
        .is_some_and(|r| r.as_array().is_none_or(|a| !a.is_empty()))
    {
        return Err(Error::bad_request(
            "Invalid input for routes. Reason: extra routes are not offered (extraroute).",
        )
        .into());
    }
    b.ignore(ROUTER_IGNORED);
    b.finish()?;
    let r = s.services.network.router_update(&ctx, &id, u).await?;
    Ok(one_reply("router", router_view(&r), &[]))
}

async fn router_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    s.services.network.router_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{"subnet_id": ...}` or `{"port_id": ...}` (exactly one).
fn interface_request(body: &[u8]) -> Result<InterfaceRequest, Error> {
    let mut m: Map<String, Value> = crate::api::extract::parse_json(body)?;
    let mut text = |k: &str| match m.remove(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(Error::bad_request(format!(
            "Invalid input for {k}. Reason: '{v}' is not a valid string."
        ))),
    };
    let (subnet, port) = (text("subnet_id")?, text("port_id")?);
    if !m.is_empty() {
        return Err(Error::bad_request(format!(
            "Unrecognized attribute(s) '{}'.",
            m.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    match (subnet, port) {
        (Some(s), None) => Ok(InterfaceRequest::Subnet(s)),
        (None, Some(p)) => Ok(InterfaceRequest::Port(p)),
        (Some(_), Some(_)) => Err(Error::bad_request(
            "Bad router request: Cannot specify both subnet-id and port-id.",
        )),
        (None, None) => Err(Error::bad_request(
            "Bad router request: Either subnet_id or port_id must be specified.",
        )),
    }
}

fn interface_view(
    router: &str,
    project: &str,
    i: &ferrostack_types::network::RouterInterface,
) -> Value {
    json!({
        "id": router, "tenant_id": project, "project_id": project,
        "port_id": i.port_id, "subnet_id": i.subnet_id, "subnet_ids": [i.subnet_id],
        "network_id": i.network_id,
    })
}

async fn add_interface(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NeutronResult<Json<Value>> {
    let req = interface_request(&body)?;
    let i = s
        .services
        .network
        .router_add_interface(&ctx, &id, req)
        .await?;
    let r = s.services.network.router_get(&ctx, &id).await?;
    Ok(Json(interface_view(&id, &r.project_id, &i)))
}

async fn remove_interface(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NeutronResult<Json<Value>> {
    let req = interface_request(&body)?;
    let r = s.services.network.router_get(&ctx, &id).await?;
    let i = s
        .services
        .network
        .router_remove_interface(&ctx, &id, req)
        .await?;
    Ok(Json(interface_view(&id, &r.project_id, &i)))
}

async fn fip_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    body: axum::body::Bytes,
) -> NeutronResult<Response> {
    let mut b = Body::parse(&body, "floatingip")?;
    let new = NewFloatingIp {
        floating_network_id: b.string("floating_network_id")?.ok_or_else(|| {
            Error::bad_request(
                "Failed to parse request. Required attribute 'floating_network_id' not specified",
            )
        })?,
        project_id: b.project()?,
        floating_ip_address: b.string("floating_ip_address")?,
        subnet_id: b.string("subnet_id")?,
        port_id: b.nullable("port_id")?.flatten(),
        fixed_ip_address: b.nullable("fixed_ip_address")?.flatten(),
        description: b.string("description")?.unwrap_or_default(),
        tags: b.strings("tags")?.unwrap_or_default(),
    };
    b.ignore(&["dns_name", "dns_domain", "qos_policy_id"]);
    b.finish()?;
    let f = s.services.network.floating_ip_create(&ctx, new).await?;
    Ok(created("floatingip", fip_view(&f)))
}

async fn fip_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let f = s.services.network.floating_ip_get(&ctx, &id).await?;
    Ok(one_reply(
        "floatingip",
        fip_view(&f),
        &ListParams::fields_of(q.as_deref()),
    ))
}

async fn fip_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let p = ListParams::read(q.as_deref())?;
    let (list, more) = s
        .services
        .network
        .floating_ip_list(&ctx, p.query.clone())
        .await?;
    let views = list.iter().map(|f| (f.id.clone(), fip_view(f))).collect();
    Ok(list_reply(
        &s,
        "floatingips",
        "floatingips",
        views,
        more,
        &p,
    ))
}

async fn fip_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NeutronResult<Json<Value>> {
    let mut b = Body::parse(&body, "floatingip")?;
    let u = FloatingIpUpdate {
        port_id: b.nullable("port_id")?,
        fixed_ip_address: b.nullable("fixed_ip_address")?.flatten(),
        description: b.string("description")?,
    };
    b.ignore(&["qos_policy_id"]);
    b.finish()?;
    let f = s.services.network.floating_ip_update(&ctx, &id, u).await?;
    Ok(one_reply("floatingip", fip_view(&f), &[]))
}

async fn fip_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    s.services.network.floating_ip_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
