//! /v2.0/networks and /v2.0/subnets.

use ferrostack_network::subnets::Gateway;
use ferrostack_network::{NetworkUpdate, NewNetwork, NewSubnet, SubnetUpdate};
use ferrostack_types::network::{Network, Subnet};

use super::prelude::*;
use crate::api::table::{Access::*, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/v2.0/networks", Token, network_list)
        .post("/v2.0/networks", Create, network_create)
        .get("/v2.0/networks/{id}", ProjectRead, network_show)
        .put("/v2.0/networks/{id}", ProjectWrite, network_update)
        .delete("/v2.0/networks/{id}", ProjectWrite, network_delete)
        .get("/v2.0/subnets", Token, subnet_list)
        // A subnet is made inside a network its owner holds.
        .post("/v2.0/subnets", ProjectWrite, subnet_create)
        .get("/v2.0/subnets/{id}", ProjectRead, subnet_show)
        .put("/v2.0/subnets/{id}", ProjectWrite, subnet_update)
        .delete("/v2.0/subnets/{id}", ProjectWrite, subnet_delete)
}

pub fn network_view(n: &Network) -> Value {
    json!({
        "id": n.id, "name": n.name, "description": n.description,
        "project_id": n.project_id, "tenant_id": n.project_id,
        "admin_state_up": n.admin_state_up, "status": n.status, "shared": n.shared,
        "router:external": n.external, "mtu": n.mtu, "port_security_enabled": n.port_security_enabled,
        "subnets": n.subnets, "tags": n.tags,
        "availability_zone_hints": [], "availability_zones": ["nova"],
        "ipv4_address_scope": null, "ipv6_address_scope": null, "is_default": false,
        "l2_adjacency": true, "qos_policy_id": null, "dns_domain": "",
        "provider:network_type": if n.physical_network.is_some() { "flat" } else { "local" },
        "provider:physical_network": n.physical_network, "provider:segmentation_id": null,
        "revision_number": n.revision_number,
        "created_at": neutron_time(&n.created_at), "updated_at": neutron_time(&n.updated_at),
    })
}

pub fn subnet_view(s: &Subnet) -> Value {
    json!({
        "id": s.id, "name": s.name, "description": s.description, "network_id": s.network_id,
        "project_id": s.project_id, "tenant_id": s.project_id,
        "ip_version": s.ip_version, "cidr": s.cidr, "gateway_ip": s.gateway_ip,
        "enable_dhcp": s.enable_dhcp, "dns_nameservers": s.dns_nameservers,
        "host_routes": s.host_routes, "allocation_pools": s.allocation_pools,
        "ipv6_ra_mode": s.ipv6_ra_mode, "ipv6_address_mode": s.ipv6_address_mode,
        "subnetpool_id": null, "segment_id": null, "service_types": [], "dns_publish_fixed_ip": false,
        "tags": s.tags, "revision_number": s.revision_number,
        "created_at": neutron_time(&s.created_at), "updated_at": neutron_time(&s.updated_at),
    })
}

/// What network create and update share (and, on create, the physical network).
fn network_fields(b: &mut Body) -> Result<(NetworkUpdate, Option<String>), Error> {
    let u = NetworkUpdate {
        name: b.string("name")?,
        description: b.string("description")?,
        admin_state_up: b.boolean("admin_state_up")?,
        shared: b.boolean("shared")?,
        external: b.boolean("router:external")?,
        mtu: b.int("mtu")?,
        port_security_enabled: b.boolean("port_security_enabled")?,
    };
    // Flat external networks on a mapped bridge and local tenant networks; one zone,
    // no QoS or DNS domains (accepted and not kept).
    if let Some(Value::String(t)) = b.take("provider:network_type") {
        if t != "local" && t != "flat" {
            return Err(Error::bad_request(format!(
                "Invalid input for provider:network_type. Reason: '{t}' networks are not offered (flat and local only)."
            )));
        }
    }
    let physnet = b.string("provider:physical_network")?;
    b.ignore(&[
        "availability_zone_hints",
        "provider:segmentation_id",
        "is_default",
        "dns_domain",
        "qos_policy_id",
    ]);
    Ok((u, physnet))
}

async fn network_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    body: axum::body::Bytes,
) -> NeutronResult<Response> {
    let mut b = Body::parse(&body, "network")?;
    let project_id = b.project()?;
    let tags = b.strings("tags")?.unwrap_or_default();
    let (u, physical_network) = network_fields(&mut b)?;
    b.finish()?;
    let n = s
        .services
        .network
        .network_create(
            &ctx,
            NewNetwork {
                name: u.name.unwrap_or_default(),
                description: u.description.unwrap_or_default(),
                project_id,
                admin_state_up: u.admin_state_up,
                shared: u.shared.unwrap_or(false),
                external: u.external.unwrap_or(false),
                mtu: u.mtu,
                port_security_enabled: u.port_security_enabled,
                physical_network,
                tags,
            },
        )
        .await?;
    Ok(created("network", network_view(&n)))
}

