//! Servers on a simulated host: every action's states, locks, who may see and change
//! what, bad input, metadata and tags, listing filters and paging, and the reconciler
//! noticing a guest that stopped behind the service's back.

mod common;

use std::collections::BTreeMap;

use common::{admin, ctx, gone, settle, setup};
use ferrostack_compute::{ServerAction, ServerQuery};
use ferrostack_hypervisor::PowerState;

async fn one_active(t: &common::T, a: &ferrostack_core::Ctx) -> (String, String) {
    t.sim_host("sim-1", 16, 65536, "nova").await;
    let f = t.flavor("m.1g", 1, 1024, 1).await;
    let s = t
        .compute
        .server_create(a, t.new_server("vm", &f))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        settle(&t.compute, a, &s.id, &["BUILD"]).await.status,
        "ACTIVE"
    );
    (s.id, f)
}

#[tokio::test]
async fn every_action_moves_the_server_through_novas_states() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let (id, _) = one_active(&t, &a).await;
    let uri = t.host("sim-1").await.uri;
    let hv = t.compute.hypervisor().host(&uri);
    let steps = [
        (ServerAction::Stop, "SHUTOFF", 4, PowerState::Shutdown),
        (ServerAction::Start, "ACTIVE", 1, PowerState::Running),
        (
            ServerAction::Reboot { hard: false },
            "ACTIVE",
            1,
            PowerState::Running,
        ),
        (
            ServerAction::Reboot { hard: true },
            "ACTIVE",
            1,
            PowerState::Running,
        ),
        (ServerAction::Pause, "PAUSED", 3, PowerState::Paused),
        (ServerAction::Unpause, "ACTIVE", 1, PowerState::Running),
        (ServerAction::Suspend, "SUSPENDED", 7, PowerState::Suspended),
        (ServerAction::Resume, "ACTIVE", 1, PowerState::Running),
    ];
    for (action, status, power, dom) in steps {
        t.compute.server_action(&a, &id, action).await.unwrap();
        let s = settle(&t.compute, &a, &id, &["__"]).await;
        assert_eq!(
            (s.status.as_str(), s.power_state),
            (status, power),
            "after {action:?}"
        );
        assert_eq!(hv.state(&id).await.unwrap(), Some(dom), "after {action:?}");
    }
    // An action from the wrong state is refused with the state named.
    let e = t
        .compute
        .server_action(&a, &id, ServerAction::Start)
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409);
    assert!(e.to_string().contains("vm_state active"), "{e}");
    let actions = t.compute.instance_actions(&a, &id).await.unwrap();
    let names: Vec<&str> = actions.iter().map(|x| x.action.as_str()).collect();
    assert_eq!(names.len(), 9, "{names:?}");
    assert_eq!(names.last(), Some(&"create"));
    assert!(names.contains(&"suspend") && names.contains(&"reboot"));
}

#[tokio::test]
async fn a_locked_server_refuses_members_with_the_reason_and_admins_may_act() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let (id, _) = one_active(&t, &a).await;
    t.compute
        .server_lock(&a, &id, Some("payroll run".into()))
        .await
        .unwrap();
    let s = t.compute.server_get(&a, &id).await.unwrap();
    assert!(s.locked);
    for e in [
        t.compute
            .server_action(&a, &id, ServerAction::Stop)
            .await
            .unwrap_err(),
        t.compute.server_delete(&a, &id).await.unwrap_err(),
    ] {
        assert_eq!(e.status(), 409);
        assert!(
            e.to_string().contains("locked") && e.to_string().contains("payroll run"),
            "{e}"
        );
    }
    t.compute
        .server_action(&admin(), &id, ServerAction::Stop)
        .await
        .unwrap();
    assert_eq!(settle(&t.compute, &a, &id, &[]).await.status, "SHUTOFF");
    t.compute.server_unlock(&a, &id).await.unwrap();
    // An admin's lock from outside the project needs an admin to lift it.
    t.compute.server_lock(&admin(), &id, None).await.unwrap();
    assert_eq!(
        t.compute.server_unlock(&a, &id).await.unwrap_err().status(),
        403
    );
    t.compute.server_unlock(&admin(), &id).await.unwrap();
    t.compute.server_delete(&a, &id).await.unwrap();
    gone(&t.compute, &a, &id).await;
}

