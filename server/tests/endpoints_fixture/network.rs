//! The every-endpoint fixture's networking: alpha's network world and the request
//! bodies of the Neutron routes.

use axum::http::Method;
use serde_json::{json, Value};

use super::{id, json_body, World};
use crate::common::*;

/// alpha's networking: a network, subnet, port, security group and rule, a router and
/// a floating IP (made by mia), and the admin's shared and external networks.
pub async fn network_world(api: &Api, mia: &str) -> [String; 9] {
    let neutron = |m: Method, path: &str, token: &str, body: Value| {
        let (path, token) = (format!("/network/v2.0{path}"), token.to_string());
        async move {
            let r = api.call(m, &path, Some(&token), Some(body)).await;
            assert!(r.status.is_success(), "{path}: {}", r.text);
            r
        }
    };
    let r = neutron(
        Method::POST,
        "/networks",
        mia,
        json!({"network": {"name": "alpha-net", "tags": ["t1"]}}),
    )
    .await;
    let network = id(&r, "network");
    let r = neutron(Method::POST, "/subnets", mia, json!({"subnet": {"network_id": network, "cidr": "10.10.0.0/24", "ip_version": 4, "tags": ["t1"]}})).await;
    let subnet = id(&r, "subnet");
    let r = neutron(
        Method::POST,
        "/ports",
        mia,
        json!({"port": {"network_id": network, "tags": ["t1"]}}),
    )
    .await;
    let port = id(&r, "port");
    let r = neutron(
        Method::POST,
        "/security-groups",
        mia,
        json!({"security_group": {"name": "alpha-sg", "tags": ["t1"]}}),
    )
    .await;
    let group = id(&r, "security_group");
    let r = neutron(Method::POST, "/security-group-rules", mia, json!({"security_group_rule": {"security_group_id": group, "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}})).await;
    let rule = id(&r, "security_group_rule");
    let admin = api.admin_token.clone();
    let r = neutron(
        Method::POST,
        "/networks",
        &admin,
        json!({"network": {"name": "shared-net", "shared": true}}),
    )
    .await;
    let shared = id(&r, "network");
    neutron(
        Method::POST,
        "/subnets",
        &admin,
        json!({"subnet": {"network_id": shared, "cidr": "10.11.0.0/16", "ip_version": 4}}),
    )
    .await;
    let r = neutron(
        Method::POST,
        "/networks",
        &admin,
        json!({"network": {"name": "ext-net", "router:external": true}}),
    )
    .await;
    let external = id(&r, "network");
    neutron(
        Method::POST,
        "/subnets",
        &admin,
        json!({"subnet": {"network_id": external, "cidr": "198.51.100.0/24", "ip_version": 4, "enable_dhcp": false}}),
    )
    .await;
    let r = neutron(
        Method::POST,
        "/routers",
        mia,
        json!({"router": {"name": "alpha-router", "tags": ["t1"], "external_gateway_info": {"network_id": external}}}),
    )
    .await;
    let router = id(&r, "router");
    let r = neutron(
        Method::POST,
        "/floatingips",
        mia,
        json!({"floatingip": {"floating_network_id": external, "tags": ["t1"]}}),
    )
    .await;
    let fip = id(&r, "floatingip");
    [
        network, subnet, port, group, rule, shared, external, router, fip,
    ]
}

/// The body of a Neutron route's request (`Some(None)`: no body), or `None` for a
/// route this does not know (the generic body then).
pub fn body(method: &Method, t: &str, w: &World) -> Option<Option<Vec<u8>>> {
    Some(match (method, t) {
        (&Method::POST, "/network/v2.0/networks") => {
            json_body(json!({"network": {"name": "from-table"}}))
        }
        (&Method::PUT, "/network/v2.0/networks/{id}") => {
            json_body(json!({"network": {"name": "renamed"}}))
        }
        (&Method::POST, "/network/v2.0/subnets") => json_body(json!({"subnet": {
            "network_id": w.network, "cidr": "10.12.0.0/24", "ip_version": 4}})),
        (&Method::PUT, "/network/v2.0/subnets/{id}") => {
            json_body(json!({"subnet": {"name": "renamed"}}))
        }
        // Into the shared network: every project may plug a port there.
        (&Method::POST, "/network/v2.0/ports") => {
            json_body(json!({"port": {"network_id": w.shared_network}}))
        }
        (&Method::PUT, "/network/v2.0/ports/{id}") => {
            json_body(json!({"port": {"name": "renamed"}}))
        }
        (&Method::POST, "/network/v2.0/security-groups") => {
            json_body(json!({"security_group": {"name": "from-table"}}))
        }
        (&Method::PUT, "/network/v2.0/security-groups/{id}") => {
            json_body(json!({"security_group": {"description": "d"}}))
        }
        (&Method::POST, "/network/v2.0/security-group-rules") => {
            json_body(json!({"security_group_rule": {
            "security_group_id": w.security_group, "direction": "ingress", "protocol": "icmp"}}))
        }
        (&Method::POST, "/network/v2.0/routers") => {
            json_body(json!({"router": {"name": "from-table"}}))
        }
        (&Method::PUT, "/network/v2.0/routers/{id}") => {
            json_body(json!({"router": {"name": "renamed"}}))
        }
        (&Method::PUT, "/network/v2.0/routers/{id}/add_router_interface")
        | (&Method::PUT, "/network/v2.0/routers/{id}/remove_router_interface") => {
            json_body(json!({"subnet_id": w.subnet}))
        }
        (&Method::POST, "/network/v2.0/floatingips") => json_body(json!({"floatingip": {
            "floating_network_id": w.external_network}})),
        (&Method::PUT, "/network/v2.0/floatingips/{id}") => {
            json_body(json!({"floatingip": {"description": "d"}}))
        }
        (&Method::PUT, "/network/v2.0/quotas/{project}") => {
            json_body(json!({"quota": {"port": 400}}))
        }
        (&Method::PUT, p) if p.ends_with("/tags") => json_body(json!({"tags": ["t1", "t2"]})),
        _ => return None,
    })
}