async fn network_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let n = s.services.network.network_get(&ctx, &id).await?;
    Ok(one_reply(
        "network",
        network_view(&n),
        &ListParams::fields_of(q.as_deref()),
    ))
}

async fn network_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let p = ListParams::read(q.as_deref())?;
    let (list, more) = s
        .services
        .network
        .network_list(&ctx, p.query.clone())
        .await?;
    let views = list
        .iter()
        .map(|n| (n.id.clone(), network_view(n)))
        .collect();
    Ok(list_reply(&s, "networks", "networks", views, more, &p))
}

async fn network_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NeutronResult<Json<Value>> {
    let mut b = Body::parse(&body, "network")?;
    let (u, physical_network) = network_fields(&mut b)?;
    if physical_network.is_some() {
        return Err(Error::bad_request(
            "Invalid input for operation: provider:physical_network cannot be changed on a network that exists.",
        )
        .into());
    }
    b.finish()?;
    let n = s.services.network.network_update(&ctx, &id, u).await?;
    Ok(one_reply("network", network_view(&n), &[]))
}

async fn network_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    s.services.network.network_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn gateway(v: Option<Option<String>>) -> Option<Gateway> {
    v.map(|g| match g {
        None => Gateway::None,
        Some(ip) if ip.is_empty() => Gateway::None,
        Some(ip) => Gateway::Ip(ip),
    })
}

async fn subnet_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    body: axum::body::Bytes,
) -> NeutronResult<Response> {
    let mut b = Body::parse(&body, "subnet")?;
    let new = NewSubnet {
        network_id: b.string("network_id")?.ok_or_else(|| {
            Error::bad_request(
                "Failed to parse request. Required attribute 'network_id' not specified",
            )
        })?,
        name: b.string("name")?.unwrap_or_default(),
        description: b.string("description")?.unwrap_or_default(),
        project_id: b.project()?,
        ip_version: b.int("ip_version")?,
        cidr: b.string("cidr")?,
        gateway: gateway(b.nullable("gateway_ip")?).unwrap_or_default(),
        enable_dhcp: b.boolean("enable_dhcp")?,
        dns_nameservers: b.strings("dns_nameservers")?.unwrap_or_default(),
        host_routes: b.objects("host_routes")?.unwrap_or_default(),
        allocation_pools: b.objects("allocation_pools")?,
        ipv6_ra_mode: b.nullable("ipv6_ra_mode")?.flatten(),
        ipv6_address_mode: b.nullable("ipv6_address_mode")?.flatten(),
        tags: b.strings("tags")?.unwrap_or_default(),
    };
    if let Some(v) = b.take("subnetpool_id") {
        if !v.is_null() {
            return Err(Error::bad_request("Subnet pools are not offered: give a cidr.").into());
        }
    }
    b.ignore(&[
        "segment_id",
        "service_types",
        "dns_publish_fixed_ip",
        "use_default_subnetpool",
    ]);
    b.finish()?;
    let sub = s.services.network.subnet_create(&ctx, new).await?;
    Ok(created("subnet", subnet_view(&sub)))
}

async fn subnet_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let sub = s.services.network.subnet_get(&ctx, &id).await?;
    Ok(one_reply(
        "subnet",
        subnet_view(&sub),
        &ListParams::fields_of(q.as_deref()),
    ))
}

async fn subnet_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    RawQuery(q): RawQuery,
) -> NeutronResult<Json<Value>> {
    let p = ListParams::read(q.as_deref())?;
    let (list, more) = s
        .services
        .network
        .subnet_list(&ctx, p.query.clone())
        .await?;
    let views = list
        .iter()
        .map(|n| (n.id.clone(), subnet_view(n)))
        .collect();
    Ok(list_reply(&s, "subnets", "subnets", views, more, &p))
}

async fn subnet_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NeutronResult<Json<Value>> {
    let mut b = Body::parse(&body, "subnet")?;
    let u = SubnetUpdate {
        name: b.string("name")?,
        description: b.string("description")?,
        gateway: gateway(b.nullable("gateway_ip")?),
        enable_dhcp: b.boolean("enable_dhcp")?,
        dns_nameservers: b.strings("dns_nameservers")?,
        host_routes: b.objects("host_routes")?,
        allocation_pools: b.objects("allocation_pools")?,
    };
    b.ignore(&["segment_id", "service_types", "dns_publish_fixed_ip"]);
    b.finish()?;
    let sub = s.services.network.subnet_update(&ctx, &id, u).await?;
    Ok(one_reply("subnet", subnet_view(&sub), &[]))
}

async fn subnet_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    s.services.network.subnet_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
