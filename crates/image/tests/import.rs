//! Interoperable import (stage + import, glance-direct) as a durable job, against a real
//! database, real files and the real qemu-img: plain import, conversion to the
//! operator's format, refusals that say why, and imports that survive a restart.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{bytes, ctx, files_under, new, qemu_img};
use ferrostack_core::{Ctx, Platform};
use ferrostack_image::{ImageConfig, Images, Patch, UploadBody};
use ferrostack_types::image::ImageTask;
use md5::Digest;
use serde_json::json;

fn config(root: &Path, convert_to: Option<&str>) -> ImageConfig {
    let mut c = ImageConfig::new(root.join("images"));
    c.convert_to = convert_to.map(str::to_string);
    c
}

/// A running image service (import worker started) on a fresh database and data
/// dir, converting imports to `convert_to`, with `tweak` applied to its config.
async fn service(
    convert_to: Option<&str>,
    tweak: impl FnOnce(&mut ImageConfig),
) -> (Arc<Images>, tempfile::TempDir) {
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), convert_to);
    tweak(&mut cfg);
    let images = Images::open(&platform, cfg).await.unwrap();
    images.start_jobs();
    (images, dir)
}

/// A raw disk whose bytes are not all zeros, so conversion has something to keep.
fn raw_disk(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| if i % 4096 < 512 { (i % 251) as u8 } else { 0 })
        .collect()
}

/// The import's task once it is no longer pending or processing.
async fn settled(images: &Images, c: &Ctx, id: &str) -> ImageTask {
    for _ in 0..600 {
        let tasks = images.image_tasks(c, id).await.unwrap();
        if let Some(t) = tasks.first() {
            if t.status == "success" || t.status == "failure" {
                return t.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import of {id} did not finish");
}

#[tokio::test]
async fn staged_data_is_imported_by_a_task_with_checksums() {
    let (images, dir) = service(None, |_| ()).await;
    let a = ctx("proj-a", "member");
    let img = images.image_create(&a, new("direct", "raw")).await.unwrap();

    // Importing before staging says what to do first.
    let e = images
        .image_import(&a, &img.id, "glance-direct")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409, "{e}");
    assert!(e.to_string().contains("staged first"), "{e}");

    let data = raw_disk(1 << 20);
    let staged = images
        .image_stage(&a, &img.id, bytes(data.clone()))
        .await
        .unwrap();
    assert_eq!(staged.status, "uploading");
    // Staged data is not downloadable, and cannot be staged twice.
    assert!(images.image_data(&a, &img.id).await.unwrap().1.is_none());
    let twice = images
        .image_stage(&a, &img.id, bytes(vec![1]))
        .await
        .unwrap_err();
    assert_eq!(twice.status(), 409, "{twice}");

    let e = images
        .image_import(&a, &img.id, "web-download")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("glance-direct"), "{e}");

    let task = images
        .image_import(&a, &img.id, "glance-direct")
        .await
        .unwrap();
    assert_eq!(task.method, "glance-direct");
    assert_eq!(task.request_id.as_deref(), Some("req-test-proj-a"));
    let done = settled(&images, &a, &img.id).await;
    assert_eq!(done.status, "success", "{}", done.message);
    assert_eq!(done.progress, 100);

    let active = images.image_get(&a, &img.id).await.unwrap();
    assert_eq!(active.status, "active");
    assert_eq!(active.disk_format.as_deref(), Some("raw"));
    assert_eq!(active.size, Some(data.len() as i64));
    assert_eq!(
        active.checksum.as_deref(),
        Some(hex::encode(md5::Md5::digest(&data)).as_str())
    );
    assert_eq!(
        active.properties.get("os_glance_import_task"),
        Some(&task.id)
    );
    let (_, path) = images.image_data(&a, &img.id).await.unwrap();
    assert_eq!(std::fs::read(path.unwrap()).unwrap(), data);
    // The staged copy is gone: only the image's data is left.
    assert_eq!(
        files_under(&dir.path().join("images")),
        vec![dir.path().join("images").join(&img.id)]
    );
    // Clients cannot forge the service's os_glance_* properties.
    let e = images
        .image_update(
            &a,
            &img.id,
            vec![Patch::Add("os_glance_import_task".into(), json!("x"))],
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403, "{e}");
    // Another project does not see the task.
    let e = images
        .task_get(&ctx("proj-b", "member"), &task.id)
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
}

#[tokio::test]
async fn imports_are_converted_to_the_operators_format() {
    let (images, dir) = service(Some("qcow2"), |_| ()).await;
    let a = ctx("proj-a", "member");
    let img = images
        .image_create(&a, new("to-qcow2", "raw"))
        .await
        .unwrap();
    let data = raw_disk(4 << 20);
    images
        .image_stage(&a, &img.id, bytes(data.clone()))
        .await
        .unwrap();
    images
        .image_import(&a, &img.id, "glance-direct")
        .await
        .unwrap();
    let done = settled(&images, &a, &img.id).await;
    assert_eq!(done.status, "success", "{}", done.message);
    assert!(
        done.message.contains("converted to qcow2"),
        "{}",
        done.message
    );

    let active = images.image_get(&a, &img.id).await.unwrap();
    assert_eq!(active.disk_format.as_deref(), Some("qcow2"));
    assert_eq!(active.virtual_size, Some(data.len() as i64));
    let (_, path) = images.image_data(&a, &img.id).await.unwrap();
    let stored = std::fs::read(path.as_ref().unwrap()).unwrap();
    assert_eq!(&stored[..4], b"QFI\xfb", "the stored data is qcow2");
    assert_eq!(active.size, Some(stored.len() as i64));
    assert_eq!(
        active.checksum.as_deref(),
        Some(hex::encode(md5::Md5::digest(&stored)).as_str()),
        "the checksum is of the converted data"
    );
    // And it holds the same disk: convert it back and compare.
    let back = dir.path().join("back.raw");
    let out = Command::new("qemu-img")
        .args(["convert", "-f", "qcow2", "-O", "raw"])
        .arg(path.unwrap())
        .arg(&back)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read(&back).unwrap(), data);
}

