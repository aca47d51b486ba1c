//! What the router and floating IP tests share: a network service on the test
//! database and the admin's external network.
#![allow(dead_code)]

use std::sync::Arc;

use ferrostack_core::{Ctx, Error, Platform};
use ferrostack_network::subnets::Gateway;
use ferrostack_network::{
    GatewayRequest, NetworkConfig, Networking, NewNetwork, NewRouter, NewSubnet,
};

pub async fn setup_with(cfg: NetworkConfig) -> Arc<Networking> {
    let p = Platform::for_tests().await.unwrap();
    Networking::open(&p, cfg).await.unwrap()
}

pub async fn setup() -> Arc<Networking> {
    setup_with(NetworkConfig::default()).await
}

pub fn member(p: &str) -> Ctx {
    Ctx::for_test(p, "member")
}

pub fn admin() -> Ctx {
    Ctx::for_test("proj-admin", "admin")
}

pub fn code(e: &Error) -> Option<&'static str> {
    match e {
        Error::Coded { code, .. } => Some(code),
        _ => None,
    }
}

pub fn status(e: &Error) -> u16 {
    e.status()
}

pub async fn subnet(n: &Networking, ctx: &Ctx, net: &str, cidr: &str, gateway: Gateway) -> String {
    n.subnet_create(
        ctx,
        NewSubnet {
            network_id: net.into(),
            cidr: Some(cidr.into()),
            gateway,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id
}

pub async fn network(n: &Networking, ctx: &Ctx, name: &str, external: bool) -> String {
    n.network_create(
        ctx,
        NewNetwork {
            name: name.into(),
            external,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id
}

/// The admin's external network with 203.0.113.0/24 (pool .100–.200 by default here:
/// the whole subnet but the gateway).
pub async fn external(n: &Networking) -> (String, String) {
    let net = network(n, &admin(), "public", true).await;
    let sub = subnet(n, &admin(), &net, "203.0.113.0/24", Gateway::Default).await;
    (net, sub)
}

pub fn router(name: &str, gw: Option<&str>) -> NewRouter {
    NewRouter {
        name: name.into(),
        gateway: gw.map(|g| GatewayRequest {
            network_id: g.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}
