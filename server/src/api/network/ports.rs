//! /v2.0/ports.

use ferrostack_network::{FixedIpRequest, NewPort, PortUpdate};
use ferrostack_types::network::{AddressPair, Port};

use super::prelude::*;
use crate::api::table::{Access::*, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/v2.0/ports", Token, port_list)
        // Anyone may plug a port into a network it can use (its own, or a shared one).
        .post("/v2.0/ports", Create, port_create)
        .get("/v2.0/ports/{id}", ProjectRead, port_show)
        .put("/v2.0/ports/{id}", ProjectWrite, port_update)
        .delete("/v2.0/ports/{id}", ProjectWrite, port_delete)
}

pub fn port_view(p: &Port) -> Value {
    json!({
        "id": p.id, "name": p.name, "description": p.description, "network_id": p.network_id,
        "project_id": p.project_id, "tenant_id": p.project_id,
        "mac_address": p.mac_address, "admin_state_up": p.admin_state_up, "status": p.status,
        "device_id": p.device_id, "device_owner": p.device_owner,
        "fixed_ips": p.fixed_ips, "security_groups": p.security_groups,
        "port_security_enabled": p.port_security_enabled,
        "allowed_address_pairs": p.allowed_address_pairs,
        "binding:host_id": p.binding_host_id,
        "binding:vif_type": if p.binding_host_id.is_empty() { "unbound" } else { "bridge" },
        "binding:vnic_type": "normal", "binding:profile": {}, "binding:vif_details": {},
        "extra_dhcp_opts": [], "dns_name": "", "dns_assignment": [], "qos_policy_id": null,
        "ip_allocation": "immediate", "propagate_uplink_status": false,
        "tags": p.tags, "revision_number": p.revision_number,
        "created_at": neutron_time(&p.created_at), "updated_at": neutron_time(&p.updated_at),
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedIpBody {
    subnet_id: Option<String>,
    ip_address: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PairBody {
    ip_address: String,
    #[serde(default)]
    mac_address: Option<String>,
}

fn fixed_ips(b: &mut Body) -> Result<Option<Vec<FixedIpRequest>>, Error> {
    Ok(b.objects::<FixedIpBody>("fixed_ips")?.map(|l| {
        l.into_iter()
            .map(|f| FixedIpRequest {
                subnet_id: f.subnet_id,
                ip_address: f.ip_address,
            })
            .collect()
    }))
}

fn pairs(b: &mut Body) -> Result<Option<Vec<AddressPair>>, Error> {
    Ok(b.objects::<PairBody>("allowed_address_pairs")?.map(|l| {
        l.into_iter()
            .map(|p| AddressPair {
                ip_address: p.ip_address,
                mac_address: p.mac_address.unwrap_or_default(),
            })
            .collect()
    }))
}

/// Attributes clients send that are accepted and not kept.
const IGNORED: &[&str] = &[
    "binding:vnic_type",
    "binding:profile",
    "dns_name",
    "extra_dhcp_opts",
    "qos_policy_id",
    "propagate_uplink_status",
];

async fn port_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    body: axum::body::Bytes,
) -> NeutronResult<Response> {
    let mut b = Body::parse(&body, "port")?;
    let new = NewPort {
        network_id: b.string("network_id")?.ok_or_else(|| {
            Error::bad_request(
                "Failed to parse request. Required attribute 'network_id' not specified",
            )
        })?,
        name: b.string("name")?.unwrap_or_default(),
        description: b.string("description")?.unwrap_or_default(),
        project_id: b.project()?,
        admin_state_up: b.boolean("admin_state_up")?,
        mac_address: b.string("mac_address")?,
        fixed_ips: fixed_ips(&mut b)?,
        device_id: b.string("device_id")?.unwrap_or_default(),
        device_owner: b.string("device_owner")?.unwrap_or_default(),
        binding_host_id: b.string("binding:host_id")?.unwrap_or_default(),
        security_groups: b.strings("security_groups")?,
        port_security_enabled: b.boolean("port_security_enabled")?,
        allowed_address_pairs: pairs(&mut b)?.unwrap_or_default(),
        tags: b.strings("tags")?.unwrap_or_default(),
    };
    b.ignore(IGNORED);
    b.finish()?;
    let p = s.services.network.port_create(&ctx, new).await?;
    Ok(created("port", port_view(&p)))
}

async fn port_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let p = s.services.network.port_get(&ctx, &id).await?;
    Ok(one_reply(
        "port",
        port_view(&p),
        &ListParams::fields_of(q.as_deref()),
    ))
}

async fn port_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let p = ListParams::read(q.as_deref())?;
    let (list, more) = s.services.network.port_list(&ctx, p.query.clone()).await?;
    let views = list.iter().map(|n| (n.id.clone(), port_view(n))).collect();
    Ok(list_reply(&s, "ports", "ports", views, more, &p))
}

async fn port_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NeutronResult<Json<Value>> {
    let mut b = Body::parse(&body, "port")?;
    let u = PortUpdate {
        name: b.string("name")?,
        description: b.string("description")?,
        admin_state_up: b.boolean("admin_state_up")?,
        mac_address: b.string("mac_address")?,
        fixed_ips: fixed_ips(&mut b)?,
        device_id: b.string("device_id")?,
        device_owner: b.string("device_owner")?,
        binding_host_id: b.string("binding:host_id")?,
        security_groups: b.strings("security_groups")?,
        port_security_enabled: b.boolean("port_security_enabled")?,
        allowed_address_pairs: pairs(&mut b)?,
    };
    b.ignore(IGNORED);
    b.finish()?;
    let p = s.services.network.port_update(&ctx, &id, u).await?;
    Ok(one_reply("port", port_view(&p), &[]))
}

async fn port_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    s.services.network.port_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
