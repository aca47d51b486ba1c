//! Resize (confirm and revert), cold and live migration, evacuation, rebuild, rescue,
//! shelve and snapshots on simulated hosts: the states a user sees, where the server
//! runs in libvirt, and that host claims and quota stay exact through every move.

mod common;

use common::{admin, ctx, settle, setup};
use ferrostack_compute::{Rebuild, ServerAction};
use ferrostack_core::Ctx;

/// vCPUs and MiB claimed on a host.
async fn used(t: &common::T, host: &str) -> (i64, i64) {
    let h = t.host(host).await;
    (h.vcpus_used, h.memory_mb_used)
}

async fn quota(t: &common::T, a: &Ctx) -> (i64, i64, i64) {
    let u = t.compute.quota_usage(a, "proj-a").await.unwrap();
    (u["instances"], u["cores"], u["ram"])
}

async fn domain_on(t: &common::T, host: &str, id: &str) -> Option<String> {
    let uri = t.host(host).await.uri;
    t.compute.hypervisor().host(&uri).xml(id).await.ok()
}

async fn boot(t: &common::T, a: &Ctx, flavor: &str, zone: Option<&str>) -> String {
    let mut n = t.new_server("vm", flavor);
    n.availability_zone = zone.map(str::to_string);
    let s = t.compute.server_create(a, n).await.unwrap().remove(0);
    assert_eq!(
        settle(&t.compute, a, &s.id, &["BUILD"]).await.status,
        "ACTIVE"
    );
    s.id
}

#[tokio::test]
async fn resize_claims_the_new_flavor_then_confirm_gives_the_old_back() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    t.sim_host("sim-1", 4, 4096, "nova").await;
    let small = t.flavor("small", 1, 1024, 1).await;
    let big = t.flavor("big", 4, 6144, 2).await;
    let id = boot(&t, &a, &small, None).await;
    t.sim_host("sim-2", 8, 16384, "nova").await;
    assert_eq!(quota(&t, &a).await, (1, 1, 1024));

    t.compute.server_resize(&a, &id, &big).await.unwrap();
    let s = settle(&t.compute, &a, &id, &["RESIZE"]).await;
    assert_eq!(s.status, "VERIFY_RESIZE");
    // sim-1 has no room for 6 GiB: the resize moved to sim-2, and both places are held.
    assert_eq!(s.host_name.as_deref(), Some("sim-2"));
    assert_eq!(s.flavor.name, "big");
    assert_eq!(used(&t, "sim-1").await, (1, 1024));
    assert_eq!(used(&t, "sim-2").await, (4, 6144));
    assert_eq!(quota(&t, &a).await, (1, 4, 6144));
    let xml = domain_on(&t, "sim-2", &id)
        .await
        .expect("the domain runs on sim-2");
    assert!(xml.contains("6291456"), "6 GiB in the domain: {xml}");
    assert!(domain_on(&t, "sim-1", &id).await.is_none());

    t.compute.server_confirm_resize(&a, &id).await.unwrap();
    let s = t.compute.server_get(&a, &id).await.unwrap();
    assert_eq!(s.status, "ACTIVE");
    assert_eq!(used(&t, "sim-1").await, (0, 0));
    assert_eq!(used(&t, "sim-2").await, (4, 6144));
    assert_eq!(quota(&t, &a).await, (1, 4, 6144));
    // Confirmed once: a second confirm is refused and gives nothing back twice.
    let again = t.compute.server_confirm_resize(&a, &id).await.unwrap_err();
    assert_eq!(again.status(), 409, "{again}");
    assert_eq!(used(&t, "sim-2").await, (4, 6144));
    let m = t.compute.migrations(&admin(), None).await.unwrap();
    assert_eq!(
        (m[0].migration_type.as_str(), m[0].status.as_str()),
        ("resize", "confirmed")
    );

    t.compute.server_delete(&a, &id).await.unwrap();
    common::gone(&t.compute, &a, &id).await;
    assert_eq!(used(&t, "sim-2").await, (0, 0));
    assert_eq!(quota(&t, &a).await, (0, 0, 0));
}