#[tokio::test]
async fn other_projects_get_404_and_readers_403() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let (id, f) = one_active(&t, &a).await;
    let b = ctx("proj-b", "member");
    for e in [
        t.compute.server_get(&b, &id).await.unwrap_err(),
        t.compute
            .server_action(&b, &id, ServerAction::Stop)
            .await
            .unwrap_err(),
        t.compute.server_delete(&b, &id).await.unwrap_err(),
        t.compute.console_output(&b, &id, None).await.unwrap_err(),
        t.compute.instance_actions(&b, &id).await.unwrap_err(),
    ] {
        assert_eq!(e.status(), 404, "{e}");
    }
    let (listed, _) = t
        .compute
        .server_list(&b, &ServerQuery::default())
        .await
        .unwrap();
    assert!(listed.is_empty());
    // Another project's id as a filter does not widen a member's list.
    let q = ServerQuery {
        project_id: Some("proj-a".into()),
        all_tenants: true,
        ..Default::default()
    };
    assert!(t.compute.server_list(&b, &q).await.unwrap().0.is_empty());
    let r = ctx("proj-a", "reader");
    assert_eq!(t.compute.server_get(&r, &id).await.unwrap().id, id);
    assert_eq!(
        t.compute
            .server_action(&r, &id, ServerAction::Stop)
            .await
            .unwrap_err()
            .status(),
        403
    );
    assert_eq!(
        t.compute
            .server_create(&r, t.new_server("x", &f))
            .await
            .unwrap_err()
            .status(),
        403
    );
    // Admins see every project's with all_tenants.
    assert_eq!(
        t.compute.server_list(&admin(), &q).await.unwrap().0.len(),
        1
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_reasons() {
    let t = setup().await;
    t.sim_host("sim-1", 16, 65536, "nova").await;
    let f = t.flavor("m.1g", 1, 1024, 1).await;
    let a = ctx("proj-a", "member");
    let cases: Vec<(ferrostack_compute::NewServer, u16, &str)> = vec![
        (
            ferrostack_compute::NewServer {
                name: "".into(),
                ..t.new_server("x", &f)
            },
            400,
            "name",
        ),
        (
            ferrostack_compute::NewServer {
                name: "a\u{0}b".into(),
                ..t.new_server("x", &f)
            },
            400,
            "name",
        ),
        (
            ferrostack_compute::NewServer {
                name: "n".repeat(256),
                ..t.new_server("x", &f)
            },
            400,
            "name",
        ),
        (
            ferrostack_compute::NewServer {
                flavor_id: "nope".into(),
                ..t.new_server("x", &f)
            },
            400,
            "Flavor nope",
        ),
        (
            ferrostack_compute::NewServer {
                image_id: Some("0b5c7e5e-94a4-4b8e-9f0e-5f5d1c7b2a11".into()),
                ..t.new_server("x", &f)
            },
            400,
            "image",
        ),
        (
            ferrostack_compute::NewServer {
                min_count: -1,
                ..t.new_server("x", &f)
            },
            400,
            "min_count",
        ),
        (
            ferrostack_compute::NewServer {
                max_count: 0,
                ..t.new_server("x", &f)
            },
            400,
            "max_count",
        ),
        (
            ferrostack_compute::NewServer {
                min_count: 3,
                max_count: 2,
                ..t.new_server("x", &f)
            },
            400,
            "min_count",
        ),
        (
            ferrostack_compute::NewServer {
                max_count: 1000,
                ..t.new_server("x", &f)
            },
            400,
            "max_count",
        ),
        (
            ferrostack_compute::NewServer {
                user_data: Some("A".repeat(1 << 20)),
                ..t.new_server("x", &f)
            },
            400,
            "user_data",
        ),
        (
            ferrostack_compute::NewServer {
                user_data: Some("not base64!".into()),
                ..t.new_server("x", &f)
            },
            400,
            "base64",
        ),
        (
            ferrostack_compute::NewServer {
                key_name: Some("nokey".into()),
                ..t.new_server("x", &f)
            },
            400,
            "key_name",
        ),
        (
            ferrostack_compute::NewServer {
                metadata: (0..200).map(|i| (format!("k{i}"), "v".into())).collect(),
                ..t.new_server("x", &f)
            },
            403,
            "metadata_items",
        ),
        (
            ferrostack_compute::NewServer {
                tags: vec!["a/b".into()],
                ..t.new_server("x", &f)
            },
            400,
            "tag",
        ),
    ];
    for (new, status, word) in cases {
        let e = t.compute.server_create(&a, new).await.unwrap_err();
        let status_seen = if matches!(e, ferrostack_core::Error::QuotaExceeded { .. }) {
            403
        } else {
            e.status()
        };
        assert_eq!(status_seen, status, "{e}");
        assert!(e.to_string().contains(word), "{word:?} not in {e}");
    }
    // Nothing was half-made: no server, no claim, no quota used.
    assert!(t
        .compute
        .server_list(&a, &ServerQuery::default())
        .await
        .unwrap()
        .0
        .is_empty());
    assert_eq!(t.host("sim-1").await.running_vms, 0);
    assert_eq!(
        t.compute.quota_usage(&a, "proj-a").await.unwrap()["instances"],
        0
    );
}

#[tokio::test]
async fn metadata_tags_filters_and_paging() {
    let t = setup().await;
    t.sim_host("sim-1", 64, 65536, "nova").await;
    let f = t.flavor("m.1g", 1, 1024, 1).await;
    let a = ctx("proj-a", "member");
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut n = t.new_server(&format!("web-{i}"), &f);
        if i % 2 == 0 {
            n.tags = vec!["even".into()];
        }
        ids.push(t.compute.server_create(&a, n).await.unwrap().remove(0).id);
    }
    t.compute
        .server_create(&a, t.new_server("db-0", &f))
        .await
        .unwrap();
    let q = |name: Option<&str>, tags: Vec<&str>| ServerQuery {
        name: name.map(str::to_string),
        tags: tags.into_iter().map(str::to_string).collect(),
        ..Default::default()
    };
    assert_eq!(
        t.compute
            .server_list(&a, &q(Some("^web-"), vec![]))
            .await
            .unwrap()
            .0
            .len(),
        7
    );
    assert_eq!(
        t.compute
            .server_list(&a, &q(None, vec!["even"]))
            .await
            .unwrap()
            .0
            .len(),
        4
    );
    assert_eq!(
        t.compute
            .server_list(&a, &q(Some("("), vec![]))
            .await
            .unwrap_err()
            .status(),
        400
    );
    // Pages of 3 with markers cover everything once, newest first.
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let (page, more) = t
            .compute
            .server_list(
                &a,
                &ServerQuery {
                    limit: Some(3),
                    marker: marker.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        seen.extend(page.iter().map(|s| s.id.clone()));
        marker = page.last().map(|s| s.id.clone());
        if !more {
            break;
        }
    }
    assert_eq!(seen.len(), 8);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 8);
    let md = t
        .compute
        .server_metadata_set(
            &a,
            &ids[0],
            BTreeMap::from([("role".to_string(), "web".to_string())]),
            false,
        )
        .await
        .unwrap();
    assert_eq!(md["role"], "web");
    t.compute
        .server_metadata_delete(&a, &ids[0], "role")
        .await
        .unwrap();
    assert_eq!(
        t.compute
            .server_metadata_delete(&a, &ids[0], "role")
            .await
            .unwrap_err()
            .status(),
        404
    );
    let tags = t
        .compute
        .server_tags_set(&a, &ids[1], vec!["x".into(), "y".into()], true)
        .await
        .unwrap();
    assert_eq!(tags, vec!["x", "y"]);
    t.compute.server_tag_delete(&a, &ids[1], "x").await.unwrap();
    assert_eq!(t.compute.server_tags(&a, &ids[1]).await.unwrap(), vec!["y"]);
}

