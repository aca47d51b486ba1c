//! A process killed -9 mid-boot or mid-delete: its job's row says what it was doing
//! (claimed by a process that is gone, its lease run out, a step recorded), and the
//! next worker resumes it — the server ends ACTIVE, or deleted with nothing left — or,
//! once a job kept dying, gives it up and fails the server with the reason. Never a
//! server stuck in BUILD.

mod common;

use common::{admin, ctx, settle};
use ferrostack_compute::Compute;
use ferrostack_core::time;

/// What a worker killed -9 leaves: the job running, claimed by a process that no
/// longer exists, with an expired lease, after `step`.
async fn killed_mid_job(t: &common::T, subject: &str, kind: &str, step: &str, attempts: i64) {
    let dead = "no-such-host/999999/0/dead";
    let n = sqlx::query(
        "UPDATE jobs SET state = 'running', lease_owner = $3, lease_expires_at = $4, attempts = $5, step = $6 \
         WHERE subject = $1 AND kind = $2",
    )
    .bind(subject)
    .bind(kind)
    .bind(dead)
    .bind(time::to_db(&(time::now() - chrono::Duration::seconds(5))))
    .bind(attempts)
    .bind(step)
    .execute(&t.platform.db.pool)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(n, 1, "the {kind} job of {subject}");
}

/// The service as a fresh process opens it over the same database: its workers start.
async fn restarted(t: &common::T) -> std::sync::Arc<Compute> {
    let c = Compute::open(&t.platform, t.images.clone(), t.compute.config().clone())
        .await
        .unwrap();
    c.start_jobs();
    c
}

async fn no_workers() -> common::T {
    // A compute service whose job workers never start: its jobs stay as a dead
    // process would leave them.
    common::setup_without_jobs(|_| {}).await
}