#[tokio::test]
async fn an_unsafe_staged_image_fails_its_import_with_the_reason() {
    let (images, dir) = service(Some("raw"), |_| ()).await;
    let a = ctx("proj-a", "member");
    let work = tempfile::tempdir().unwrap();
    qemu_img(&["create", "-f", "qcow2", "base.qcow2", "1M"], work.path());
    qemu_img(
        &[
            "create",
            "-f",
            "qcow2",
            "-b",
            "base.qcow2",
            "-F",
            "qcow2",
            "backed.qcow2",
        ],
        work.path(),
    );
    let img = images
        .image_create(&a, new("backed", "qcow2"))
        .await
        .unwrap();
    images
        .image_stage(
            &a,
            &img.id,
            bytes(std::fs::read(work.path().join("backed.qcow2")).unwrap()),
        )
        .await
        .unwrap();
    images
        .image_import(&a, &img.id, "glance-direct")
        .await
        .unwrap();
    let done = settled(&images, &a, &img.id).await;
    assert_eq!(done.status, "failure");
    assert!(done.message.contains("backing file"), "{}", done.message);
    let after = images.image_get(&a, &img.id).await.unwrap();
    assert_eq!(after.status, "queued", "stage again after a failed import");
    assert_eq!(after.size, None);
    assert!(
        files_under(&dir.path().join("images")).is_empty(),
        "refused bytes are removed"
    );
}

