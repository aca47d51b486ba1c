//! The network service on the real database (SQLite here, PostgreSQL in the test
//! command): what a tenant sees of others' networks, the IPAM under parallel port
//! creates and at exhaustion, overlapping CIDRs, quotas under races, and security
//! groups with the default group made once.

use std::sync::Arc;

use ferrostack_core::{Ctx, Error, Platform};
use ferrostack_network::{
    FixedIpRequest, ListQuery, NetworkConfig, Networking, NewNetwork, NewPort, NewRule,
    NewSecurityGroup, NewSubnet, PortUpdate,
};
use futures_util::future::join_all;

async fn setup() -> Arc<Networking> {
    let p = Platform::for_tests().await.unwrap();
    Networking::open(&p, NetworkConfig::default())
        .await
        .unwrap()
}

fn member(p: &str) -> Ctx {
    Ctx::for_test(p, "member")
}

fn admin() -> Ctx {
    Ctx::for_test("proj-admin", "admin")
}

async fn net_with_subnet(n: &Networking, ctx: &Ctx, name: &str, cidr: &str) -> (String, String) {
    let net = n
        .network_create(
            ctx,
            NewNetwork {
                name: name.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let sub = n
        .subnet_create(
            ctx,
            NewSubnet {
                network_id: net.id.clone(),
                name: format!("{name}-sub"),
                cidr: Some(cidr.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    (net.id, sub.id)
}

fn port(net: &str) -> NewPort {
    NewPort {
        network_id: net.into(),
        ..Default::default()
    }
}

fn code(e: &Error) -> Option<&'static str> {
    match e {
        Error::Coded { code, .. } => Some(code),
        _ => None,
    }
}

#[tokio::test]
async fn a_hundred_parallel_ports_on_a_24_get_a_hundred_distinct_addresses() {
    let n = setup().await;
    let a = member("proj-a");
    let (net, sub) = net_with_subnet(&n, &a, "web", "10.20.0.0/24").await;
    let made = join_all((0..100).map(|_| n.port_create(&a, port(&net)))).await;
    let mut ips: Vec<String> = made
        .into_iter()
        .map(|p| {
            let p = p.unwrap();
            assert_eq!(p.fixed_ips.len(), 1);
            assert_eq!(p.fixed_ips[0].subnet_id, sub);
            p.fixed_ips[0].ip_address.clone()
        })
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 100, "every port has its own address");
    // None is the gateway (10.20.0.1), the network or the broadcast address.
    for ip in &ips {
        assert!(
            !["10.20.0.0", "10.20.0.1", "10.20.0.255"].contains(&ip.as_str()),
            "{ip}"
        );
    }
    let (ports, _) = n.port_list(&a, ListQuery::default()).await.unwrap();
    // Neutron's DHCP port holds one more address (the first of the pool).
    assert_eq!(ports.len(), 101);
    let dhcp: Vec<_> = ports
        .iter()
        .filter(|p| p.device_owner == "network:dhcp")
        .collect();
    assert_eq!(dhcp.len(), 1);
    assert_eq!(dhcp[0].fixed_ips[0].ip_address, "10.20.0.2");
    assert!(!ips.contains(&"10.20.0.2".to_string()));
    let macs: std::collections::BTreeSet<_> = ports.iter().map(|p| p.mac_address.clone()).collect();
    assert_eq!(macs.len(), 101, "and its own MAC");
    assert!(ports.iter().all(|p| p.mac_address.starts_with("fa:16:3e:")));
}

#[tokio::test]
async fn an_exhausted_pool_says_so_and_a_freed_address_comes_back() {
    let n = setup().await;
    let a = member("proj-a");
    // A /29: .1 is the gateway, .2 to .6 the pool, .2 the DHCP server's.
    let (net, sub) = net_with_subnet(&n, &a, "tiny", "192.168.7.0/29").await;
    let mut ports = Vec::new();
    for _ in 0..4 {
        ports.push(n.port_create(&a, port(&net)).await.unwrap());
    }
    let e = n.port_create(&a, port(&net)).await.unwrap_err();
    assert_eq!(code(&e), Some("IpAddressGenerationFailure"), "{e:?}");
    assert_eq!(e.status(), 409);
    assert!(
        e.to_string()
            .contains("No more IP addresses available on network"),
        "{e}"
    );
    // The refused create left nothing behind: quota and ports as they were.
    assert_eq!(n.quota_usage(&a, "proj-a").await.unwrap()["port"], 4);
    let freed = ports[2].fixed_ips[0].ip_address.clone();
    n.port_delete(&a, &ports[2].id).await.unwrap();
    let again = n.port_create(&a, port(&net)).await.unwrap();
    assert_eq!(again.fixed_ips[0].ip_address, freed);
    // Asking for a taken address, the gateway, or one outside the subnet.
    let ask = |ip: &str| NewPort {
        fixed_ips: Some(vec![FixedIpRequest {
            subnet_id: Some(sub.clone()),
            ip_address: Some(ip.into()),
        }]),
        ..port(&net)
    };
    let taken = ports[0].fixed_ips[0].ip_address.clone();
    let e = n.port_create(&a, ask(&taken)).await.unwrap_err();
    assert_eq!(code(&e), Some("IpAddressAlreadyAllocated"), "{e:?}");
    let e = n.port_create(&a, ask("192.168.7.1")).await.unwrap_err();
    assert_eq!(code(&e), Some("IpAddressInUse"), "{e:?}");
    let e = n.port_create(&a, ask("192.168.8.3")).await.unwrap_err();
    assert_eq!(e.status(), 400, "{e:?}");
    let e = n.port_create(&a, ask("192.168.7.7")).await.unwrap_err();
    assert_eq!(e.status(), 400, "the broadcast address: {e:?}");
}

#[tokio::test]
async fn tenants_see_their_own_and_shared_networks_only() {
    let n = setup().await;
    let a = member("proj-a");
    let b = member("proj-b");
    let (private, private_sub) = net_with_subnet(&n, &a, "private", "10.0.0.0/24").await;
    let shared = n
        .network_create(
            &admin(),
            NewNetwork {
                name: "public".into(),
                shared: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    n.subnet_create(
        &admin(),
        NewSubnet {
            network_id: shared.id.clone(),
            cidr: Some("172.24.0.0/24".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // b: a's network is not found (not forbidden: existence does not leak).
    assert!(matches!(
        n.network_get(&b, &private).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        n.subnet_get(&b, &private_sub).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        n.network_delete(&b, &private).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        n.port_create(&b, port(&private)).await,
        Err(Error::NotFound { .. })
    ));
    let (seen, _) = n.network_list(&b, ListQuery::default()).await.unwrap();
    assert_eq!(
        seen.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
        ["public"]
    );
    // b may plug a port into the shared network, not change it or add subnets.
    let p = n.port_create(&b, port(&shared.id)).await.unwrap();
    assert_eq!(p.project_id, "proj-b");
    assert!(p.fixed_ips[0].ip_address.starts_with("172.24.0."));
    assert!(matches!(
        n.network_delete(&b, &shared.id).await,
        Err(Error::Forbidden(_))
    ));
    let e = n
        .subnet_create(
            &b,
            NewSubnet {
                network_id: shared.id.clone(),
                cidr: Some("172.25.0.0/24".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e:?}");
    // Only admins make shared networks; a reader makes nothing.
    let e = n
        .network_create(
            &a,
            NewNetwork {
                shared: true,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e:?}");
    let e = n
        .network_create(&Ctx::for_test("proj-a", "reader"), NewNetwork::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e:?}");
    // A network with a port in use is not deleted; unsharing one others use neither.
    let e = n.network_delete(&admin(), &shared.id).await.unwrap_err();
    assert_eq!(code(&e), Some("NetworkInUse"), "{e:?}");
    let e = n
        .network_update(
            &admin(),
            &shared.id,
            ferrostack_network::NetworkUpdate {
                shared: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some("InvalidSharedSetting"), "{e:?}");
    n.port_delete(&b, &p.id).await.unwrap();
    n.network_delete(&admin(), &shared.id).await.unwrap();
    assert!(matches!(
        n.network_get(&admin(), &shared.id).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn cidrs_overlap_across_networks_but_not_within_one_even_at_once() {
    let n = setup().await;
    let a = member("proj-a");
    let b = member("proj-b");
    let (net, _) = net_with_subnet(&n, &a, "one", "10.1.0.0/16").await;
    // The same range on other networks and in other projects is fine.
    net_with_subnet(&n, &a, "two", "10.1.0.0/16").await;
    net_with_subnet(&n, &b, "three", "10.1.0.0/16").await;
    let e = n
        .subnet_create(
            &a,
            NewSubnet {
                network_id: net.clone(),
                cidr: Some("10.1.5.0/24".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("overlaps with another subnet"),
        "{e}"
    );
    // Two overlapping subnets asked for at once on a fresh network: one wins.
    let fresh = n.network_create(&a, NewNetwork::default()).await.unwrap();
    let tries = join_all((0..6).map(|i| {
        let cidr = if i % 2 == 0 {
            "10.9.0.0/16".to_string()
        } else {
            format!("10.9.{i}.0/24")
        };
        n.subnet_create(
            &a,
            NewSubnet {
                network_id: fresh.id.clone(),
                cidr: Some(cidr),
                ..Default::default()
            },
        )
    }))
    .await;
    // The /24s do not overlap each other; each overlaps the /16: whichever came first,
    // no two that overlap both exist.
    let made: Vec<String> = tries
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|s| s.cidr.clone())
        .collect();
    assert!(!made.is_empty(), "{tries:?}");
    assert!(
        made == ["10.9.0.0/16"] || !made.iter().any(|c| c == "10.9.0.0/16"),
        "overlapping subnets were both made: {made:?}"
    );
    // Bad input names the field.
    for (cidr, says) in [
        ("10.0.0.1/24", "'10.0.0.0/24' is recommended"),
        ("banana", "not a valid IP subnet"),
        ("10.0.0.0/33", "not a valid IP subnet"),
    ] {
        let e = n
            .subnet_create(
                &a,
                NewSubnet {
                    network_id: fresh.id.clone(),
                    cidr: Some(cidr.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains(says), "{cidr}: {e}");
        assert_eq!(e.status(), 400);
    }
}

#[tokio::test]
async fn ipv6_subnets_hand_out_pool_or_slaac_addresses() {
    let n = setup().await;
    let a = member("proj-a");
    let net = n.network_create(&a, NewNetwork::default()).await.unwrap();
    let v4 = n
        .subnet_create(
            &a,
            NewSubnet {
                network_id: net.id.clone(),
                cidr: Some("10.3.0.0/24".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let v6 = n
        .subnet_create(
            &a,
            NewSubnet {
                network_id: net.id.clone(),
                cidr: Some("2001:db8:3::/64".into()),
                ip_version: Some(6),
                ipv6_ra_mode: Some("slaac".into()),
                ipv6_address_mode: Some("slaac".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v6.gateway_ip.as_deref(), Some("2001:db8:3::1"));
    assert_eq!(v6.allocation_pools[0].start, "2001:db8:3::2");
    let p = n.port_create(&a, port(&net.id)).await.unwrap();
    assert_eq!(p.fixed_ips.len(), 2, "{p:?}");
    assert_eq!(p.fixed_ips[0].subnet_id, v4.id);
    // The SLAAC address is the MAC's EUI-64.
    let m: Vec<u8> = p
        .mac_address
        .split(':')
        .map(|x| u8::from_str_radix(x, 16).unwrap())
        .collect();
    let want = format!(
        "2001:db8:3:0:{:02x}{:02x}:{:02x}ff:fe{:02x}:{:02x}{:02x}",
        m[0] ^ 2,
        m[1],
        m[2],
        m[3],
        m[4],
        m[5]
    );
    let want: std::net::Ipv6Addr = want.parse().unwrap();
    assert_eq!(p.fixed_ips[1].ip_address, want.to_string());
    let e = n
        .subnet_create(
            &a,
            NewSubnet {
                network_id: net.id.clone(),
                cidr: Some("10.4.0.0/24".into()),
                ip_version: Some(6),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("does not match the ip_version"),
        "{e}"
    );
}

#[tokio::test]
async fn port_quota_holds_under_a_race_and_is_given_back() {
    let n = setup().await;
    let a = member("proj-a");
    let (net, _) = net_with_subnet(&n, &a, "q", "10.5.0.0/24").await;
    n.quota_update(&admin(), "proj-a", [("port".to_string(), 3)].into())
        .await
        .unwrap();
    let made = join_all((0..12).map(|_| n.port_create(&a, port(&net)))).await;
    let ok: Vec<_> = made.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), 3);
    for r in made.iter().filter_map(|r| r.as_ref().err()) {
        assert!(matches!(r, Error::QuotaExceeded { .. }), "{r:?}");
    }
    assert_eq!(n.quota_usage(&a, "proj-a").await.unwrap()["port"], 3);
    n.port_delete(&a, &ok[0].id).await.unwrap();
    assert_eq!(n.quota_usage(&a, "proj-a").await.unwrap()["port"], 2);
    // Members cannot raise their own quota.
    assert!(n
        .quota_update(&a, "proj-a", [("port".to_string(), 100)].into())
        .await
        .is_err());
}

#[tokio::test]
async fn the_default_group_is_made_once_with_neutrons_rules() {
    let n = setup().await;
    let a = member("proj-a");
    let lists = join_all((0..8).map(|_| n.group_list(&a, ListQuery::default()))).await;
    for l in &lists {
        let (groups, _) = l.as_ref().unwrap();
        assert_eq!(groups.len(), 1, "{groups:?}");
    }
    let (groups, _) = n.group_list(&a, ListQuery::default()).await.unwrap();
    let d = &groups[0];
    assert_eq!(d.name, "default");
    let mut rules: Vec<(String, String, bool)> = d
        .rules
        .iter()
        .map(|r| {
            (
                r.direction.clone(),
                r.ethertype.clone(),
                r.remote_group_id.as_deref() == Some(&d.id),
            )
        })
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            ("egress".into(), "IPv4".into(), false),
            ("egress".into(), "IPv6".into(), false),
            ("ingress".into(), "IPv4".into(), true),
            ("ingress".into(), "IPv6".into(), true)
        ]
    );
    // A port gets the default group; the default group is not deleted while used.
    let (net, _) = net_with_subnet(&n, &a, "sg", "10.6.0.0/24").await;
    let p = n.port_create(&a, port(&net)).await.unwrap();
    assert_eq!(p.security_groups, std::slice::from_ref(&d.id));
    let e = n.group_delete(&a, &d.id).await.unwrap_err();
    assert_eq!(code(&e), Some("SecurityGroupCannotRemoveDefault"));
    // A new group: two egress rules; SSH added; the same rule twice is a 409.
    let web = n
        .group_create(
            &a,
            NewSecurityGroup {
                name: "web".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(web.rules.len(), 2);
    let ssh = NewRule {
        security_group_id: web.id.clone(),
        direction: "ingress".into(),
        protocol: Some("tcp".into()),
        port_range_min: Some(22),
        port_range_max: Some(22),
        remote_ip_prefix: Some("0.0.0.0/0".into()),
        ..Default::default()
    };
    n.rule_create(&a, ssh.clone()).await.unwrap();
    let e = n.rule_create(&a, ssh.clone()).await.unwrap_err();
    assert_eq!(code(&e), Some("SecurityGroupRuleExists"), "{e:?}");
    // Bad rules are refused with Neutron's reasons.
    for (rule, says) in [
        (
            NewRule {
                port_range_min: Some(30),
                port_range_max: Some(20),
                ..ssh.clone()
            },
            "port_range_min must be <= port_range_max",
        ),
        (
            NewRule {
                protocol: Some("banana".into()),
                ..ssh.clone()
            },
            "not supported",
        ),
        (
            NewRule {
                protocol: None,
                ..ssh.clone()
            },
            "Must also specify protocol",
        ),
        (
            NewRule {
                remote_ip_prefix: Some("::/0".into()),
                ..ssh.clone()
            },
            "Conflicting value ethertype IPv4",
        ),
        (
            NewRule {
                direction: "sideways".into(),
                ..ssh.clone()
            },
            "direction",
        ),
        (
            NewRule {
                remote_group_id: Some(d.id.clone()),
                ..ssh.clone()
            },
            "Only remote_ip_prefix or remote_group_id",
        ),
    ] {
        let e = n.rule_create(&a, rule).await.unwrap_err();
        assert_eq!(e.status(), 400, "{e:?}");
        assert!(e.to_string().contains(says), "{says}: {e}");
    }
    // Another project cannot see or use the group.
    let b = member("proj-b");
    assert!(matches!(
        n.group_get(&b, &web.id).await,
        Err(Error::NotFound { .. })
    ));
    let (net_b, _) = net_with_subnet(&n, &b, "b", "10.7.0.0/24").await;
    let e = n
        .port_create(
            &b,
            NewPort {
                security_groups: Some(vec![web.id.clone()]),
                ..port(&net_b)
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    // A group in use is not deleted; once the port leaves it, it is.
    n.port_update(
        &a,
        &p.id,
        PortUpdate {
            security_groups: Some(vec![web.id.clone()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        code(&n.group_delete(&a, &web.id).await.unwrap_err()),
        Some("SecurityGroupInUse")
    );
    n.port_update(
        &a,
        &p.id,
        PortUpdate {
            security_groups: Some(vec![]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    n.group_delete(&a, &web.id).await.unwrap();
    // Rules came back to the quota: 4 default rules only.
    assert_eq!(
        n.quota_usage(&a, "proj-a").await.unwrap()["security_group_rule"],
        4
    );
}

#[tokio::test]
async fn lists_filter_sort_and_page_from_the_marker() {
    let n = setup().await;
    let a = member("proj-a");
    for name in ["delta", "alpha", "charlie", "bravo", "echo"] {
        let t = if name < "c" {
            vec!["early".to_string()]
        } else {
            vec![]
        };
        n.network_create(
            &a,
            NewNetwork {
                name: name.into(),
                tags: t,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let q = |f: &[(&str, &str)], limit: Option<usize>, marker: Option<String>| ListQuery {
        filters: f
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        sort: vec![("name".into(), "asc".into())],
        limit,
        marker,
    };
    let names = |v: Vec<ferrostack_types::network::Network>| {
        v.into_iter().map(|x| x.name).collect::<Vec<_>>()
    };
    let (page, more) = n.network_list(&a, q(&[], Some(2), None)).await.unwrap();
    assert!(more);
    let marker = page.last().unwrap().id.clone();
    assert_eq!(names(page), ["alpha", "bravo"]);
    let (page, _) = n
        .network_list(&a, q(&[], Some(2), Some(marker)))
        .await
        .unwrap();
    assert_eq!(names(page), ["charlie", "delta"]);
    let (page, _) = n
        .network_list(&a, q(&[("name", "echo"), ("name", "alpha")], None, None))
        .await
        .unwrap();
    assert_eq!(names(page), ["alpha", "echo"]);
    let (page, _) = n
        .network_list(&a, q(&[("tags", "early")], None, None))
        .await
        .unwrap();
    assert_eq!(names(page), ["alpha", "bravo"]);
    let (page, _) = n
        .network_list(
            &a,
            q(
                &[("not-tags", "early"), ("admin_state_up", "true")],
                None,
                None,
            ),
        )
        .await
        .unwrap();
    assert_eq!(names(page), ["charlie", "delta", "echo"]);
    let e = n
        .network_list(&a, q(&[("colour", "red")], None, None))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("[colour] is invalid attribute for filtering"),
        "{e}"
    );
    let e = n
        .network_list(&a, q(&[("shared", "maybe")], None, None))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
}