#[tokio::test]
async fn revert_puts_the_server_back_on_its_flavor_and_host() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    t.sim_host("sim-1", 4, 4096, "nova").await;
    let small = t.flavor("small", 1, 1024, 1).await;
    let big = t.flavor("big", 4, 6144, 2).await;
    let id = boot(&t, &a, &small, None).await;
    t.sim_host("sim-2", 8, 16384, "nova").await;
    t.compute
        .server_action(&a, &id, ServerAction::Stop)
        .await
        .unwrap();
    settle(&t.compute, &a, &id, &["ACTIVE"]).await;
    t.compute.server_resize(&a, &id, &big).await.unwrap();
    settle(&t.compute, &a, &id, &["RESIZE"]).await;
    t.compute.server_revert_resize(&a, &id).await.unwrap();
    let s = settle(&t.compute, &a, &id, &["REVERT_RESIZE"]).await;
    // A stopped server stays stopped through a resize and its revert.
    assert_eq!(s.status, "SHUTOFF");
    assert_eq!(s.host_name.as_deref(), Some("sim-1"));
    assert_eq!(s.flavor.name, "small");
    assert_eq!(used(&t, "sim-1").await, (1, 1024));
    assert_eq!(used(&t, "sim-2").await, (0, 0));
    assert_eq!(quota(&t, &a).await, (1, 1, 1024));
    assert!(domain_on(&t, "sim-1", &id).await.is_some());
    assert!(domain_on(&t, "sim-2", &id).await.is_none());
}

#[tokio::test]
async fn a_resize_that_cannot_be_done_is_refused_with_the_reason() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    t.sim_host("sim-1", 4, 4096, "nova").await;
    let small = t.flavor("small", 1, 1024, 2).await;
    let tiny_disk = t.flavor("tiny-disk", 1, 2048, 1).await;
    let huge = t.flavor("huge", 2, 32768, 2).await;
    let id = boot(&t, &a, &small, None).await;
    let same = t.compute.server_resize(&a, &id, &small).await.unwrap_err();
    assert!(same.to_string().contains("must change flavor"), "{same}");
    let down = t
        .compute
        .server_resize(&a, &id, &tiny_disk)
        .await
        .unwrap_err();
    assert!(down.to_string().contains("resize disk down"), "{down}");
    let nowhere = t.compute.server_resize(&a, &id, &huge).await.unwrap_err();
    assert_eq!(nowhere.status(), 400);
    assert!(
        nowhere.to_string().contains("sim-1:") && nowhere.to_string().contains("MiB RAM free"),
        "{nowhere}"
    );
    // Nothing is left claimed or half-changed by the refusals.
    let s = t.compute.server_get(&a, &id).await.unwrap();
    assert_eq!(
        (s.status.as_str(), s.task_state.as_deref()),
        ("ACTIVE", None)
    );
    assert_eq!(used(&t, "sim-1").await, (1, 1024));
    assert_eq!(quota(&t, &a).await, (1, 1, 1024));
    // Another project cannot see it, a reader cannot resize it.
    let other = t
        .compute
        .server_resize(&ctx("proj-b", "member"), &id, &huge)
        .await
        .unwrap_err();
    assert_eq!(other.status(), 404);
    let reader = t
        .compute
        .server_resize(&ctx("proj-a", "reader"), &id, &huge)
        .await
        .unwrap_err();
    assert_eq!(reader.status(), 403);
}

