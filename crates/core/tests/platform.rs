//! The platform against a real database (SQLite, and PostgreSQL when the test command
//! provides one): jobs claimed under leases, taken over when a worker dies, never run
//! twice by two runners; events in order, per audience, resumable; quotas that hold
//! under parallel claims.

use std::time::Duration;

use ferrostack_core::events::NewEvent;
use ferrostack_core::jobs::{Job, JobFailure, JobsConfig, NewJob};
use ferrostack_core::{quotas, Ctx, Db, Error, Platform};
use serde_json::json;

fn quick() -> JobsConfig {
    JobsConfig {
        lease: Duration::from_secs(2),
        poll: Duration::from_millis(100),
    }
}

/// A second handle on the same database, as another process would have.
async fn other_process(db: &Db) -> Platform {
    let db2 = Db::connect(db.url()).await.unwrap();
    Platform::open(db2, quick()).await.unwrap()
}

async fn queue(p: &Platform, kind: &str, subject: &str) -> String {
    let ctx = Ctx::for_test("proj-a", "member");
    let mut tx = p.db.pool.begin().await.unwrap();
    let id = p
        .jobs
        .enqueue(
            &mut tx,
            &ctx,
            NewJob {
                kind: kind.into(),
                subject_kind: "thing".into(),
                subject: subject.into(),
                project_id: Some("proj-a".into()),
                payload: json!({}),
                message: "queued".into(),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    p.jobs.wake(kind);
    id
}

async fn settle(p: &Platform, id: &str) -> Job {
    for _ in 0..600 {
        let j = p.jobs.get(id).await.unwrap();
        if j.state == "succeeded" || j.state == "failed" {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_whose_worker_dies_is_taken_over_from_its_last_step() {
    let p = Platform::for_tests().await.unwrap();
    let url = p.db.url().to_string();
    let id = queue(&p, "test.steps", "s1").await;
    // Process A (its own runtime and connections) finishes step one, then hangs in
    // step two until it dies: its runtime is dropped, so nothing it runs survives —
    // no more lease renewals, no finish.
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
    let a = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let db = Db::connect(&url).await.unwrap();
            let pa = Platform::open(db, quick()).await.unwrap();
            pa.jobs.register("test.steps", "thing", 1, move |mut run| {
                let started = started_tx.clone();
                async move {
                    run.checkpoint("one", json!({"one_by": "a"})).await?;
                    let _ = started.send(());
                    std::future::pending::<()>().await;
                    Ok("never".into())
                }
            });
            let _ = kill_rx.await;
        });
        drop(rt);
    });
    tokio::task::spawn_blocking(move || started_rx.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("A started the job");
    let held = p.jobs.get(&id).await.unwrap();
    assert_eq!(
        (held.state.as_str(), held.step.as_str()),
        ("running", "one")
    );
    let _ = kill_tx.send(());
    tokio::task::spawn_blocking(move || a.join())
        .await
        .unwrap()
        .unwrap();

    // B: skips the step A finished, does the rest.
    let pb = other_process(&p.db).await;
    pb.jobs
        .register("test.steps", "thing", 1, |mut run| async move {
            if run.job.step != "one" {
                run.checkpoint("one", json!({"one_by": "b"})).await?;
            }
            run.checkpoint("two", json!({"two_by": "b"})).await?;
            Ok("done".into())
        });
    let j = settle(&p, &id).await;
    assert_eq!(j.state, "succeeded", "{}", j.message);
    let payload = j.payload_value();
    assert_eq!(payload["one_by"], "a", "step one ran once, in A");
    assert_eq!(payload["two_by"], "b");
    assert_eq!(j.attempts, 2, "claimed by A, then taken over by B");
    assert_ne!(
        j.lease_owner.as_deref(),
        Some(pb.jobs.owner()),
        "a finished job holds no lease"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runners_on_one_database_never_run_a_job_twice() {
    let p = Platform::for_tests().await.unwrap();
    let q = other_process(&p.db).await;
    let mut ids = Vec::new();
    for i in 0..24 {
        ids.push(queue(&p, "test.count", &format!("c{i}")).await);
    }
    for (name, runner) in [("p", &p), ("q", &q)] {
        runner
            .jobs
            .register("test.count", "thing", 2, move |mut run| async move {
                // A counter in the job: a second run of it would make it 2.
                let runs = run.job.payload_value()["runs"].as_i64().unwrap_or(0) + 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                run.checkpoint("counted", json!({"runs": runs, "by": name}))
                    .await?;
                Ok(format!("counted by {name}"))
            });
    }
    let mut by = std::collections::BTreeMap::new();
    for id in &ids {
        let j = settle(&p, id).await;
        assert_eq!(j.state, "succeeded");
        assert_eq!(j.payload_value()["runs"], 1, "job {id} ran more than once");
        assert_eq!(j.attempts, 1);
        *by.entry(j.payload_value()["by"].as_str().unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(by.values().sum::<i32>(), 24);
}

#[tokio::test]
async fn a_failed_job_keeps_the_users_reason_and_the_operators_cause() {
    let p = Platform::for_tests().await.unwrap();
    let id = queue(&p, "test.fail", "f1").await;
    p.jobs.register("test.fail", "thing", 1, |_run| async move {
        Err(JobFailure::because(
            "The disk image could not be read; upload it again.",
            "qemu-img: Could not open '/var/lib/x': Permission denied",
        ))
    });
    let j = settle(&p, &id).await;
    assert_eq!(j.state, "failed");
    assert_eq!(
        j.message,
        "The disk image could not be read; upload it again."
    );
    assert_eq!(
        j.last_error.as_deref(),
        Some("qemu-img: Could not open '/var/lib/x': Permission denied")
    );
    // Its subject's timeline says so, under the request that queued it.
    let evs = p.events.for_resource("thing", "f1", 10).await.unwrap();
    let actions: Vec<&str> = evs.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["job.queued", "job.failed"]);
    assert_eq!(evs[1].request_id.as_deref(), Some("req-test-proj-a"));
}

#[tokio::test]
async fn a_job_that_keeps_dying_is_given_up() {
    let p = Platform::for_tests().await.unwrap();
    let id = queue(&p, "test.poison", "x").await;
    sqlx::query("UPDATE jobs SET state = 'running', attempts = 5, lease_owner = 'h/1/dead', lease_expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = $1")
        .bind(&id)
        .execute(&p.db.pool)
        .await
        .unwrap();
    p.jobs.register(
        "test.poison",
        "thing",
        1,
        |_run| async move { Ok("ran".into()) },
    );
    let j = settle(&p, &id).await;
    assert_eq!(j.state, "failed");
    assert!(
        j.message.contains("Given up after 5 attempts"),
        "{}",
        j.message
    );
}

async fn next(s: &mut ferrostack_core::events::Subscription) -> ferrostack_types::events::Event {
    tokio::time::timeout(Duration::from_secs(10), s.next())
        .await
        .expect("an event within 10 s")
        .unwrap()
}

fn ev(ctx: &Ctx, project: &str, id: &str) -> NewEvent {
    NewEvent::new(ctx, Some(project), "thing", id, "updated").status("ok")
}

#[tokio::test]
async fn events_reach_only_their_audience_in_order_and_resume_after_a_drop() {
    let p = Platform::for_tests().await.unwrap();
    let a = Ctx::for_test("proj-a", "member");
    let b = Ctx::for_test("proj-b", "reader");
    let admin = Ctx::for_test("admin-proj", "admin");
    assert!(matches!(
        p.events.subscribe(&a, None, true),
        Err(Error::Forbidden(_))
    ));
    let mut sa = p.events.subscribe(&a, None, false).unwrap();
    let mut sb = p.events.subscribe(&b, None, false).unwrap();
    let mut sall = p.events.subscribe(&admin, None, true).unwrap();
    p.events.publish(ev(&a, "proj-a", "a1")).await.unwrap();
    p.events.publish(ev(&b, "proj-b", "b1")).await.unwrap();
    p.events
        .publish(ev(&admin, "admin-proj", "pub1").public(true))
        .await
        .unwrap();
    p.events.publish(ev(&a, "proj-a", "a2")).await.unwrap();
    let got: Vec<String> = vec![
        next(&mut sa).await.resource_id,
        next(&mut sa).await.resource_id,
        next(&mut sa).await.resource_id,
    ];
    assert_eq!(
        got,
        ["a1", "pub1", "a2"],
        "a member sees its project's and public events, in order"
    );
    assert_eq!(next(&mut sb).await.resource_id, "b1");
    assert_eq!(next(&mut sb).await.resource_id, "pub1");
    let all: Vec<String> = vec![
        next(&mut sall).await.resource_id,
        next(&mut sall).await.resource_id,
        next(&mut sall).await.resource_id,
        next(&mut sall).await.resource_id,
    ];
    assert_eq!(all, ["a1", "b1", "pub1", "a2"]);
    let a1_seq = p.events.for_resource("thing", "a1", 5).await.unwrap()[0].seq;
    // The connection drops after a1; two events happen; it comes back with a1's number.
    drop(sa);
    p.events.publish(ev(&a, "proj-a", "a3")).await.unwrap();
    let mut again = p.events.subscribe(&a, Some(a1_seq), false).unwrap();
    let got: Vec<String> = vec![
        next(&mut again).await.resource_id,
        next(&mut again).await.resource_id,
        next(&mut again).await.resource_id,
    ];
    assert_eq!(got, ["pub1", "a2", "a3"], "nothing missed, nothing twice");
    p.events.publish(ev(&a, "proj-a", "a4")).await.unwrap();
    assert_eq!(next(&mut again).await.resource_id, "a4", "then live");
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_claims_never_pass_a_quota() {
    let p = Platform::for_tests().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let db = p.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = db.pool.begin().await?;
            quotas::claim(&mut tx, "proj-a", "things", 1, 10).await?;
            tx.commit().await?;
            Ok::<_, Error>(())
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(Error::QuotaExceeded { used, limit, .. }) => assert_eq!((used, limit), (10, 10)),
            Err(e) => panic!("unexpected: {}", e.detail()),
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(
        quotas::in_use(&p.db.pool, "proj-a", "things")
            .await
            .unwrap(),
        10
    );
}

#[tokio::test]
async fn pruning_keeps_event_numbers_going_forward() {
    let p = Platform::for_tests().await.unwrap();
    let a = Ctx::for_test("proj-a", "member");
    for id in ["p1", "p2", "p3"] {
        p.events.publish(ev(&a, "proj-a", id)).await.unwrap();
    }
    let last = p.events.for_resource("thing", "p3", 1).await.unwrap()[0].seq;
    // Everything is old enough to go, but the newest stays: numbers never restart.
    assert_eq!(p.events.prune(Duration::ZERO).await.unwrap(), 2);
    p.events.publish(ev(&a, "proj-a", "p4")).await.unwrap();
    let next = p.events.for_resource("thing", "p4", 1).await.unwrap()[0].seq;
    assert_eq!(next, last + 1);
}

/// Each crate's migrations live in the crate (a schema change rebuilds that service
/// only) and share one history: a service's migrator applies its own versions, and
/// core's, run again at every start, passes over them.
#[tokio::test]
async fn each_crates_migrations_share_one_history() {
    let db = Db::for_tests().await.expect("db");
    let dir =
        std::env::temp_dir().join(format!("fs-migrations-{}", ferrostack_core::ids::new_id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("20001_example_service.sql"),
        "CREATE TABLE example_service (id TEXT PRIMARY KEY);",
    )
    .expect("migration");
    let service = sqlx::migrate::Migrator::new(dir.as_path())
        .await
        .expect("migrator");
    db.apply(&service).await.expect("the service's migrations");
    db.migrate()
        .await
        .expect("core again, past the service's version");
    db.apply(&service)
        .await
        .expect("the service's again: nothing to do");
    let applied = db.applied_migrations().await.expect("history");
    assert!(
        applied.contains(&7) && applied.contains(&20001),
        "{applied:?}"
    );
    sqlx::query("INSERT INTO example_service (id) VALUES ('x')")
        .execute(&db.pool)
        .await
        .expect("the service's table is there");
    let _ = std::fs::remove_dir_all(&dir);
}