#[tokio::test]
async fn an_import_survives_a_restart() {
    let platform = Platform::for_tests().await.unwrap();
    let db = platform.db.clone();
    let dir = tempfile::tempdir().unwrap();
    let a = ctx("proj-a", "member");
    let data = raw_disk(2 << 20);
    let (queued, interrupted) = {
        // The first process accepts two imports and stops before its worker runs them
        // (no start_jobs): one still pending, one that a crash caught mid-conversion.
        let images = Images::open(&platform, config(dir.path(), Some("qcow2")))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for name in ["pending", "processing"] {
            let img = images.image_create(&a, new(name, "raw")).await.unwrap();
            images
                .image_stage(&a, &img.id, bytes(data.clone()))
                .await
                .unwrap();
            images
                .image_import(&a, &img.id, "glance-direct")
                .await
                .unwrap();
            ids.push(img.id);
        }
        // Its worker died: the lease it held ran out.
        sqlx::query("UPDATE jobs SET state = 'running', step = 'convert', progress = 40, attempts = 1, \
                     lease_owner = 'elsewhere/1/dead', lease_expires_at = '2000-01-01T00:00:00.000000Z' WHERE subject = $1")
            .bind(&ids[1])
            .execute(&db.pool)
            .await
            .unwrap();
        std::fs::write(
            dir.path()
                .join("images/staging")
                .join(format!("{}.convert.part", ids[1])),
            b"half a conversion",
        )
        .unwrap();
        // And the first was caught just after its data was linked into place, before
        // the row said active.
        std::fs::hard_link(
            dir.path().join("images/staged").join(&ids[0]),
            dir.path().join("images").join(&ids[0]),
        )
        .unwrap();
        (ids[0].clone(), ids[1].clone())
    };
    let platform = Platform::open(db.clone(), Default::default())
        .await
        .unwrap();
    let images: Arc<Images> = Images::open(&platform, config(dir.path(), Some("qcow2")))
        .await
        .unwrap();
    images.start_jobs();
    for id in [&queued, &interrupted] {
        let done = settled(&images, &a, id).await;
        assert_eq!(done.status, "success", "{id}: {}", done.message);
        let img = images.image_get(&a, id).await.unwrap();
        assert_eq!(img.status, "active");
        assert_eq!(img.disk_format.as_deref(), Some("qcow2"));
    }
    assert_eq!(
        files_under(&dir.path().join("images")),
        {
            let mut v = vec![
                dir.path().join("images").join(&queued),
                dir.path().join("images").join(&interrupted),
            ];
            v.sort();
            v
        },
        "no staged copies or half conversions are left"
    );
}

#[tokio::test]
async fn a_cut_stage_leaves_the_image_queued_and_no_bytes() {
    let (images, dir) = service(None, |_| ()).await;
    let a = ctx("proj-a", "member");
    let img = images.image_create(&a, new("cut", "raw")).await.unwrap();
    let body: UploadBody = Box::pin(futures_util::stream::iter(vec![
        Ok(Bytes::from(vec![1u8; 70_000])),
        Err("connection reset by peer".to_string()),
    ]));
    let e = images.image_stage(&a, &img.id, body).await.unwrap_err();
    assert!(e.to_string().contains("cut short"), "{e}");
    assert_eq!(
        images.image_get(&a, &img.id).await.unwrap().status,
        "queued"
    );
    assert!(files_under(&dir.path().join("images")).is_empty());
    // Another project cannot stage data into it.
    let e = images
        .image_stage(&ctx("proj-b", "member"), &img.id, bytes(vec![1]))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
}

#[tokio::test]
async fn staged_data_counts_against_the_storage_quota() {
    let (images, _dir) = service(None, |c| c.quota_bytes = 1_000_000).await;
    let a = ctx("proj-a", "member");
    let first = images.image_create(&a, new("first", "raw")).await.unwrap();
    let staged = images
        .image_stage(&a, &first.id, bytes(vec![1u8; 600_000]))
        .await
        .unwrap();
    assert_eq!(staged.size, Some(600_000), "staged bytes are counted");
    let second = images.image_create(&a, new("second", "raw")).await.unwrap();
    let e = images
        .image_stage(&a, &second.id, bytes(vec![2u8; 600_000]))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 413, "{e}");
    // Importing the first replaces its staged bytes with the stored ones: still fits.
    images
        .image_import(&a, &first.id, "glance-direct")
        .await
        .unwrap();
    let done = settled(&images, &a, &first.id).await;
    assert_eq!(done.status, "success", "{}", done.message);
    assert_eq!(
        images.project_usage(&a).await.unwrap().bytes,
        600_000,
        "counted once"
    );
}

