//! Floating IPs on the real database (SQLite here, PostgreSQL in the test command): one
//! goes only where a router reaches and at most once per fixed address (also when
//! asked at once), what it routes through cannot be removed, the server's addresses
//! show it, and quotas hold under races.

use ferrostack_core::Error;
use ferrostack_network::subnets::Gateway;
use ferrostack_network::{
    FloatingIpUpdate, InterfaceRequest, ListQuery, NewFloatingIp, NewPort, RouterUpdate,
};
use futures_util::future::join_all;

mod l3;
use l3::*;

#[tokio::test]
async fn a_floating_ip_goes_where_a_router_reaches_once_per_fixed_address() {
    let n = setup().await;
    let a = member("proj-a");
    let (ext, _) = external(&n).await;
    let net = network(&n, &a, "lan", false).await;
    let sub = subnet(&n, &a, &net, "10.0.0.0/24", Gateway::Default).await;
    let vm = n
        .port_create(
            &a,
            NewPort {
                network_id: net.clone(),
                device_id: "server-1".into(),
                device_owner: "compute:nova".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let fixed = vm.fixed_ips[0].ip_address.clone();
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
    assert!(fip.floating_ip_address.starts_with("203.0.113."));
    assert_eq!(fip.status, "DOWN");
    assert_eq!(fip.port_id, None);
    // No router reaches the port's subnet yet.
    let assoc = |id: String| FloatingIpUpdate {
        port_id: Some(Some(id)),
        ..Default::default()
    };
    let e = n
        .floating_ip_update(&a, &fip.id, assoc(vm.id.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        code(&e),
        Some("ExternalGatewayForFloatingIPNotFound"),
        "{e:?}"
    );
    assert_eq!(status(&e), 404);
    let r = n.router_create(&a, router("r", Some(&ext))).await.unwrap();
    // An interface alone is not enough without the gateway on the floating network,
    // and the gateway alone is not enough without an interface.
    let e = n
        .floating_ip_update(&a, &fip.id, assoc(vm.id.clone()))
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some("ExternalGatewayForFloatingIPNotFound"));
    n.router_add_interface(&a, &r.id, InterfaceRequest::Subnet(sub.clone()))
        .await
        .unwrap();
    let f = n
        .floating_ip_update(&a, &fip.id, assoc(vm.id.clone()))
        .await
        .unwrap();
    assert_eq!(f.port_id.as_deref(), Some(vm.id.as_str()));
    assert_eq!(f.fixed_ip_address.as_deref(), Some(fixed.as_str()));
    assert_eq!(f.router_id.as_deref(), Some(r.id.as_str()));
    // The server's addresses show it as floating, beside the fixed one.
    let addrs = n
        .device_addresses(&["server-1"])
        .await
        .unwrap()
        .remove("server-1")
        .unwrap();
    let kinds: Vec<(&str, &str)> = addrs
        .iter()
        .map(|x| (x.addr.as_str(), x.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (fixed.as_str(), "fixed"),
            (fip.floating_ip_address.as_str(), "floating")
        ]
    );

    // A second floating IP for the same fixed address is refused, also when several
    // ask at once: exactly one holds it.
    let others = join_all((0..4).map(|_| {
        n.floating_ip_create(
            &a,
            NewFloatingIp {
                floating_network_id: ext.clone(),
                port_id: Some(vm.id.clone()),
                ..Default::default()
            },
        )
    }))
    .await;
    for o in &others {
        let e = o.as_ref().unwrap_err();
        assert_eq!(code(e), Some("FloatingIPPortAlreadyAssociated"), "{e:?}");
    }
    n.floating_ip_update(
        &a,
        &fip.id,
        FloatingIpUpdate {
            port_id: Some(None),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let racing = join_all((0..4).map(|_| {
        n.floating_ip_create(
            &a,
            NewFloatingIp {
                floating_network_id: ext.clone(),
                port_id: Some(vm.id.clone()),
                ..Default::default()
            },
        )
    }))
    .await;
    assert_eq!(racing.iter().filter(|r| r.is_ok()).count(), 1, "{racing:?}");
    let holder = racing.into_iter().find_map(|r| r.ok()).unwrap();
    // The refused creates left no floating IP (nor address) behind.
    let q = ListQuery {
        filters: vec![("floating_network_id".into(), ext.clone())],
        ..Default::default()
    };
    assert_eq!(n.floating_ip_list(&a, q.clone()).await.unwrap().0.len(), 2);

    // What the floating IP routes through cannot go.
    let e = n
        .router_remove_interface(&a, &r.id, InterfaceRequest::Subnet(sub.clone()))
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some("RouterInterfaceInUseByFloatingIP"), "{e:?}");
    let e = n
        .router_update(
            &a,
            &r.id,
            RouterUpdate {
                gateway: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        code(&e),
        Some("RouterExternalGatewayInUseByFloatingIp"),
        "{e:?}"
    );
    // Deleting the port leaves the floating IP, associated with nothing.
    n.port_delete(&a, &vm.id).await.unwrap();
    let f = n.floating_ip_get(&a, &holder.id).await.unwrap();
    assert_eq!(
        (f.port_id, f.fixed_ip_address, f.router_id),
        (None, None, None)
    );
    n.router_remove_interface(&a, &r.id, InterfaceRequest::Subnet(sub))
        .await
        .unwrap();
    // Deleting floating IPs gives their addresses and quota back.
    assert_eq!(n.quota_usage(&a, "proj-a").await.unwrap()["floatingip"], 2);
    n.floating_ip_delete(&a, &holder.id).await.unwrap();
    n.floating_ip_delete(&a, &fip.id).await.unwrap();
    assert_eq!(n.quota_usage(&a, "proj-a").await.unwrap()["floatingip"], 0);
    assert!(n.floating_ip_list(&a, q).await.unwrap().0.is_empty());
}

#[tokio::test]
async fn floating_ip_and_router_quotas_hold_under_a_race() {
    let n = setup().await;
    let a = member("proj-a");
    let (ext, _) = external(&n).await;
    n.quota_update(
        &admin(),
        "proj-a",
        [("floatingip".to_string(), 2), ("router".to_string(), 1)].into(),
    )
    .await
    .unwrap();
    let made = join_all((0..8).map(|_| {
        n.floating_ip_create(
            &a,
            NewFloatingIp {
                floating_network_id: ext.clone(),
                ..Default::default()
            },
        )
    }))
    .await;
    assert_eq!(made.iter().filter(|m| m.is_ok()).count(), 2);
    for e in made.iter().filter_map(|m| m.as_ref().err()) {
        assert!(matches!(e, Error::QuotaExceeded { .. }), "{e:?}");
    }
    let routers =
        join_all((0..5).map(|i| n.router_create(&a, router(&format!("r{i}"), None)))).await;
    assert_eq!(routers.iter().filter(|m| m.is_ok()).count(), 1);
    assert_eq!(n.quota_usage(&a, "proj-a").await.unwrap()["router"], 1);
}