#[tokio::test]
async fn admins_migrate_live_and_cold_and_evacuate_a_host_that_is_down() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let adm = admin();
    t.sim_host("sim-1", 8, 8192, "nova").await;
    let f = t.flavor("small", 1, 1024, 1).await;
    let id = boot(&t, &a, &f, None).await;
    // Members may not move servers; with one host there is nowhere to go.
    assert_eq!(
        t.compute
            .server_migrate(&a, &id, None)
            .await
            .unwrap_err()
            .status(),
        403
    );
    let alone = t.compute.server_migrate(&adm, &id, None).await.unwrap_err();
    assert!(
        alone
            .to_string()
            .contains("sim-1: the server is on this host already"),
        "{alone}"
    );
    t.sim_host("sim-2", 8, 8192, "nova").await;
    t.sim_host("sim-3", 8, 8192, "nova").await;

    // Cold: VERIFY_RESIZE on another host, then confirmed.
    t.compute
        .server_migrate(&adm, &id, Some("sim-2".into()))
        .await
        .unwrap();
    let s = settle(&t.compute, &a, &id, &["RESIZE"]).await;
    assert_eq!(
        (s.status.as_str(), s.host_name.as_deref()),
        ("VERIFY_RESIZE", Some("sim-2"))
    );
    t.compute.server_confirm_resize(&a, &id).await.unwrap();
    assert_eq!(used(&t, "sim-1").await, (0, 0));
    assert_eq!(used(&t, "sim-2").await, (1, 1024));

    // Live: stays ACTIVE, and runs on the new host only.
    t.compute
        .server_live_migrate(&adm, &id, Some("sim-3".into()))
        .await
        .unwrap();
    let s = settle(&t.compute, &a, &id, &["MIGRATING"]).await;
    assert_eq!(
        (s.status.as_str(), s.host_name.as_deref()),
        ("ACTIVE", Some("sim-3"))
    );
    assert!(domain_on(&t, "sim-3", &id).await.is_some());
    assert!(domain_on(&t, "sim-2", &id).await.is_none());
    assert_eq!(used(&t, "sim-2").await, (0, 0));
    assert_eq!(used(&t, "sim-3").await, (1, 1024));

    // Evacuate: refused while sim-3 is up; once an admin says it is down, the server is
    // rebuilt elsewhere and nothing is placed on sim-3.
    let up = t
        .compute
        .server_evacuate(&adm, &id, None)
        .await
        .unwrap_err();
    assert!(up.to_string().contains("still in use"), "{up}");
    t.compute
        .host_set_forced_down(&adm, "sim-3", true)
        .await
        .unwrap();
    t.compute.server_evacuate(&adm, &id, None).await.unwrap();
    let s = settle(&t.compute, &a, &id, &["REBUILD"]).await;
    assert_eq!(s.status, "ACTIVE");
    assert_ne!(s.host_name.as_deref(), Some("sim-3"));
    assert_eq!(used(&t, "sim-3").await, (0, 0));
    // The dead host's copy stays while it is down, and goes once it is back.
    assert!(domain_on(&t, "sim-3", &id).await.is_some());
    t.compute.reconcile().await.unwrap();
    assert!(domain_on(&t, "sim-3", &id).await.is_some());
    t.compute
        .host_set_forced_down(&adm, "sim-3", false)
        .await
        .unwrap();
    let r = t.compute.reconcile().await.unwrap();
    assert_eq!(r.removed.len(), 1, "{r:?}");
    assert!(domain_on(&t, "sim-3", &id).await.is_none());
    assert!(domain_on(&t, s.host_name.as_deref().unwrap(), &id)
        .await
        .is_some());
    let types: Vec<String> = t
        .compute
        .migrations(&adm, None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| format!("{}:{}", m.migration_type, m.status))
        .collect();
    assert_eq!(
        types,
        [
            "evacuation:done",
            "live-migration:completed",
            "migration:confirmed"
        ]
    );
    let placed = t
        .compute
        .schedule_check(&a, &f, Some("nova".into()), 1, None)
        .await
        .unwrap();
    assert_ne!(placed.fits, vec!["sim-3".to_string()]);
}