/// An upload tells watchers how far it is — one event per 64 MiB received (the total is
/// not known in advance) — before it turns active; the console's pages follow these.
#[tokio::test]
async fn an_upload_publishes_its_progress_as_it_arrives() {
    let t = common::setup().await;
    let a = ctx("p1", "member");
    let img = t.images.image_create(&a, new("big", "raw")).await.unwrap();
    let chunk = Bytes::from(vec![0u8; 1 << 20]);
    let stream = futures_util::stream::iter((0..130).map(move |_| Ok(chunk.clone())));
    t.images
        .image_upload(&a, &img.id, Box::pin(stream))
        .await
        .expect("upload");
    let evs = t.images.image_events(&a, &img.id).await.unwrap();
    let progress: Vec<(&str, &str)> = evs
        .iter()
        .filter(|e| e.action == "uploading")
        .map(|e| (e.status.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        progress,
        [
            ("saving", "64 MiB received"),
            ("saving", "128 MiB received")
        ]
    );
    let last = evs.last().expect("events");
    assert_eq!(
        (last.action.as_str(), last.status.as_str()),
        ("active", "active")
    );
}

/// An import whose workers kept dying is given up — and its image is freed with it:
/// back to `queued`, its staged data removed and its bytes given back, not stranded
/// `importing`.
#[tokio::test]
async fn an_import_given_up_frees_its_image() {
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = ctx("proj-a", "member");
    let images = Images::open(&platform, config(dir.path(), None))
        .await
        .unwrap();
    let img = images.image_create(&a, new("doomed", "raw")).await.unwrap();
    images
        .image_stage(&a, &img.id, bytes(raw_disk(1 << 20)))
        .await
        .unwrap();
    images
        .image_import(&a, &img.id, "glance-direct")
        .await
        .unwrap();
    assert_eq!(images.project_usage(&a).await.unwrap().bytes, 1 << 20);
    // Its last allowed worker died mid-way.
    sqlx::query("UPDATE jobs SET state = 'running', attempts = max_attempts, \
                 lease_owner = 'elsewhere/1/dead', lease_expires_at = '2000-01-01T00:00:00.000000Z' WHERE subject = $1")
        .bind(&img.id)
        .execute(&platform.db.pool)
        .await
        .unwrap();
    images.start_jobs();
    let task = settled(&images, &a, &img.id).await;
    assert_eq!(task.status, "failure");
    assert!(task.message.contains("Given up"), "{}", task.message);
    let mut status = String::new();
    for _ in 0..100 {
        status = images.image_get(&a, &img.id).await.unwrap().status;
        if status == "queued" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "queued");
    assert_eq!(images.project_usage(&a).await.unwrap().bytes, 0);
    assert!(
        files_under(&dir.path().join("images")).is_empty(),
        "the staged data is removed"
    );
}

/// Two processes share the database and the data directory (the scale-out shape): one
/// starting up cuts only the uploads of processes that are gone, not the other's
/// upload in flight, which then finishes.
#[tokio::test]
async fn a_process_starting_leaves_another_ones_upload_in_flight_alone() {
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = ctx("proj-a", "member");
    let first = Images::open(&platform, config(dir.path(), None))
        .await
        .unwrap();
    // An upload in flight in the first process: half of it sent, the rest to come.
    let img = first
        .image_create(&a, new("arriving", "raw"))
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, String>>(4);
    let body: UploadBody = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|c| (c, rx))
    }));
    let uploading = {
        let (first, a, id) = (first.clone(), a.clone(), img.id.clone());
        tokio::spawn(async move { first.image_upload(&a, &id, body).await })
    };
    tx.send(Ok(Bytes::from(vec![3u8; 1 << 20]))).await.unwrap();
    for _ in 0..100 {
        if !files_under(&dir.path().join("images/staging")).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And one whose process is gone (this host, a process id that does not run).
    let dead = first.image_create(&a, new("orphan", "raw")).await.unwrap();
    let gone = format!("{}/999999999/dead", ferrostack_core::process::host_name());
    sqlx::query("UPDATE images SET status = 'saving', receiver = $2 WHERE id = $1")
        .bind(&dead.id)
        .bind(&gone)
        .execute(&platform.db.pool)
        .await
        .unwrap();

    // A second process starts on the same database and directory.
    let second_platform = Platform::open(platform.db.clone(), Default::default())
        .await
        .unwrap();
    let second = Images::open(&second_platform, config(dir.path(), None))
        .await
        .unwrap();
    assert_eq!(
        second.image_get(&a, &dead.id).await.unwrap().status,
        "killed",
        "the gone process's upload is cut"
    );
    assert_eq!(
        second.image_get(&a, &img.id).await.unwrap().status,
        "saving",
        "the live one is left alone"
    );
    assert_eq!(files_under(&dir.path().join("images/staging")).len(), 1);

    tx.send(Ok(Bytes::from(vec![3u8; 1 << 20]))).await.unwrap();
    drop(tx);
    let done = uploading.await.unwrap().expect("the upload finishes");
    assert_eq!(done.status, "active");
    assert_eq!(done.size, Some(2 << 20));
}