#[tokio::test]
async fn the_reconciler_sees_a_guest_stopped_behind_its_back() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let (id, _) = one_active(&t, &a).await;
    let uri = t.host("sim-1").await.uri;
    t.compute
        .hypervisor()
        .host(&uri)
        .destroy(&id)
        .await
        .unwrap();
    let report = t.compute.reconcile().await.unwrap();
    assert_eq!(report.changed.len(), 1, "{report:?}");
    let s = t.compute.server_get(&a, &id).await.unwrap();
    assert_eq!((s.status.as_str(), s.power_state), ("SHUTOFF", 4));
    // A domain the service does not know is reported, not touched.
    let spec = ferrostack_hypervisor::DomainSpec::new(
        "fs-stray",
        "6f1c2b8e-1111-4222-8333-944455556666",
        1,
        128,
        "test",
    );
    t.compute
        .hypervisor()
        .host(&uri)
        .define(spec.to_xml())
        .await
        .unwrap();
    let report = t.compute.reconcile().await.unwrap();
    assert_eq!(report.orphans, vec!["sim-1: fs-stray".to_string()]);
    // A domain gone altogether puts its server in ERROR, saying so.
    t.compute.hypervisor().host(&uri).remove(&id).await.unwrap();
    t.compute.reconcile().await.unwrap();
    let s = t.compute.server_get(&a, &id).await.unwrap();
    assert_eq!(s.status, "ERROR");
    assert!(s.fault.unwrap().message.contains("gone from host sim-1"));
}
