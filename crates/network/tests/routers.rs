//! Routers and floating IPs on the real database (SQLite here, PostgreSQL in the test
//! command): a gateway takes an address on the external network, interfaces hold
//! their subnet's gateway address and refuse overlaps (also when added at once), a
//! floating IP goes only where a router reaches and at most once per fixed address
//! (also when asked at once), what is in use cannot be removed, and a router that
//! nothing wires says so.

use ferrostack_network::subnets::Gateway;
use ferrostack_network::{
    FloatingIpUpdate, GatewayRequest, InterfaceRequest, ListQuery, NetworkConfig, NewFloatingIp,
    NewNetwork, NewPort, NewRouter, RouterUpdate,
};
use futures_util::future::join_all;

mod l3;
use l3::*;

#[tokio::test]
async fn a_router_takes_a_gateway_address_and_its_interfaces_hold_the_subnet_gateways() {
    let n = setup().await;
    let a = member("proj-a");
    let (ext, ext_sub) = external(&n).await;
    let r = n.router_create(&a, router("r1", Some(&ext))).await.unwrap();
    let gw = r.external_gateway_info.clone().expect("a gateway");
    assert_eq!(gw.network_id, ext);
    assert!(gw.enable_snat);
    assert_eq!(gw.external_fixed_ips.len(), 1);
    assert_eq!(gw.external_fixed_ips[0].subnet_id, ext_sub);
    assert!(gw.external_fixed_ips[0]
        .ip_address
        .starts_with("203.0.113."));
    // Nothing wires an external network on this cloud: the router says so.
    assert_eq!(r.status, "DOWN");
    assert!(
        r.note
            .as_deref()
            .unwrap()
            .contains("No external network is wired"),
        "{:?}",
        r.note
    );

    let net = network(&n, &a, "lan", false).await;
    let sub = subnet(&n, &a, &net, "10.0.0.0/24", Gateway::Default).await;
    let i = n
        .router_add_interface(&a, &r.id, InterfaceRequest::Subnet(sub.clone()))
        .await
        .unwrap();
    assert_eq!(i.ip_address, "10.0.0.1");
    let p = n.port_get(&a, &i.port_id).await.unwrap();
    assert_eq!(p.device_owner, "network:router_interface");
    assert_eq!(p.device_id, r.id);
    assert_eq!(
        n.router_get(&a, &r.id).await.unwrap().interfaces,
        vec![i.clone()]
    );
    // The same subnet twice, an overlapping one, one without a gateway: refused.
    let e = n
        .router_add_interface(&a, &r.id, InterfaceRequest::Subnet(sub.clone()))
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    assert!(
        e.to_string().contains("already has a port on subnet"),
        "{e}"
    );
    let net2 = network(&n, &a, "lan2", false).await;
    let sub2 = subnet(&n, &a, &net2, "10.0.0.128/25", Gateway::Default).await;
    let e = n
        .router_add_interface(&a, &r.id, InterfaceRequest::Subnet(sub2))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("overlaps with cidr 10.0.0.0/24"),
        "{e}"
    );
    let net3 = network(&n, &a, "lan3", false).await;
    let sub3 = subnet(&n, &a, &net3, "10.3.0.0/24", Gateway::None).await;
    let e = n
        .router_add_interface(&a, &r.id, InterfaceRequest::Subnet(sub3))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("does not have a gateway IP"), "{e}");
    // The external network is the gateway's, never an interface's.
    let e = n
        .router_add_interface(&admin(), &r.id, InterfaceRequest::Subnet(ext_sub.clone()))
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400, "{e}");

    // In use: the router cannot go, nor its interface's port through the port API.
    let e = n.router_delete(&a, &r.id).await.unwrap_err();
    assert_eq!(code(&e), Some("RouterInUse"), "{e:?}");
    let e = n.port_delete(&a, &i.port_id).await.unwrap_err();
    assert_eq!(code(&e), Some("PortInUse"), "{e:?}");
    let ports_before = n.quota_usage(&a, "proj-a").await.unwrap()["port"];
    n.router_remove_interface(&a, &r.id, InterfaceRequest::Subnet(sub.clone()))
        .await
        .unwrap();
    assert!(
        n.port_get(&a, &i.port_id).await.is_err(),
        "the interface's port is gone"
    );
    assert_eq!(
        n.quota_usage(&a, "proj-a").await.unwrap()["port"],
        ports_before - 1
    );
    let e = n
        .router_remove_interface(&a, &r.id, InterfaceRequest::Subnet(sub))
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some("RouterInterfaceNotFoundForSubnet"));
    // Deleting the router frees its gateway address.
    let gw_ip = gw.external_fixed_ips[0].ip_address.clone();
    n.router_delete(&a, &r.id).await.unwrap();
    let again = n
        .router_create(
            &admin(),
            NewRouter {
                gateway: Some(GatewayRequest {
                    network_id: ext.clone(),
                    fixed_ips: Some(vec![ferrostack_network::FixedIpRequest {
                        subnet_id: None,
                        ip_address: Some(gw_ip.clone()),
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        again.external_gateway_info.unwrap().external_fixed_ips[0].ip_address,
        gw_ip
    );
}

#[tokio::test]
async fn two_overlapping_interfaces_added_at_once_are_never_both_added() {
    let n = setup().await;
    let a = member("proj-a");
    let r = n.router_create(&a, router("r", None)).await.unwrap();
    let mut subs = Vec::new();
    for i in 0..6 {
        let net = network(&n, &a, &format!("n{i}"), false).await;
        // All six overlap one another (10.50.0.0/16 and /24s inside it).
        let cidr = if i == 0 {
            "10.50.0.0/16".to_string()
        } else {
            format!("10.50.{i}.0/24")
        };
        subs.push(subnet(&n, &a, &net, &cidr, Gateway::Default).await);
    }
    let made = join_all(
        subs.iter()
            .map(|s| n.router_add_interface(&a, &r.id, InterfaceRequest::Subnet(s.clone()))),
    )
    .await;
    let ok = made.iter().filter(|m| m.is_ok()).count();
    // /24s inside 10.50.0.0/16 do not overlap each other, but each overlaps the /16:
    // either the /16 alone got in, or some /24s and never the /16.
    let have = n.router_get(&a, &r.id).await.unwrap().interfaces;
    assert_eq!(have.len(), ok);
    let with_16 = have.iter().any(|i| i.subnet_id == subs[0]);
    assert!(
        !with_16 || have.len() == 1,
        "the /16 and a /24 both made it: {have:?}"
    );
    for e in made.iter().filter_map(|m| m.as_ref().err()) {
        assert_eq!(status(e), 400, "{e:?}");
    }
}

#[tokio::test]
async fn tenants_cannot_reach_others_routers_floating_ips_or_choose_addresses() {
    let n = setup().await;
    let a = member("proj-a");
    let b = member("proj-b");
    let (ext, _) = external(&n).await;
    let r = n
        .router_create(&a, router("a-r", Some(&ext)))
        .await
        .unwrap();
    let fip = n
        .floating_ip_create(
            &a,
            NewFloatingIp {
                floating_network_id: ext.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(status(&n.router_get(&b, &r.id).await.unwrap_err()), 404);
    assert_eq!(
        status(&n.floating_ip_get(&b, &fip.id).await.unwrap_err()),
        404
    );
    assert!(n
        .router_list(&b, ListQuery::default())
        .await
        .unwrap()
        .0
        .is_empty());
    assert!(n
        .floating_ip_list(&b, ListQuery::default())
        .await
        .unwrap()
        .0
        .is_empty());
    // b cannot put a's router on its subnet, nor point a floating IP at a's port.
    let bnet = network(&n, &b, "b-lan", false).await;
    let bsub = subnet(&n, &b, &bnet, "10.9.0.0/24", Gateway::Default).await;
    assert!(n
        .router_add_interface(&b, &r.id, InterfaceRequest::Subnet(bsub.clone()))
        .await
        .is_err());
    let e = n
        .router_add_interface(&a, &r.id, InterfaceRequest::Subnet(bsub))
        .await
        .unwrap_err();
    assert!(matches!(status(&e), 403 | 404), "{e:?}");
    let anet = network(&n, &a, "a-lan", false).await;
    subnet(&n, &a, &anet, "10.8.0.0/24", Gateway::Default).await;
    let aport = n
        .port_create(
            &a,
            NewPort {
                network_id: anet,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let bfip = n
        .floating_ip_create(
            &b,
            NewFloatingIp {
                floating_network_id: ext.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let e = n
        .floating_ip_update(
            &b,
            &bfip.id,
            FloatingIpUpdate {
                port_id: Some(Some(aport.id.clone())),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404, "{e:?}");
    // Members do not choose floating addresses, nor make floating IPs off a tenant
    // network; the external network's ports are not theirs to see.
    let e = n
        .floating_ip_create(
            &a,
            NewFloatingIp {
                floating_network_id: ext.clone(),
                floating_ip_address: Some("203.0.113.77".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status(&e), 403);
    let lan = network(&n, &a, "not-external", false).await;
    let e = n
        .floating_ip_create(
            &a,
            NewFloatingIp {
                floating_network_id: lan,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    let q = ListQuery {
        filters: vec![("network_id".into(), ext.clone())],
        ..Default::default()
    };
    assert!(n.port_list(&a, q).await.unwrap().0.is_empty());
    // An admin may choose the address; a taken one is refused.
    let e = n
        .floating_ip_create(
            &admin(),
            NewFloatingIp {
                floating_network_id: ext.clone(),
                floating_ip_address: Some(fip.floating_ip_address.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status(&e), 409, "{e:?}");
}

#[tokio::test]
async fn an_external_network_names_a_mapped_physical_network_and_routes_once_wired() {
    let mut cfg = NetworkConfig::default();
    cfg.bridge_mappings.insert("public".into(), "br-ex".into());
    let n = setup_with(cfg).await;
    let e = n
        .network_create(
            &admin(),
            NewNetwork {
                name: "x".into(),
                external: true,
                physical_network: Some("elsewhere".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    assert!(
        e.to_string()
            .contains("physical_network 'elsewhere' unknown"),
        "{e}"
    );
    // A tenant network is never on a physical network.
    let e = n
        .network_create(
            &member("proj-a"),
            NewNetwork {
                name: "y".into(),
                physical_network: Some("public".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    // Without one named, the only mapping carries it; its routers are not "unwired".
    let (ext, _) = external(&n).await;
    assert_eq!(
        n.network_get(&admin(), &ext)
            .await
            .unwrap()
            .physical_network
            .as_deref(),
        Some("public")
    );
    let r = n
        .router_create(&member("proj-a"), router("r", Some(&ext)))
        .await
        .unwrap();
    assert_eq!((r.status.as_str(), r.note), ("ACTIVE", None));
}

#[tokio::test]
async fn what_would_let_a_tenant_speak_for_others_is_refused() {
    let n = setup().await;
    let a = member("proj-a");
    let b = member("proj-b");
    let (ext, _) = external(&n).await;
    // A port posing as a router on someone else's shared network (it would take the
    // gateway address) is the network owner's or an admin's to make.
    let shared = n
        .network_create(
            &admin(),
            NewNetwork {
                name: "shared".into(),
                shared: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    subnet(&n, &admin(), &shared, "10.40.0.0/24", Gateway::Default).await;
    let e = n
        .port_create(
            &b,
            NewPort {
                network_id: shared.clone(),
                device_owner: "network:router_interface".into(),
                fixed_ips: Some(vec![ferrostack_network::FixedIpRequest {
                    subnet_id: None,
                    ip_address: Some("10.40.0.1".into()),
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status(&e), 403, "{e:?}");
    // An interface overlapping the external network's subnet, in either order.
    let r = n.router_create(&a, router("r", Some(&ext))).await.unwrap();
    let net = network(&n, &a, "fake-outside", false).await;
    let sub = subnet(&n, &a, &net, "203.0.113.0/25", Gateway::Default).await;
    let e = n
        .router_add_interface(&a, &r.id, InterfaceRequest::Subnet(sub.clone()))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("overlaps with cidr 203.0.113.0/24"),
        "{e}"
    );
    let r2 = n.router_create(&a, router("r2", None)).await.unwrap();
    n.router_add_interface(&a, &r2.id, InterfaceRequest::Subnet(sub))
        .await
        .unwrap();
    let e = n
        .router_update(
            &a,
            &r2.id,
            RouterUpdate {
                gateway: Some(Some(GatewayRequest {
                    network_id: ext.clone(),
                    ..Default::default()
                })),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("overlaps with cidr 203.0.113.0/24"),
        "{e}"
    );
    // Members do not turn SNAT off.
    let e = n
        .router_update(
            &a,
            &r.id,
            RouterUpdate {
                gateway: Some(Some(GatewayRequest {
                    network_id: ext.clone(),
                    enable_snat: Some(false),
                    ..Default::default()
                })),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status(&e), 403);
    // A router's interface port keeps its device: it cannot be freed and deleted
    // through the port API.
    let lan = network(&n, &a, "lan", false).await;
    let lsub = subnet(&n, &a, &lan, "10.41.0.0/24", Gateway::Default).await;
    let i = n
        .router_add_interface(&a, &r.id, InterfaceRequest::Subnet(lsub))
        .await
        .unwrap();
    let e = n
        .port_update(
            &a,
            &i.port_id,
            ferrostack_network::PortUpdate {
                device_id: Some(String::new()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some("PortInUse"), "{e:?}");
    let e = n.port_delete(&a, &i.port_id).await.unwrap_err();
    assert_eq!(code(&e), Some("PortInUse"), "{e:?}");
}