#[tokio::test]
async fn a_boot_killed_mid_way_resumes_to_active() {
    let t = no_workers().await;
    t.sim_host("sim-1", 8, 16384, "nova").await;
    let f = t.flavor("m.1g", 1, 1024, 1).await;
    let a = ctx("proj-a", "member");
    let s = t
        .compute
        .server_create(&a, t.new_server("vm", &f))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(s.status, "BUILD");
    killed_mid_job(&t, &s.id, "compute.boot", "define", 1).await;
    let c = restarted(&t).await;
    let done = settle(&c, &a, &s.id, &["BUILD"]).await;
    assert_eq!(done.status, "ACTIVE", "{:?}", done.fault);
    let uri = t.host("sim-1").await.uri;
    assert_eq!(c.hypervisor().host(&uri).domains().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_boot_that_keeps_dying_is_given_up_and_the_server_says_why() {
    let t = no_workers().await;
    t.sim_host("sim-1", 8, 16384, "nova").await;
    let f = t.flavor("m.1g", 1, 1024, 1).await;
    let a = ctx("proj-a", "member");
    let s = t
        .compute
        .server_create(&a, t.new_server("vm", &f))
        .await
        .unwrap()
        .remove(0);
    // Its fifth claim died too.
    killed_mid_job(&t, &s.id, "compute.boot", "start", 5).await;
    let c = restarted(&t).await;
    let done = settle(&c, &a, &s.id, &["BUILD"]).await;
    assert_eq!(done.status, "ERROR");
    assert!(done.fault.unwrap().message.contains("given up"));
    // The failed build holds no host capacity.
    assert_eq!(t.host("sim-1").await.running_vms, 0);
    // And it can be deleted.
    c.server_delete(&a, &s.id).await.unwrap();
    common::gone(&c, &a, &s.id).await;
    assert_eq!(c.quota_usage(&a, "proj-a").await.unwrap()["instances"], 0);
}

#[tokio::test]
async fn a_delete_killed_half_way_finishes_and_leaves_nothing() {
    let t = no_workers().await;
    t.sim_host("sim-1", 8, 16384, "nova").await;
    let f = t.flavor("m.1g", 1, 1024, 1).await;
    let a = ctx("proj-a", "member");
    let s = t
        .compute
        .server_create(&a, t.new_server("vm", &f))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(t.host("sim-1").await.running_vms, 1);
    // Deleted while building; the process dies in the delete's "domain" step.
    t.compute.server_delete(&a, &s.id).await.unwrap();
    killed_mid_job(&t, &s.id, "compute.delete", "domain", 1).await;
    let c = restarted(&t).await;
    common::gone(&c, &a, &s.id).await;
    let h = t.host("sim-1").await;
    assert_eq!((h.running_vms, h.memory_mb_used, h.vcpus_used), (0, 0, 0));
    assert!(c
        .hypervisor()
        .host(&h.uri)
        .domains()
        .await
        .unwrap()
        .is_empty());
    let used = c.quota_usage(&a, "proj-a").await.unwrap();
    assert_eq!((used["instances"], used["cores"], used["ram"]), (0, 0, 0));
    // The log keeps the delete, finished.
    let actions = c.instance_actions(&admin(), &s.id).await.unwrap();
    assert_eq!(actions[0].action, "delete");
}

#[tokio::test]
async fn a_delete_that_keeps_dying_leaves_the_server_in_error_and_it_can_be_deleted_again() {
    let t = no_workers().await;
    t.sim_host("sim-1", 8, 16384, "nova").await;
    let f = t.flavor("m.1g", 1, 1024, 1).await;
    let a = ctx("proj-a", "member");
    let s = t
        .compute
        .server_create(&a, t.new_server("vm", &f))
        .await
        .unwrap()
        .remove(0);
    t.compute.server_delete(&a, &s.id).await.unwrap();
    // Its fifth claim died too: the delete is given up.
    killed_mid_job(&t, &s.id, "compute.delete", "domain", 5).await;
    let c = restarted(&t).await;
    let failed = settle(&c, &a, &s.id, &["BUILD", "ACTIVE"]).await;
    assert_eq!(failed.status, "ERROR", "{failed:?}");
    assert!(failed
        .fault
        .unwrap()
        .message
        .contains("Delete the server again"));
    // Deleting again queues a new delete, which finishes.
    c.server_delete(&a, &s.id).await.unwrap();
    common::gone(&c, &a, &s.id).await;
    assert_eq!(t.host("sim-1").await.running_vms, 0);
    assert_eq!(c.quota_usage(&a, "proj-a").await.unwrap()["instances"], 0);
}

/// A server ACTIVE on sim-1 as far as the database knows (no worker built it), and a
/// resize of it to a bigger flavor queued, which only sim-2 has room for.
async fn resize_queued(t: &common::T, a: &ferrostack_core::Ctx) -> String {
    t.sim_host("sim-1", 2, 2048, "nova").await;
    let small = t.flavor("small", 1, 1024, 1).await;
    let big = t.flavor("big", 2, 4096, 1).await;
    let s = t
        .compute
        .server_create(a, t.new_server("vm", &small))
        .await
        .unwrap()
        .remove(0);
    sqlx::query(
        "UPDATE servers SET vm_state = 'active', task_state = NULL, power_state = 1 WHERE id = $1",
    )
    .bind(&s.id)
    .execute(&t.platform.db.pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM jobs WHERE subject = $1")
        .bind(&s.id)
        .execute(&t.platform.db.pool)
        .await
        .unwrap();
    t.sim_host("sim-2", 8, 16384, "nova").await;
    t.compute.server_resize(a, &s.id, &big).await.unwrap();
    s.id
}

#[tokio::test]
async fn a_resize_killed_mid_way_resumes_with_exact_claims() {
    let t = no_workers().await;
    let a = ctx("proj-a", "member");
    let id = resize_queued(&t, &a).await;
    killed_mid_job(&t, &id, "compute.action", "place", 1).await;
    let c = restarted(&t).await;
    let s = settle(&c, &a, &id, &["RESIZE"]).await;
    assert_eq!(
        (s.status.as_str(), s.host_name.as_deref()),
        ("VERIFY_RESIZE", Some("sim-2")),
        "{:?}",
        s.fault
    );
    assert_eq!(t.host("sim-1").await.memory_mb_used, 1024);
    assert_eq!(t.host("sim-2").await.memory_mb_used, 4096);
    c.server_confirm_resize(&a, &id).await.unwrap();
    assert_eq!(t.host("sim-1").await.memory_mb_used, 0);
    assert_eq!(c.quota_usage(&a, "proj-a").await.unwrap()["ram"], 4096);
}

#[tokio::test]
async fn a_resize_that_keeps_dying_gives_back_what_it_claimed() {
    let t = no_workers().await;
    let a = ctx("proj-a", "member");
    let id = resize_queued(&t, &a).await;
    assert_eq!(
        t.compute.quota_usage(&a, "proj-a").await.unwrap()["ram"],
        4096
    );
    killed_mid_job(&t, &id, "compute.action", "place", 5).await;
    let c = restarted(&t).await;
    let s = settle(&c, &a, &id, &["RESIZE"]).await;
    assert_eq!(s.status, "ERROR");
    assert!(s.fault.unwrap().message.contains("given up"));
    // The destination's claim and the bigger flavor's quota are given back.
    assert_eq!(t.host("sim-2").await.memory_mb_used, 0);
    assert_eq!(t.host("sim-1").await.memory_mb_used, 1024);
    assert_eq!(c.quota_usage(&a, "proj-a").await.unwrap()["ram"], 1024);
    c.server_delete(&a, &id).await.unwrap();
    common::gone(&c, &a, &id).await;
    assert_eq!(t.host("sim-1").await.memory_mb_used, 0);
    assert_eq!(c.quota_usage(&a, "proj-a").await.unwrap()["ram"], 0);
}
