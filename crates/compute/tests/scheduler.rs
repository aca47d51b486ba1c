//! The scheduler on simulated hosts (libvirt's test driver, 3–20 hosts): placement
//! and weighing, capacity that stays exact through many creates and deletes, each
//! host's refusal reason, availability zones, and 50 parallel creates that never pass
//! a host's capacity nor the project's quota.

mod common;

use std::collections::BTreeMap;

use common::{admin, ctx, gone, settle, setup};
use ferrostack_compute::{QuotaSet, Weigher};

#[tokio::test]
async fn spread_places_on_the_emptiest_host_and_capacity_is_exact() {
    let t = setup().await;
    for (n, mib) in [("sim-1", 8192), ("sim-2", 16384), ("sim-3", 4096)] {
        t.sim_host(n, 8, mib, "nova").await;
    }
    let f = t.flavor("m.2g", 1, 2048, 10).await;
    let a = ctx("proj-a", "member");
    let s = t
        .compute
        .server_create(&a, t.new_server("one", &f))
        .await
        .unwrap();
    let s = settle(&t.compute, &a, &s[0].id, &["BUILD"]).await;
    assert_eq!(s.status, "ACTIVE", "{:?}", s.fault);
    assert_eq!(s.power_state, 1);
    assert_eq!(s.host_name.as_deref(), Some("sim-2"));
    let h = t.host("sim-2").await;
    assert_eq!(
        (
            h.vcpus_used,
            h.memory_mb_used,
            h.disk_gb_used,
            h.running_vms
        ),
        (1, 2048, 10, 1)
    );
    // The domain really exists on the simulated host.
    let doms = t.compute.hypervisor().host(&h.uri).domains().await.unwrap();
    assert_eq!(doms.len(), 1);
    assert_eq!(doms[0].uuid, s.id);
}

#[tokio::test]
async fn pack_fills_one_host_first() {
    let t = common::setup_with(|c| c.weigher = Weigher::Pack).await;
    t.sim_host("big", 16, 32768, "nova").await;
    t.sim_host("small", 16, 8192, "nova").await;
    let f = t.flavor("m.1g", 1, 1024, 1).await;
    let a = ctx("proj-a", "member");
    let mut new = t.new_server("p", &f);
    new.max_count = 3;
    let made = t.compute.server_create(&a, new).await.unwrap();
    assert_eq!(made.len(), 3);
    assert!(
        made.iter().all(|s| s.host_name.as_deref() == Some("small")),
        "{made:?}"
    );
    assert_eq!(made[0].name, "p-1");
}