#[tokio::test]
async fn rebuild_rescue_and_shelve_keep_the_server_and_its_claims_right() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    t.sim_host("sim-1", 8, 8192, "nova").await;
    let f = t.flavor("small", 1, 1024, 1).await;
    let id = boot(&t, &a, &f, None).await;

    t.compute
        .server_rebuild(
            &a,
            &id,
            Rebuild {
                image_id: t.image.clone(),
                name: Some("rebuilt".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let s = settle(&t.compute, &a, &id, &["REBUILD"]).await;
    assert_eq!((s.status.as_str(), s.name.as_str()), ("ACTIVE", "rebuilt"));
    let bad = t
        .compute
        .server_rebuild(
            &a,
            &id,
            Rebuild {
                image_id: "no-such-image".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad.status(), 400);

    t.compute.server_rescue(&a, &id, None).await.unwrap();
    let s = settle(&t.compute, &a, &id, &["ACTIVE"]).await;
    assert_eq!(s.status, "RESCUE");
    let xml = domain_on(&t, "sim-1", &id).await.unwrap();
    let rescue_at = xml
        .find("disk.rescue")
        .expect("the rescue disk is attached");
    let own_at = xml
        .find(&format!("/simulated/{id}/disk'"))
        .or_else(|| xml.find(&format!("/simulated/{id}/disk\"")))
        .expect("the server's disk stays attached");
    assert!(rescue_at < own_at, "the rescue disk comes first: {xml}");
    // Only unrescue is offered in RESCUE.
    let stop = t
        .compute
        .server_action(&a, &id, ServerAction::Stop)
        .await
        .unwrap_err();
    assert!(stop.to_string().contains("vm_state rescued"), "{stop}");
    t.compute
        .server_action(&a, &id, ServerAction::Unrescue)
        .await
        .unwrap();
    assert_eq!(
        settle(&t.compute, &a, &id, &["RESCUE"]).await.status,
        "ACTIVE"
    );
    assert!(!domain_on(&t, "sim-1", &id)
        .await
        .unwrap()
        .contains("disk.rescue"));

    // Shelve frees the host but not the quota; unshelve claims a host again.
    t.compute
        .server_action(&a, &id, ServerAction::Shelve)
        .await
        .unwrap();
    let s = settle(&t.compute, &a, &id, &["ACTIVE"]).await;
    assert_eq!(
        (s.status.as_str(), s.host_name.as_deref()),
        ("SHELVED_OFFLOADED", None)
    );
    assert_eq!(used(&t, "sim-1").await, (0, 0));
    assert!(domain_on(&t, "sim-1", &id).await.is_none());
    assert_eq!(quota(&t, &a).await, (1, 1, 1024));
    t.compute.server_unshelve(&a, &id, None).await.unwrap();
    let s = settle(&t.compute, &a, &id, &["SHELVED_OFFLOADED"]).await;
    assert_eq!(
        (s.status.as_str(), s.host_name.as_deref()),
        ("ACTIVE", Some("sim-1"))
    );
    assert_eq!(used(&t, "sim-1").await, (1, 1024));
}

#[tokio::test]
async fn a_snapshot_becomes_an_active_image_of_the_project_that_boots() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    t.sim_host("sim-1", 8, 8192, "nova").await;
    let f = t.flavor("small", 1, 1024, 1).await;
    let id = boot(&t, &a, &f, None).await;
    let image = t
        .compute
        .server_create_image(
            &a,
            &id,
            "snap",
            [("purpose".to_string(), "test".to_string())].into(),
        )
        .await
        .unwrap();
    settle(&t.compute, &a, &id, &["__"]).await;
    let mut img = t.images.image_get(&a, &image).await.unwrap();
    for _ in 0..100 {
        if img.status == "active" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        img = t.images.image_get(&a, &image).await.unwrap();
    }
    assert_eq!(
        (img.status.as_str(), img.owner.as_str()),
        ("active", "proj-a")
    );
    assert_eq!(
        img.properties.get("image_type").map(String::as_str),
        Some("snapshot")
    );
    assert_eq!(img.properties.get("instance_uuid"), Some(&id));
    assert_eq!(
        img.properties.get("purpose").map(String::as_str),
        Some("test")
    );
    // Other projects do not see it; the project boots it.
    assert!(t
        .images
        .image_get(&ctx("proj-b", "member"), &image)
        .await
        .is_err());
    let mut n = t.new_server("from-snap", &f);
    n.image_id = Some(image);
    let s = t.compute.server_create(&a, n).await.unwrap().remove(0);
    assert_eq!(
        settle(&t.compute, &a, &s.id, &["BUILD"]).await.status,
        "ACTIVE"
    );
}

#[tokio::test]
async fn server_groups_place_members_together_or_apart_and_say_which_rule_refused() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    for h in ["sim-1", "sim-2", "sim-3"] {
        t.sim_host(h, 8, 8192, "nova").await;
    }
    let f = t.flavor("small", 1, 1024, 1).await;
    let apart = t
        .compute
        .group_create(&a, "apart", "anti-affinity", None)
        .await
        .unwrap();
    let mut hosts = Vec::new();
    for i in 0..4 {
        let mut n = t.new_server(&format!("a{i}"), &f);
        n.group = Some(apart.id.clone());
        let s = t.compute.server_create(&a, n).await.unwrap().remove(0);
        let s = settle(&t.compute, &a, &s.id, &["BUILD"]).await;
        hosts.push((
            s.status.clone(),
            s.host_name.clone(),
            s.fault.map(|f| f.message),
        ));
    }
    let placed: std::collections::BTreeSet<_> =
        hosts[..3].iter().map(|h| h.1.clone().unwrap()).collect();
    assert_eq!(placed.len(), 3, "three members on three hosts: {hosts:?}");
    assert_eq!(hosts[3].0, "ERROR");
    let why = hosts[3].2.clone().unwrap();
    assert!(
        why.contains(
            "sim-1: server group apart (anti-affinity) already has 1 member here (at most 1)"
        ),
        "{why}"
    );
    let g = t.compute.group_get(&a, &apart.id).await.unwrap();
    assert_eq!(g.members.len(), 4);

    let together = t
        .compute
        .group_create(&a, "together", "affinity", None)
        .await
        .unwrap();
    let mut on = Vec::new();
    for i in 0..3 {
        let mut n = t.new_server(&format!("t{i}"), &f);
        n.group = Some(together.id.clone());
        let s = t.compute.server_create(&a, n).await.unwrap().remove(0);
        on.push(
            settle(&t.compute, &a, &s.id, &["BUILD"])
                .await
                .host_name
                .unwrap(),
        );
    }
    assert!(on.iter().all(|h| h == &on[0]), "{on:?}");
    // The dry run applies the group too: a member that would not fit its host.
    let big = t.flavor("big", 1, 7168, 1).await;
    let p = t
        .compute
        .schedule_check(&a, &big, None, 1, Some(&together.id))
        .await
        .unwrap();
    assert!(p.fits.is_empty());
    assert!(
        p.reasons
            .iter()
            .any(|r| r.contains("server group together (affinity) has its members on")),
        "{:?}",
        p.reasons
    );
    // Another project cannot use or see the group.
    let b = ctx("proj-b", "member");
    let mut n = t.new_server("intruder", &f);
    n.group = Some(together.id.clone());
    assert_eq!(
        t.compute.server_create(&b, n).await.unwrap_err().status(),
        400
    );
    assert_eq!(
        t.compute
            .group_get(&b, &together.id)
            .await
            .unwrap_err()
            .status(),
        404
    );
    assert!(t.compute.group_list(&b, false).await.unwrap().is_empty());
    let bad = t
        .compute
        .group_create(&a, "x", "sometimes", None)
        .await
        .unwrap_err();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn parallel_creates_in_an_anti_affinity_group_never_share_a_host() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    for h in ["sim-1", "sim-2", "sim-3"] {
        t.sim_host(h, 16, 16384, "nova").await;
    }
    let f = t.flavor("small", 1, 512, 1).await;
    let g = t
        .compute
        .group_create(&a, "apart", "anti-affinity", Some(1))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let c = t.compute.clone();
        let mut n = t.new_server(&format!("p{i}"), &f);
        n.group = Some(g.id.clone());
        let a = a.clone();
        tasks.push(tokio::spawn(async move { c.server_create(&a, n).await }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().remove(0).id);
    }
    let mut placed = Vec::new();
    for id in ids {
        let s = settle(&t.compute, &a, &id, &["BUILD"]).await;
        if s.status == "ACTIVE" {
            placed.push(s.host_name.unwrap());
        } else {
            assert!(s.fault.unwrap().message.contains("anti-affinity"));
        }
    }
    placed.sort();
    assert_eq!(placed, ["sim-1", "sim-2", "sim-3"]);
}