#[tokio::test]
async fn capacity_stays_exact_through_many_creates_and_deletes() {
    let t = setup().await;
    for i in 1..=20 {
        t.sim_host(&format!("sim-{i:02}"), 4, 8192, "nova").await;
    }
    let f = t.flavor("m.1g", 1, 1024, 5).await;
    let a = ctx("proj-a", "member");
    t.compute
        .quota_update(
            &admin(),
            "proj-a",
            BTreeMap::from([
                ("instances".to_string(), 200),
                ("cores".to_string(), 200),
                ("ram".to_string(), 1 << 20),
            ]),
            false,
        )
        .await
        .unwrap();
    let mut ids = Vec::new();
    for round in 0..4 {
        let mut new = t.new_server(&format!("r{round}"), &f);
        new.max_count = 15;
        ids.extend(
            t.compute
                .server_create(&a, new)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.id),
        );
    }
    for id in &ids {
        assert_eq!(
            settle(&t.compute, &a, id, &["BUILD"]).await.status,
            "ACTIVE"
        );
    }
    // Delete every other one.
    for id in ids.iter().step_by(2) {
        t.compute.server_delete(&a, id).await.unwrap();
    }
    for id in ids.iter().step_by(2) {
        gone(&t.compute, &a, id).await;
    }
    let hosts = t.compute.host_list(&admin()).await.unwrap();
    let (servers, _) = t
        .compute
        .server_list(
            &a,
            &ferrostack_compute::ServerQuery {
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(servers.len(), 30);
    for h in &hosts {
        let on: Vec<_> = servers
            .iter()
            .filter(|s| s.host_id.as_deref() == Some(&h.id))
            .collect();
        assert_eq!(h.running_vms, on.len() as i64, "{}", h.name);
        assert_eq!(h.memory_mb_used, 1024 * on.len() as i64, "{}", h.name);
        assert_eq!(h.vcpus_used, on.len() as i64, "{}", h.name);
        assert_eq!(h.disk_gb_used, 5 * on.len() as i64, "{}", h.name);
        let doms = t.compute.hypervisor().host(&h.uri).domains().await.unwrap();
        assert_eq!(doms.len(), on.len(), "{}: domains left behind", h.name);
    }
    let usage = t.compute.quota_usage(&a, "proj-a").await.unwrap();
    assert_eq!(
        (usage["instances"], usage["cores"], usage["ram"]),
        (30, 30, 30 * 1024)
    );
    for s in &servers {
        t.compute.server_delete(&a, &s.id).await.unwrap();
    }
    for s in &servers {
        gone(&t.compute, &a, &s.id).await;
    }
    for h in t.compute.host_list(&admin()).await.unwrap() {
        assert_eq!(
            (
                h.running_vms,
                h.memory_mb_used,
                h.vcpus_used,
                h.disk_gb_used
            ),
            (0, 0, 0, 0),
            "{}",
            h.name
        );
    }
    let usage = t.compute.quota_usage(&a, "proj-a").await.unwrap();
    assert_eq!(
        (usage["instances"], usage["cores"], usage["ram"]),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn no_valid_host_names_each_hosts_reason() {
    let t = setup().await;
    t.sim_host("sim-1", 8, 6144, "nova").await;
    t.sim_host("sim-2", 2, 65536, "nova").await;
    let off = t.sim_host("sim-3", 64, 65536, "nova").await;
    t.compute
        .host_set_enabled(&admin(), &off.name, false, Some("maintenance".into()))
        .await
        .unwrap();
    t.sim_host("sim-4", 64, 65536, "zone2").await;
    let f = t.flavor("m.big", 4, 8192, 10).await;
    let a = ctx("proj-a", "member");
    let mut new = t.new_server("big", &f);
    new.availability_zone = Some("nova".into());
    let s = t.compute.server_create(&a, new).await.unwrap().remove(0);
    assert_eq!(s.status, "ERROR");
    let fault = s.fault.unwrap().message;
    for want in [
        "No valid host was found",
        "sim-1: 6144 MiB RAM free < 8192 MiB asked",
        "sim-2: 2 vCPUs free < 4 asked",
        "sim-3: disabled (maintenance)",
        "sim-4: in availability zone zone2, not nova",
    ] {
        assert!(fault.contains(want), "{want:?} not in {fault:?}");
    }
    // The unplaced server holds no host capacity, and its delete works.
    assert_eq!(t.host("sim-1").await.running_vms, 0);
    let mut d = a.clone();
    d.request_id = "req-the-delete".into();
    t.compute.server_delete(&d, &s.id).await.unwrap();
    gone(&t.compute, &a, &s.id).await;
    // The instance action log says the same.
    let actions = t.compute.instance_actions(&admin(), &s.id).await.unwrap();
    let create = actions.iter().find(|x| x.action == "create").unwrap();
    let full = t
        .compute
        .instance_action(&admin(), &s.id, &create.request_id)
        .await
        .unwrap();
    assert_eq!(full.action, "create");
    assert_eq!(full.events[0].result.as_deref(), Some("Error"));
    assert!(full.events[0]
        .details
        .as_deref()
        .unwrap_or("")
        .contains("sim-1"));
}

#[tokio::test]
async fn availability_zones_place_and_unknown_zones_are_refused() {
    let t = setup().await;
    t.sim_host("a-1", 8, 16384, "az1").await;
    t.sim_host("b-1", 8, 16384, "az2").await;
    t.sim_host("b-2", 8, 8192, "az2").await;
    let f = t.flavor("m.1g", 1, 1024, 1).await;
    let a = ctx("proj-a", "member");
    for _ in 0..4 {
        let mut new = t.new_server("z", &f);
        new.availability_zone = Some("az2".into());
        let s = t.compute.server_create(&a, new).await.unwrap().remove(0);
        assert!(
            s.host_name.as_deref().unwrap().starts_with("b-"),
            "{:?}",
            s.host_name
        );
        assert_eq!(s.availability_zone.as_deref(), Some("az2"));
    }
    assert_eq!(t.host("a-1").await.running_vms, 0);
    let mut new = t.new_server("z", &f);
    new.availability_zone = Some("nowhere".into());
    let e = t.compute.server_create(&a, new).await.unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("nowhere"), "{e}");
    // zone:host is for admins.
    let mut new = t.new_server("z", &f);
    new.availability_zone = Some("az1:a-1".into());
    assert_eq!(
        t.compute
            .server_create(&a, new.clone())
            .await
            .unwrap_err()
            .status(),
        403
    );
    let on = t
        .compute
        .server_create(&common::admin(), new)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(on.host_name.as_deref(), Some("a-1"));
    let zones = t.compute.availability_zones(&a).await.unwrap();
    assert_eq!(
        zones,
        vec![("az1".to_string(), true), ("az2".to_string(), true)]
    );
}

#[tokio::test]
async fn fifty_parallel_creates_never_over_commit_a_host() {
    let t = setup().await;
    // Three hosts with room for 10 servers each: 30 places for 50 requests.
    for i in 1..=3 {
        t.sim_host(&format!("sim-{i}"), 10, 10 * 1024, "nova").await;
    }
    let f = t.flavor("m.1g", 1, 1024, 1).await;
    t.compute
        .quota_update(
            &admin(),
            "proj-a",
            BTreeMap::from([
                ("instances".to_string(), 100),
                ("cores".to_string(), 100),
                ("ram".to_string(), 1 << 20),
            ]),
            false,
        )
        .await
        .unwrap();
    let a = ctx("proj-a", "member");
    let mut tasks = Vec::new();
    for i in 0..50 {
        let c = t.compute.clone();
        let a = a.clone();
        let new = t.new_server(&format!("p{i}"), &f);
        tasks.push(tokio::spawn(async move { c.server_create(&a, new).await }));
    }
    let mut placed = 0;
    let mut refused = 0;
    for task in tasks {
        let s = task.await.unwrap().unwrap().remove(0);
        if s.status == "ERROR" {
            assert!(s.fault.unwrap().message.contains("No valid host"));
            refused += 1;
        } else {
            placed += 1;
        }
    }
    assert_eq!((placed, refused), (30, 20));
    for h in t.compute.host_list(&admin()).await.unwrap() {
        assert_eq!(h.running_vms, 10, "{}", h.name);
        assert_eq!(h.memory_mb_used, 10 * 1024, "{}", h.name);
    }
}

#[tokio::test]
async fn fifty_parallel_creates_never_pass_the_project_quota() {
    let t = setup().await;
    for i in 1..=5 {
        t.sim_host(&format!("sim-{i}"), 64, 65536, "nova").await;
    }
    let f = t.flavor("m.1g", 1, 1024, 1).await;
    let mut q = QuotaSet::defaults().0;
    q.retain(|k, _| k == "instances");
    q.insert("instances".into(), 12);
    t.compute
        .quota_update(&admin(), "proj-q", q, false)
        .await
        .unwrap();
    let a = ctx("proj-q", "member");
    let mut tasks = Vec::new();
    for i in 0..50 {
        let c = t.compute.clone();
        let a = a.clone();
        let new = t.new_server(&format!("q{i}"), &f);
        tasks.push(tokio::spawn(async move { c.server_create(&a, new).await }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(
                    e.to_string().contains("Quota exceeded for instances"),
                    "{e}"
                );
                assert!(e.to_string().contains("of 12"), "{e}");
            }
        }
    }
    assert_eq!(ok, 12);
    let usage = t.compute.quota_usage(&a, "proj-q").await.unwrap();
    assert_eq!(usage["instances"], 12);
    let total: i64 = t
        .compute
        .host_list(&admin())
        .await
        .unwrap()
        .iter()
        .map(|h| h.running_vms)
        .sum();
    assert_eq!(total, 12);
}

#[tokio::test]
async fn the_dry_run_says_where_servers_would_go_and_why_not_without_claiming() {
    let t = setup().await;
    t.sim_host("sim-1", 8, 8192, "nova").await;
    t.sim_host("sim-2", 8, 6144, "nova").await;
    let f = t.flavor("m.4g", 1, 4096, 1).await;
    let a = ctx("proj-a", "member");
    let p = t
        .compute
        .schedule_check(&a, &f, None, 3, None)
        .await
        .unwrap();
    assert_eq!(p.fits, vec!["sim-1", "sim-2", "sim-1"]);
    assert!(p.reasons.is_empty());
    let p = t
        .compute
        .schedule_check(&a, &f, None, 4, None)
        .await
        .unwrap();
    assert_eq!(p.fits.len(), 3);
    assert_eq!(
        p.reasons,
        vec![
            "sim-1: 0 MiB RAM free < 4096 MiB asked",
            "sim-2: 2048 MiB RAM free < 4096 MiB asked"
        ]
    );
    // Nothing was claimed, and a real create lands where the dry run said.
    assert_eq!(t.host("sim-1").await.running_vms, 0);
    let s = t
        .compute
        .server_create(&a, t.new_server("x", &f))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(s.host_name.as_deref(), Some("sim-1"));
    let p = t
        .compute
        .schedule_check(&a, &f, Some("elsewhere".into()), 1, None)
        .await
        .unwrap();
    assert!(p.fits.is_empty());
    assert!(p.reasons[0].contains("not elsewhere"), "{:?}", p.reasons);
}
